import Foundation
import Recurrent

/// What the exporter needs from a recurrent layer spec (`rnn`, `rnn_relu`, `lstm`, `gru`).
struct ONNXRecurrentSpec {
  var kind: String
  var units: Int
  var returnSequences: Bool
  var goBackwards: Bool
  var trainableInitialState: Bool
  /// GRU form: reset-after (`linear_before_reset = 1`) or reset-before (`linear_before_reset = 0`).
  var resetAfter: Bool

  init(_ spec: LayerSpec, label: String) throws {
    guard ["rnn", "rnn_relu", "lstm", "gru"].contains(spec.kind), let units = spec.config["units"]?.int else {
      throw RecurrentError.invalidArgument("\(label): cannot be exported to ONNX: expected an rnn, rnn_relu, lstm or gru spec, got \"\(spec.kind)\"")
    }
    kind = spec.kind
    self.units = units
    returnSequences = spec.config["returnSequences"]?.bool ?? false
    goBackwards = spec.config["goBackwards"]?.bool ?? false
    trainableInitialState = spec.config["trainableInitialState"]?.bool ?? false
    resetAfter = spec.config["resetAfter"]?.bool ?? true
  }

  /// The ONNX operator.
  var op: String { kind == "lstm" ? "LSTM" : kind == "gru" ? "GRU" : "RNN" }
  /// Gates per unit.
  var gates: Int { kind == "lstm" ? 4 : kind == "gru" ? 3 : 1 }

  /// ONNX gate block j holds our gate block `gateOrder[j]`:
  /// LSTM ours i|f|g|o -> ONNX i|o|f|c; GRU ours r|z|n -> ONNX z|r|h; SimpleRNN one block.
  var gateOrder: [Int] { kind == "lstm" ? [0, 3, 1, 2] : kind == "gru" ? [1, 0, 2] : [0] }

  /// The operator's own attributes (hidden_size and the cell's variant) for `directions` (1, 2)
  /// directions; activations are listed once per direction.
  func attributes(directions: Int) -> [Onnx_AttributeProto] {
    var a: [Onnx_AttributeProto] = [.int("hidden_size", Int64(units))]
    switch kind {
    // reset-after:  n = tanh(W_in x + b_in + r * (W_hn h + b_hn))   -> linear_before_reset = 1
    // reset-before: n = tanh(W_in x + b_in + W_hn (r * h) + b_hn)   -> linear_before_reset = 0
    // (ONNX's Wbh and Rbh are our b_in and b_hn in both forms.)
    case "gru": a.append(.int("linear_before_reset", resetAfter ? 1 : 0))
    case "rnn": a.append(.strings("activations", Array(repeating: "Tanh", count: directions)))
    case "rnn_relu": a.append(.strings("activations", Array(repeating: "Relu", count: directions)))
    default: break
    }
    return a
  }

  /// Rows [G*H, cols] with the gate blocks reordered to ONNX's.
  func reorderGates(_ values: [Float], columns: Int) -> [Float] {
    let block = units * columns
    var out = [Float]()
    out.reserveCapacity(values.count)
    for g in gateOrder { out.append(contentsOf: values[(g * block)..<((g + 1) * block)]) }
    return out
  }
}

