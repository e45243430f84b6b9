import Foundation
import Recurrent

/// Emits the ONNX nodes of one layer spec at a time, reading weights from the model's store.
/// Shapes are without the batch axis, as `Sequential` reports them; the graph itself keeps
/// batch and steps symbolic.
struct ONNXLayerContext<S: TensorScalar> {
  let store: ParameterStore<S>
  /// False once a layer changes the time axis (convolution, pooling, RepeatVector).
  var timeAxisIsInputSteps = true
  /// The graph input `lengths` (int64 [B]) while the layers still see a mask, as
  /// `LayerContext.mask` does in `predict(_:lengths:)`; nil once a layer clears the mask.
  var lengths: String?
  /// `lengths` as int32 (ONNX's sequence_lens type), made once.
  var sequenceLengths: String?

  init(store: ParameterStore<S>, lengths: String? = nil) {
    self.store = store
    self.lengths = lengths
  }

  /// A parameter's values as Float and its shape; `label` names the layer in errors.
  func weight(_ name: String, label: String) throws -> (values: [Float], shape: [Int]) {
    guard let p = store[name] else {
      throw RecurrentError.invalidArgument("\(label): the model has no parameter '\(name)'")
    }
    return (store.value(of: p).scalars.map { Float($0) }, p.shape)
  }

