import ArgumentParser
import Foundation
import Recurrent
import RecurrentONNX

/// `rnn export --onnx model.onnx --model model.safetensors`: writes a saved model as a standard
/// ONNX model (docs/onnx-export.md).
///
/// Exit codes (see `ExitCodes`): 64 usage, 65 the checkpoint is malformed or has a layer with no
/// ONNX mapping, 74 a file cannot be read or written.
struct Export: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Export a saved model as a standard ONNX model (opset 17) for onnxruntime and other ONNX tools.",
    discussion: """
      The ONNX graph has one input, 'input': float32 [batch, steps, features]
      (int64 token ids [batch, steps] when the model starts with an Embedding),
      and one output, 'output': float32, the model's inference output, as
      `rnn forward` computes it. With --lengths the graph also takes 'lengths':
      int64 [batch], each row's real length for right-padded batches.
      SimpleRNN, LSTM and GRU become the ONNX RNN, LSTM and GRU operators
      (gates reordered to ONNX's i|o|f|c and z|r|h, GRU with
      linear_before_reset=1); Dense, Embedding, Conv1D, pooling,
      LayerNormalization, Flatten, RepeatVector and Softmax map to standard
      operators. See docs/onnx-export.md.
      Exit codes: 64 bad usage, 65 bad checkpoint or a layer ONNX cannot
      express, 74 file not readable/writable.

      Example:
        rnn export --onnx model.onnx --model model.safetensors
        rnn export --onnx padded.onnx --model model.safetensors --lengths
        python -c "import onnxruntime as ort, numpy as np; \\
          s = ort.InferenceSession('model.onnx'); \\
          print(s.run(None, {'input': np.load('x.npy')})[0])"
      """)

  @Option(name: .long, help: "Where to write the ONNX model (.onnx).")
  var onnx: String

  @Option(name: .long, help: "Checkpoint (.safetensors) saved by Recurrent.")
  var model: String

  @Flag(
    name: .long,
    help: "Add a second input, 'lengths': int64 [batch], each row's real length (as rnn forward --lengths).")
  var lengths = false

  @Flag(name: .long, help: "Print nothing on success.")
  var quiet = false

  func validate() throws {
    for (flag, path) in [("--onnx", onnx), ("--model", model)] where path.isEmpty {
      throw ValidationError("\(flag) needs a file path")
    }
  }

  /// Loads the checkpoint and writes the ONNX model; returns the exported proto. Throws `RecurrentError`.
  @discardableResult
  func execute() throws -> Onnx_ModelProto {
    let network = try Sequential<Float>.load(from: model)
    var exporter = ONNXExporter()
    exporter.lengthsInput = lengths
    let proto: Onnx_ModelProto
    do {
      proto = try exporter.export(network)
    } catch RecurrentError.invalidArgument(let message) {
      throw RecurrentError.invalidData("\(model): \(message)")  // the file holds a layer ONNX cannot express
    }
    try exporter.write(network, to: URL(fileURLWithPath: onnx))
    return proto
  }

  func run() throws {
    let proto = try ExitCodes.reporting("export") { try execute() }
    guard !quiet else { return }
    let g = proto.graph
    let ops = Dictionary(grouping: g.node, by: \.opType).map { "\($0.key) x\($0.value.count)" }.sorted()
    print(
      "wrote \(onnx): ONNX IR \(proto.irVersion), opset \(ONNXExporter.opsetVersion), \(g.node.count) nodes (\(ops.joined(separator: ", "))), "
        + "\(g.initializer.count) initializers")
    for (role, values) in [("input", g.input), ("output", g.output)] {
      for v in values {
        let t = v.type.tensorType
        let dims = t.shape.dim.map { $0.dimParam.isEmpty ? String($0.dimValue) : $0.dimParam }
        let type = t.elemType == Int32(Onnx_TensorProto.DataType.int64.rawValue) ? "int64" : "float32"
        print("  \(role) '\(v.name)': \(type) [\(dims.joined(separator: ", "))]")
      }
    }
  }
}
