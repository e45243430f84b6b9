import Foundation
import Recurrent
import SwiftProtobuf

/// Writes a built `Sequential` model as a standard ONNX model (IR version 8, default-domain
/// opset 17) that onnxruntime and other ONNX tools run without custom operators.
///
///     let model = try Sequential<Float>.load(from: "model.safetensors")
///     try ONNXExporter().write(model, to: URL(fileURLWithPath: "model.onnx"))
///
/// The graph has one input, `input`: float32 [batch, steps, features] (or int64 token ids
/// [batch, steps] when the model starts with an Embedding), with symbolic `batch` and `steps`,
/// and one output, `output`: float32, the model's inference output (dropout is the identity).
/// With `lengthsInput` a second input, `lengths` (int64 [batch]), gives each row's real length.
///
/// Mapping (docs/onnx-export.md has the details):
/// - `rnn` / `rnn_relu` / `lstm` / `gru` -> ONNX `RNN` (Tanh / Relu), `LSTM`, `GRU`
///   (`linear_before_reset = 1`), wrapped in Transposes (onnxruntime runs only `layout = 0`,
///   time-major). Gates are reordered to ONNX's: LSTM i|f|g|o -> i|o|f|c, GRU r|z|n -> z|r|h;
///   `B` is `bias_ih ‖ bias_hh`. `goBackwards` -> `direction = "reverse"` (the output re-reversed
///   into processing order, as Keras returns it); `Bidirectional` -> `"bidirectional"`, merged by
///   Concat-as-Reshape, ReduceSum, ReduceProd or ReduceMean. Without `returnSequences` the output
///   is `Y_h`. A trainable initial state becomes `initial_h` / `initial_c`.
/// - `dense` -> `Gemm` (2-D input) or `MatMul` + `Add`, then the activation (`Softmax` on the
///   last axis); `embedding` -> `Gather`; `conv1d` -> `Conv` between Transposes (`causal`: `Pad`
///   on the left first; `same`: `auto_pad = SAME_UPPER`); `max_pooling1d` -> `MaxPool`;
///   `global_average_pooling1d` / `global_max_pooling1d` -> `ReduceMean` / `ReduceMax`;
///   `layer_normalization` -> `LayerNormalization`; `flatten` -> `Flatten`; `repeat_vector` ->
///   `Unsqueeze` + `Expand`; `dropout` -> nothing; `time_distributed` of a layer that acts on
///   the last axis (dense, layer_normalization, dropout) -> that layer.
///
/// Not exported (an `invalidArgument` error names the layer): `Embedding(maskIndex:)` (ONNX's
/// recurrent operators only skip trailing padding, while a mask index may sit anywhere; use
/// `lengthsInput` for right-padded batches instead), time_distributed of other
/// layers, and layers that are not built in. A `stateful` layer exports with a zero initial
/// state (its carried state is run-time state, not part of the model).
public struct ONNXExporter {
  /// The default-domain opset the graph uses (17: the first with LayerNormalization).
  public static let opsetVersion: Int64 = 17
  /// The ONNX IR version written (8 goes with opset 17).
  public static let irVersion: Int64 = 8

  /// `ModelProto.producer_name` / `producer_version`.
  public var producerName = "Recurrent"
  public var producerVersion = "0.1.0"
  /// `ModelProto.doc_string` (empty: none).
  public var docString = ""
  /// Adds a second graph input, `lengths`: int64 [batch], each row's real number of steps
  /// (1...steps) for right-padded batches, as `predict(_:lengths:)` and `rnn forward --lengths`
  /// take it. Recurrent layers get it as `sequence_lens` (padded steps output zeros, the final
  /// state is the last real step's) and global pooling reduces over the real steps only, until a
  /// layer clears the mask as ours do (a recurrent layer without `returnSequences`, Conv1D,
  /// pooling, Flatten, RepeatVector).
  public var lengthsInput = false

  public init() {}

  /// The ONNX model of `model`, which must be built. Throws `invalidArgument` naming the layer
  /// if a layer cannot be exported.
  public func export<S: TensorScalar>(_ model: Sequential<S>) throws -> Onnx_ModelProto {
    let architecture = try ModelArchitecture(of: model)
    var b = ONNXGraphBuilder()
    let tokenInput = architecture.layers.first?.kind == "embedding"
    let inputShape = architecture.inputShape

    var graph = Onnx_GraphProto()
    graph.name = "recurrent_sequential"
    let inputName = "input"
    b.reserve(inputName)
    var inputDims: [ONNXDimension] = [.named("batch")]
    for (k, d) in inputShape.enumerated() { inputDims.append(k == 0 && inputShape.count >= 2 || tokenInput ? .named("steps") : .fixed(d)) }
    graph.input = [.tensor(inputName, tokenInput ? .int64 : .float, dims: inputDims)]
    if lengthsInput {
      b.reserve("lengths")
      graph.input.append(.tensor("lengths", .int64, dims: [.named("batch")]))
    }

    var context = ONNXLayerContext(store: model.store, lengths: lengthsInput ? "lengths" : nil)
    var x = inputName
    var shape = inputShape
    for (i, spec) in architecture.layers.enumerated() {
      let scope = "layers.\(i)"
      (x, shape) = try context.emit(spec, input: x, shape: shape, scope: scope, label: "\(scope) (\(spec.kind))", into: &b)
    }
    // The output gets its own name through an Identity, so the graph's interface is stable.
    b.reserve("output")
    x = b.op("Identity", [x], scope: "output", name: "output")
    var outputDims: [ONNXDimension] = [.named("batch")]
    for (k, d) in shape.enumerated() {
      outputDims.append(k == 0 && shape.count >= 2 ? (context.timeAxisIsInputSteps ? .named("steps") : .named("output_steps")) : .fixed(d))
    }
    graph.output = [.tensor("output", .float, dims: outputDims)]
    graph.node = b.nodes
    graph.initializer = b.initializers

    var proto = Onnx_ModelProto()
    proto.irVersion = Self.irVersion
    proto.producerName = producerName
    proto.producerVersion = producerVersion
    if !docString.isEmpty { proto.docString = docString }
    var opset = Onnx_OperatorSetIdProto()
    opset.domain = ""
    opset.version = Self.opsetVersion
    proto.opsetImport = [opset]
    proto.graph = graph
    return proto
  }

  /// The serialized ONNX model (deterministic: the same model gives the same bytes).
  public func serializedModel<S: TensorScalar>(_ model: Sequential<S>) throws -> [UInt8] {
    let proto = try export(model)
    var options = BinaryEncodingOptions()
    options.useDeterministicOrdering = true
    return try proto.serializedBytes(options: options)
  }

  /// Writes the ONNX model of `model` to `url` atomically (the old file survives any failure).
  /// Throws `invalidArgument` for a layer that cannot be exported, `io` if the file cannot be written.
  public func write<S: TensorScalar>(_ model: Sequential<S>, to url: URL) throws {
    try AtomicFile.write(serializedModel(model), to: url)
  }
}