  /// Emits `spec` applied to `x` (shape `shape` without batch); returns the output value and shape.
  mutating func emit(
    _ spec: LayerSpec, input x: String, shape: [Int], scope: String, label: String, into b: inout ONNXGraphBuilder
  ) throws -> (String, [Int]) {
    let c = spec.config
    func int(_ key: String, _ d: Int) -> Int { c[key]?.int ?? d }
    func unsupported(_ why: String) -> RecurrentError {
      .invalidArgument("\(label): cannot be exported to ONNX: \(why)")
    }
    switch spec.kind {
    case "rnn", "rnn_relu", "lstm", "gru":
      let r = try ONNXRecurrentSpec(spec, label: label)
      return try emitRecurrent([r], merge: nil, input: x, shape: shape, scope: scope, label: label, into: &b)
    case "bidirectional":
      guard let inner = c["layer"], let innerSpec = try? LayerSpec(json: inner, path: label) else {
        throw unsupported("no wrapped layer spec")
      }
      let r = try ONNXRecurrentSpec(innerSpec, label: label)
      let merge = c["mergeMode"]?.string ?? "concat"
      return try emitRecurrent([r], merge: merge, input: x, shape: shape, scope: scope, label: label, into: &b)
    case "dense":
      let units = int("units", 0)
      let (w, ws) = try weight("\(scope).weight", label: label)  // [units, in]
      let features = ws[1]
      let useBias = c["useBias"]?.bool ?? true
      let bias = useBias ? try weight("\(scope).bias", label: label).values : nil
      var y: String
      if shape.count == 1 {
        // Gemm: y = x . W^T + b on [B, in]
        let wName = b.floats("\(scope).weight", w, shape: ws)
        var inputs = [x, wName]
        if let bias { inputs.append(b.floats("\(scope).bias", bias, shape: [units])) }
        y = b.op("Gemm", inputs, scope: scope, [.int("transB", 1)])
      } else {
        // MatMul broadcasts over [B, T, in] . [in, units]
        var wt = [Float](repeating: 0, count: w.count)
        for u in 0..<units { for f in 0..<features { wt[f * units + u] = w[u * features + f] } }
        y = b.op("MatMul", [x, b.floats("\(scope).weight_t", wt, shape: [features, units])], scope: scope)
        if let bias { y = b.op("Add", [y, b.floats("\(scope).bias", bias, shape: [units])], scope: scope) }
      }
      let f = ActivationFunction(rawValue: c["activation"]?.string ?? "linear") ?? .linear
      return (b.activation(f, y, scope: scope), Array(shape.dropLast()) + [units])
    case "embedding":
      if let m = c["maskIndex"], !m.isNull {
        throw unsupported(
          "maskIndex \(m) masks the steps holding that id wherever they are, and ONNX's recurrent operators can only "
            + "skip trailing padding; save the model with maskIndex: nil and export with lengths (--lengths) instead")
      }
      let (w, ws) = try weight("\(scope).weight", label: label)  // [vocabulary, dimension]
      let y = b.op("Gather", [b.floats("\(scope).weight", w, shape: ws), x], scope: scope, [.int("axis", 0)])
      return (y, shape + [ws[1]])
    case "dropout":
      return (x, shape)
    case "conv1d":
      return try emitConv(spec, input: x, shape: shape, scope: scope, label: label, into: &b)
    case "max_pooling1d":
      let pool = int("poolSize", 2), stride = int("strides", pool)
      let padding = Padding1D(rawValue: c["padding"]?.string ?? "valid") ?? .valid
      timeAxisIsInputSteps = false
      lengths = nil  // the time axis changes: pooling does not carry masks
      let t = b.op("Transpose", [x], scope: scope, [.ints("perm", [0, 2, 1])])  // [B, C, T]
      let p = b.op(
        "MaxPool", [t], scope: scope,
        [
          .ints("kernel_shape", [Int64(pool)]), .ints("strides", [Int64(stride)]),
          .string("auto_pad", padding == .same ? "SAME_UPPER" : "VALID"),
        ])
      let y = b.op("Transpose", [p], scope: scope, [.ints("perm", [0, 2, 1])])
      let out = padding.geometry(length: shape[0], window: pool, stride: stride).outputLength
      return (y, [out, shape[1]])
    case "global_average_pooling1d", "global_max_pooling1d":
      defer { lengths = nil }
      let average = spec.kind == "global_average_pooling1d"
      if let lengths { return (maskedPooling(x, average: average, lengths: lengths, scope: scope, into: &b), [shape[1]]) }
      return (b.op(average ? "ReduceMean" : "ReduceMax", [x], scope: scope, [.ints("axes", [1]), .int("keepdims", 0)]), [shape[1]])
    case "layer_normalization":
      let (g, gs) = try weight("\(scope).weight", label: label)
      let (beta, _) = try weight("\(scope).bias", label: label)
      let eps = Float(c["epsilon"]?.double ?? 1e-3)
      let y = b.op(
        "LayerNormalization",
        [x, b.floats("\(scope).weight", g, shape: gs), b.floats("\(scope).bias", beta, shape: gs)],
        scope: scope, [.int("axis", -1), .float("epsilon", eps)])
      return (y, shape)
    case "flatten":
      lengths = nil
      return (b.op("Flatten", [x], scope: scope, [.int("axis", 1)]), [shape.reduce(1, *)])
    case "repeat_vector":
      let n = int("count", 1)
      timeAxisIsInputSteps = false
      lengths = nil  // a new time axis: every step is real
      let u = b.op("Unsqueeze", [x, b.int64s("\(scope).axes", [1])], scope: scope)  // [B, 1, F]
      let y = b.op("Expand", [u, b.int64s("\(scope).shape", [1, Int64(n), 1])], scope: scope)  // [B, n, F]
      return (y, [n] + shape)
    case "time_distributed":
      guard let inner = c["layer"], let innerSpec = try? LayerSpec(json: inner, path: label) else {
        throw unsupported("no wrapped layer spec")
      }
      // Layers that act on the last axis only are already per step.
      guard ["dense", "layer_normalization", "dropout"].contains(innerSpec.kind) else {
        throw unsupported(
          "time_distributed(\(innerSpec.kind)) is not supported (only dense, layer_normalization and dropout, "
            + "which act on each step already)")
      }
      // They see [B, T, ...] as is (a per-step Gemm would need [B*T, F]).
      return try emit(innerSpec, input: x, shape: shape, scope: scope, label: label, into: &b)
    default:
      throw unsupported(
        "layer kind \"\(spec.kind)\" has no ONNX mapping (supported: rnn, rnn_relu, lstm, gru, bidirectional, dense, "
          + "embedding, dropout, conv1d, max_pooling1d, global_average_pooling1d, global_max_pooling1d, "
          + "layer_normalization, flatten, repeat_vector, time_distributed)")
    }
  }

