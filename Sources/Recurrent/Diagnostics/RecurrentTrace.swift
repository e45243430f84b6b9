/// Every time step's hidden state, cell state and gate values for a batch: what the fused layers
/// of Keras and PyTorch do not give back.
public struct RecurrentTrace<Scalar: TensorScalar>: Sendable {
  /// h_1 ... h_T, batch-first [B, T, H], in processing order.
  public var hidden: Tensor<Scalar>
  /// c_1 ... c_T, [B, T, H] (LSTM only).
  public var cell: Tensor<Scalar>?
  /// Activated gate values per gate name, each [B, T, H], in `gateNames` order.
  public var gates: [String: Tensor<Scalar>]
  /// The gate names in the cell's gate order (LSTM input|forget|cell|output, GRU
  /// reset|update|new, SimpleRNN none).
  public var gateNames: [String]
}

/// Summary statistics of one gate's activations over a batch and all its time steps.
public struct GateStatistics: Sendable, Equatable {
  public var gate: String
  public var mean: Double
  /// Fraction of values below 0.05 (sigmoid gates) or below -0.95 (tanh-valued candidates).
  public var saturatedLow: Double
  /// Fraction of values above 0.95.
  public var saturatedHigh: Double
  /// Whether the gate is a tanh candidate (range [-1, 1]) rather than a sigmoid gate.
  public var isTanh: Bool
}

extension RecurrentCell {
  /// Names of the gate blocks in weight order.
  public static var gateNames: [String] {
    switch gateCount {
    case 4: ["input", "forget", "cell", "output"]
    case 3: ["reset", "update", "new"]
    default: []
    }
  }

  /// Which gates are tanh-valued (LSTM g, GRU n).
  static func isTanhGate(_ name: String) -> Bool { name == "cell" || name == "new" }
}

extension RecurrentLayer {
  /// The states and gates the last forward pass recorded on `tape` (the layer's own when nil),
  /// batch-first in processing order. Padded steps of a masked batch hold the carried state
  /// (their gates are whatever the cell computed before the carry, and should be ignored).
  public func trace(tape: RecurrentTape<Scalar>? = nil) -> RecurrentTrace<Scalar> {
    let tape = tape ?? defaultTape
    precondition(tape.isRecorded, "RecurrentLayer.trace: call forward first")
    let B = tape.batch, T = tape.steps, H = hiddenSize, G = Cell.gateCount * H
    func batchFirst(_ base: UnsafePointer<Scalar>, stride: Int, offset: Int) -> Tensor<Scalar> {
      var out = Tensor<Scalar>(shape: [B, T, H])
      out.withUnsafeMutableBufferPointer { o in
        for t in 0..<T {
          for b in 0..<B {
            let src = base + (t * B + b) * stride + offset
            for j in 0..<H { o[(b * T + t) * H + j] = src[j] }
          }
        }
      }
      return out
    }
    let hidden = batchFirst(UnsafePointer(tape.h.pointer + B * H), stride: H, offset: 0)
    let cell = Cell.hasCellState ? batchFirst(UnsafePointer(tape.c.pointer + B * H), stride: H, offset: 0) : nil
    var gates = [String: Tensor<Scalar>]()
    for (k, name) in Cell.gateNames.enumerated() {
      gates[name] = batchFirst(UnsafePointer(tape.gates.pointer), stride: G, offset: k * H)
    }
    return RecurrentTrace(hidden: hidden, cell: cell, gates: gates, gateNames: Cell.gateNames)
  }

  /// Mean and saturation of every gate over the last forward pass (masked steps excluded).
  public func gateStatistics(tape: RecurrentTape<Scalar>? = nil) -> [GateStatistics] {
    let tape = tape ?? defaultTape
    let tr = trace(tape: tape)
    let B = tape.batch, T = tape.steps, H = hiddenSize
    let mask = tape.stepIsPartial != nil ? tape.mask.pointer : nil
    return tr.gateNames.map { name in
      let v = tr.gates[name]!.scalars
      let tanhGate = Cell.isTanhGate(name)
      var sum = 0.0, low = 0.0, high = 0.0, n = 0.0
      for b in 0..<B {
        for t in 0..<T {
          if let mask, mask[t * B + b] == 0 { continue }
          for j in 0..<H {
            let x = Double(v[(b * T + t) * H + j])
            sum += x
            if x < (tanhGate ? -0.95 : 0.05) { low += 1 }
            if x > 0.95 { high += 1 }
            n += 1
          }
        }
      }
      return GateStatistics(
        gate: name, mean: n > 0 ? sum / n : .nan, saturatedLow: n > 0 ? low / n : .nan,
        saturatedHigh: n > 0 ? high / n : .nan, isTanh: tanhGate)
    }
  }
}

/// The largest singular value of a [rows, cols] row-major matrix (power iteration on AᵀA).
///
/// For a recurrent weight matrix it bounds how much one step can stretch the hidden state: with
/// tanh (slope <= 1), ||dh_{t-1}|| <= σ_max(W_hh) ||dh_t||, so σ_max < 1 forces the gradient to
/// vanish geometrically over time steps.
public func largestSingularValue<S: TensorScalar>(
  _ a: [S], rows: Int, cols: Int, iterations: Int = 200
) -> Double {
  precondition(a.count == rows * cols, "largestSingularValue: \(a.count) values for [\(rows), \(cols)]")
  guard rows > 0, cols > 0 else { return 0 }
  var v = (0..<cols).map { 1.0 + 0.01 * Double($0 % 7) }
  var sigma = 0.0
  for _ in 0..<iterations {
    var u = [Double](repeating: 0, count: rows)  // u = A v
    for i in 0..<rows { for j in 0..<cols { u[i] += Double(a[i * cols + j]) * v[j] } }
    var w = [Double](repeating: 0, count: cols)  // w = Aᵀ u
    for i in 0..<rows { for j in 0..<cols { w[j] += Double(a[i * cols + j]) * u[i] } }
    let norm = w.reduce(0) { $0 + $1 * $1 }.squareRoot()
    guard norm > 0 else { return 0 }
    let next = norm.squareRoot()  // ||AᵀA v|| -> σ² for unit v
    v = w.map { $0 / norm }
    if abs(next - sigma) <= 1e-12 * max(1, next) { sigma = next; break }
    sigma = next
  }
  return sigma
}

extension RecurrentLayer {
  /// σ_max of the whole recurrent matrix W_hh [G*H, H].
  public var recurrentSpectralNorm: Double {
    largestSingularValue(Array(store.params[weightHH.range]), rows: Cell.gateCount * hiddenSize, cols: hiddenSize)
  }
}