extension ONNXLayerContext {
  /// A recurrent layer (`merge == nil`) or a Bidirectional one (`merge` = its merge mode):
  ///
  ///     input [B, T, I] -> Transpose -> X [T, B, I] -> LSTM/GRU/RNN -> Y [T, D, B, H], Y_h [D, B, H]
  ///
  /// then Y or Y_h back to batch-first and merged as our layer returns it.
  mutating func emitRecurrent(
    _ specs: [ONNXRecurrentSpec], merge: String?, input x: String, shape: [Int], scope: String, label: String,
    into b: inout ONNXGraphBuilder
  ) throws -> (String, [Int]) {
    let r = specs[0]
    let H = r.units, I = shape[1], G = r.gates
    let bidirectional = merge != nil
    // ONNX slot 0 runs forward in time, slot 1 (bidirectional) in reverse. Our forward half has
    // no suffix and our backward half "_reverse"; with goBackwards set on the wrapped layer our
    // halves run the other way, so they swap slots.
    let swapped = bidirectional && r.goBackwards
    let suffixes = bidirectional ? (swapped ? ["_reverse", ""] : ["", "_reverse"]) : [""]
    let D = suffixes.count
    var W = [Float](), R = [Float](), B = [Float](), h0 = [Float](), c0 = [Float]()
    for suffix in suffixes {
      W += r.reorderGates(try weight("\(scope).weight_ih\(suffix)", label: label).values, columns: I)
      R += r.reorderGates(try weight("\(scope).weight_hh\(suffix)", label: label).values, columns: H)
      B += r.reorderGates(try weight("\(scope).bias_ih\(suffix)", label: label).values, columns: 1)
      B += r.reorderGates(try weight("\(scope).bias_hh\(suffix)", label: label).values, columns: 1)
      if r.trainableInitialState {
        h0 += try weight("\(scope).h0\(suffix)", label: label).values
        if r.kind == "lstm" { c0 += try weight("\(scope).c0\(suffix)", label: label).values }
      }
    }
    let xt = b.op("Transpose", [x], scope: scope, [.ints("perm", [1, 0, 2])])  // [T, B, I]
    var inputs = [
      xt, b.floats("\(scope).W", W, shape: [D, G * H, I]), b.floats("\(scope).R", R, shape: [D, G * H, H]),
      b.floats("\(scope).B", B, shape: [D, 2 * G * H]), sequenceLengthsInput(into: &b),
    ]
    if r.trainableInitialState {
      // initial_h [D, B, H]: the [D, 1, H] parameter expanded over the batch.
      let batch = b.op("Shape", [x], scope: scope, [.int("start", 0), .int("end", 1)])  // [B]
      let one = b.int64s("\(scope).one", [1])
      let target = b.op("Concat", [one, batch, one], scope: scope, [.int("axis", 0)])  // [1, B, 1]
      inputs.append(b.op("Expand", [b.floats("\(scope).h0", h0, shape: [D, 1, H]), target], scope: scope))
      if r.kind == "lstm" {
        inputs.append(b.op("Expand", [b.floats("\(scope).c0", c0, shape: [D, 1, H]), target], scope: scope))
      }
    }
    var attributes = r.attributes(directions: D)
    attributes.append(.string("direction", bidirectional ? "bidirectional" : r.goBackwards ? "reverse" : "forward"))
    let outs = b.node(r.op, inputs, scope: scope, attributes: attributes, outputs: 2)
    let (y, yh) = (outs[0], outs[1])  // Y [T, D, B, H], Y_h [D, B, H]
    let T = shape[0]
    if !r.returnSequences { lengths = nil }  // the time axis is gone (as our layer clears the mask)

    guard let merge else {
      if !r.returnSequences {
        return (b.op("Squeeze", [yh, b.int64s("\(scope).axes", [0])], scope: scope), [H])  // [B, H]
      }
      let s = b.op("Squeeze", [y, b.int64s("\(scope).axes", [1])], scope: scope)  // [T, B, H]
      var out = b.op("Transpose", [s], scope: scope, [.ints("perm", [1, 0, 2])])  // [B, T, H]
      // Our goBackwards output is in processing order (last step first), ONNX's in time order.
      if r.goBackwards { out = b.reversed(out, axes: [1], scope: scope) }
      return (out, [T, H])
    }

    let reduce: String? =
      switch merge {
      case "concat": nil
      case "sum": "ReduceSum"
      case "mul": "ReduceProd"
      case "average": "ReduceMean"
      default: throw RecurrentError.invalidArgument("\(label): cannot be exported to ONNX: unknown merge mode \"\(merge)\"")
      }
    if !r.returnSequences {
      // Our halves' final states, [fwd, bwd] = Y_h slots [0, 1] (or [1, 0] when swapped).
      if let reduce { return (self.reduce(reduce, yh, axis: 0, scope: scope, into: &b), [H]) }
      var t = b.op("Transpose", [yh], scope: scope, [.ints("perm", [1, 0, 2])])  // [B, D, H]
      if swapped { t = b.reversed(t, axes: [1], scope: scope) }
      return (b.op("Reshape", [t, b.int64s("\(scope).shape", [0, -1])], scope: scope), [2 * H])
    }
    // Sequences: step t merges our forward half's and our (re-reversed) backward half's
    // outputs for input step t; when swapped, both are in reverse time and the slots swap.
    if let reduce {
      let m = self.reduce(reduce, y, axis: 1, scope: scope, into: &b)  // [T, B, H]
      var out = b.op("Transpose", [m], scope: scope, [.ints("perm", [1, 0, 2])])
      if swapped { out = b.reversed(out, axes: [1], scope: scope) }
      return (out, [T, H])
    }
    var t = b.op("Transpose", [y], scope: scope, [.ints("perm", [2, 0, 1, 3])])  // [B, T, D, H]
    if swapped { t = b.reversed(t, axes: [1, 2], scope: scope) }
    return (b.op("Reshape", [t, b.int64s("\(scope).shape", [0, 0, -1])], scope: scope), [T, 2 * H])
  }

  /// `sequence_lens` (int32 [B]) while a mask is active, else "" (every row at full length).
  mutating func sequenceLengthsInput(into b: inout ONNXGraphBuilder) -> String {
    guard let lengths else { return "" }
    if let sequenceLengths { return sequenceLengths }
    let cast = b.op("Cast", [lengths], scope: "lengths", [.int("to", Int64(Onnx_TensorProto.DataType.int32.rawValue))])
    sequenceLengths = cast
    return cast
  }

  /// ReduceSum takes its axes as an input in opset 13+, the others as an attribute until opset 18.
  private func reduce(_ op: String, _ x: String, axis: Int64, scope: String, into b: inout ONNXGraphBuilder) -> String {
    if op == "ReduceSum" {
      return b.op(op, [x, b.int64s("\(scope).axes", [axis])], scope: scope, [.int("keepdims", 0)])
    }
    return b.op(op, [x], scope: scope, [.ints("axes", [axis]), .int("keepdims", 0)])
  }
}