  /// Conv1D: [B, T, C] -> Transpose -> [B, C, T] -> (Pad) -> Conv -> [B, F, T'] -> Transpose.
  /// The weight [filters, C, kernel] is already ONNX's layout.
  mutating func emitConv(
    _ spec: LayerSpec, input x: String, shape: [Int], scope: String, label: String, into b: inout ONNXGraphBuilder
  ) throws -> (String, [Int]) {
    let c = spec.config
    let k = c["kernelSize"]?.int ?? 1, stride = c["strides"]?.int ?? 1, dilation = c["dilation"]?.int ?? 1
    let padding = Padding1D(rawValue: c["padding"]?.string ?? "valid") ?? .valid
    let (w, ws) = try weight("\(scope).weight", label: label)
    timeAxisIsInputSteps = false
    lengths = nil  // Conv1D does not carry masks
    var t = b.op("Transpose", [x], scope: scope, [.ints("perm", [0, 2, 1])])
    let window = (k - 1) * dilation + 1
    if padding == .causal {
      // pads = [begin B, C, T, end B, C, T]: window - 1 zeros before step 0
      let pads = b.int64s("\(scope).pads", [0, 0, Int64(window - 1), 0, 0, 0])
      t = b.op("Pad", [t, pads], scope: scope)
    }
    var inputs = [t, b.floats("\(scope).weight", w, shape: ws)]
    if c["useBias"]?.bool ?? true {
      inputs.append(b.floats("\(scope).bias", try weight("\(scope).bias", label: label).values, shape: [ws[0]]))
    }
    let conv = b.op(
      "Conv", inputs, scope: scope,
      [
        .ints("kernel_shape", [Int64(k)]), .ints("strides", [Int64(stride)]), .ints("dilations", [Int64(dilation)]),
        .string("auto_pad", padding == .same ? "SAME_UPPER" : "VALID"),
      ])
    var y = b.op("Transpose", [conv], scope: scope, [.ints("perm", [0, 2, 1])])
    let f = ActivationFunction(rawValue: c["activation"]?.string ?? "linear") ?? .linear
    y = b.activation(f, y, scope: scope)
    let out = padding.geometry(length: shape[0], window: window, stride: stride).outputLength
    return (y, [out, ws[0]])
  }

  /// Global pooling over each row's first `lengths[b]` steps only (rows need at least one):
  ///
  ///     m[b, t] = t < lengths[b]                                   [B, T] float
  ///     average: y = Σ_t m x / max(Σ_t m, 1)     max: y = max_t (m ? x : -inf)
  mutating func maskedPooling(
    _ x: String, average: Bool, lengths: String, scope: String, into b: inout ONNXGraphBuilder
  ) -> String {
    let steps = b.op("Shape", [x], scope: scope, [.int("start", 1), .int("end", 2)])  // [1] = T
    let t = b.op("Squeeze", [steps, b.int64s("\(scope).axes0", [0])], scope: scope)  // scalar T
    let zero = b.int64s("\(scope).zero", [0], shape: [])
    let one = b.int64s("\(scope).one", [1], shape: [])
    let range = b.op("Range", [zero, t, one], scope: scope)  // [T]
    let column = b.op("Unsqueeze", [lengths, b.int64s("\(scope).axes1", [1])], scope: scope)  // [B, 1]
    let valid = b.op("Less", [range, column], scope: scope)  // [B, T] bool
    let valid3 = b.op("Unsqueeze", [valid, b.int64s("\(scope).axes2", [2])], scope: scope)  // [B, T, 1]
    if average {
      let m = b.op("Cast", [valid3], scope: scope, [.int("to", Int64(Onnx_TensorProto.DataType.float.rawValue))])
      let sum = b.op("ReduceSum", [b.op("Mul", [x, m], scope: scope), b.int64s("\(scope).axes", [1])], scope: scope, [.int("keepdims", 0)])
      let count = b.op("ReduceSum", [m, b.int64s("\(scope).axes", [1])], scope: scope, [.int("keepdims", 0)])  // [B, 1]
      let safe = b.op("Max", [count, b.floats("\(scope).one_f", [1], shape: [])], scope: scope)
      return b.op("Div", [sum, safe], scope: scope)
    }
    let low = b.floats("\(scope).minus_inf", [-Float.infinity], shape: [])
    let kept = b.op("Where", [valid3, x, low], scope: scope)
    return b.op("ReduceMax", [kept], scope: scope, [.ints("axes", [1]), .int("keepdims", 0)])
  }
}
