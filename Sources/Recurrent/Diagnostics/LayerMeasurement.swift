/// Cheap measurements of a recurrent layer straight from the buffers the last training step left
/// behind (the forward tape and backward's dL/dh_t), with no extra forward or backward pass and
/// no copy of the trace: what `DiagnosticsRecorder` takes during `fit`.
///
/// The same figures as `RNN.diagnose(name:)` (which copies the whole trace and runs a cold power
/// iteration), computed in single passes over time-major memory:
/// - ||dL/dh_t|| for t = 0 ... T (mean over batch rows of the row's L2 norm),
/// - per gate: mean and fraction saturated (< 0.05 or > 0.95; < -0.95 for tanh candidates),
///   padded steps of a masked batch excluded,
/// - min and max of h_1 ... h_T (and c_1 ... c_T),
/// - σ_max(W_hh) by power iteration warm-started from the previous call's singular vector, so a
///   few iterations per call suffice while the weights move slowly.
extension RecurrentLayer {
  /// Whether `measure` has a forward pass (and the backward buffers of the same batch) to read.
  var hasRecordedPass: Bool { defaultTape.isRecorded && defaultTape.batch > 0 && defaultTape.steps > 0 }

  /// The layer's figures from its default tape and the last backward pass. `singularVector`
  /// carries the power iteration's state between calls (pass an empty array the first time).
  func measure(name: String, singularVector: inout [Double], powerIterations: Int) -> RecurrentLayerDiagnosis {
    let tape = defaultTape
    let B = tape.batch, T = tape.steps, H = hiddenSize, G = Cell.gateCount * H
    let mask: UnsafePointer<Scalar>? = tape.stepIsPartial != nil ? UnsafePointer(tape.mask.pointer) : nil
    let gatePointer = UnsafePointer(tape.gates.pointer)

    // Gates: [T*B, G*H] time-major, gate k at columns k*H ..< (k+1)*H.
    var gates = [GateStatistics]()
    for (k, gate) in Cell.gateNames.enumerated() {
      let lowLimit = Cell.isTanhGate(gate) ? -0.95 : 0.05
      let s = concretely(
        gatePointer,
        { gateSummary($0, mask: mask.map(asFloat), rows: T * B, stride: G, offset: k * H, width: H, low: Float(lowLimit), high: 0.95) },
        { gateSummary($0, mask: mask.map(asDouble), rows: T * B, stride: G, offset: k * H, width: H, low: lowLimit, high: 0.95) })
      let n = Double(s.count)
      gates.append(
        GateStatistics(
          gate: gate, mean: n > 0 ? s.sum / n : .nan, saturatedLow: n > 0 ? Double(s.low) / n : .nan,
          saturatedHigh: n > 0 ? Double(s.high) / n : .nan, isTanh: Cell.isTanhGate(gate)))
    }

    // h and c: [(T+1)*B, H], slot 0 the initial state.
    func range(_ p: UnsafePointer<Scalar>) -> ClosedRange<Double> {
      concretely(p, { valueRange($0, count: T * B * H) }, { valueRange($0, count: T * B * H) })
    }
    let hiddenRange = range(UnsafePointer(tape.h.pointer + B * H))
    let cellRange = Cell.hasCellState ? range(UnsafePointer(tape.c.pointer + B * H)) : nil

    let spectral = store.params.withUnsafeBufferPointer { p in
      concretely(
        p.baseAddress! + weightHH.offset,
        { warmStartedSpectralNorm($0, rows: G, cols: H, vector: &singularVector, maxIterations: powerIterations) },
        { warmStartedSpectralNorm($0, rows: G, cols: H, vector: &singularVector, maxIterations: powerIterations) })
    }
    return RecurrentLayerDiagnosis(
      name: name, gradientNorms: hiddenGradientNorms(), spectralNorm: spectral, gates: gates,
      hiddenRange: hiddenRange, cellRange: cellRange)
  }
}

// MARK: - Kernels
//
// Written once, generic over the element type, and always called with a concrete one through
// `concretely`, so the optimizer specialises them: the recorder reaches them through protocol
// existentials, where unspecialised generic code would pay a witness call per element.

/// `body` called with `p` as the concrete Float or Double pointer it is.
@inline(__always)
func concretely<S: TensorScalar, R>(
  _ p: UnsafePointer<S>, _ float: (UnsafePointer<Float>) -> R, _ double: (UnsafePointer<Double>) -> R
) -> R {
  if S.self == Float.self { return float(UnsafeRawPointer(p).assumingMemoryBound(to: Float.self)) }
  precondition(S.self == Double.self, "Recurrent computes in Float or Double only")
  return double(UnsafeRawPointer(p).assumingMemoryBound(to: Double.self))
}

@inline(__always) func asFloat<S: TensorScalar>(_ p: UnsafePointer<S>) -> UnsafePointer<Float> {
  UnsafeRawPointer(p).assumingMemoryBound(to: Float.self)
}
@inline(__always) func asDouble<S: TensorScalar>(_ p: UnsafePointer<S>) -> UnsafePointer<Double> {
  UnsafeRawPointer(p).assumingMemoryBound(to: Double.self)
}

/// Sum, count below `low`, count above `high` and count of columns offset..<offset+width of
/// `rows` rows (row r at r * stride), skipping rows whose `mask` entry is 0.
func gateSummary<S: BinaryFloatingPoint>(
  _ p: UnsafePointer<S>, mask: UnsafePointer<S>?, rows: Int, stride: Int, offset: Int, width: Int, low: S, high: S
) -> (sum: Double, low: Int, high: Int, count: Int) {
  var sum = 0.0, lowCount = 0, highCount = 0, n = 0
  for r in 0..<rows {
    if let mask, mask[r] == 0 { continue }
    let row = p + r * stride + offset
    var rowSum: S = 0
    var l = 0, h = 0
    for j in 0..<width {
      let v = row[j]
      rowSum += v
      l &+= v < low ? 1 : 0
      h &+= v > high ? 1 : 0
    }
    sum += Double(rowSum)
    lowCount += l
    highCount += h
    n += width
  }
  return (sum, lowCount, highCount, n)
}

/// min...max of `count` values (0...0 when empty).
func valueRange<S: BinaryFloatingPoint>(_ p: UnsafePointer<S>, count: Int) -> ClosedRange<Double> {
  guard count > 0 else { return 0...0 }
  var lo = p[0], hi = p[0]
  for i in 0..<count {
    lo = Swift.min(lo, p[i])
    hi = Swift.max(hi, p[i])
  }
  return Double(lo)...Double(hi)
}

/// Mean over `rows` rows of width `width` of each row's L2 norm.
func meanRowNorm<S: BinaryFloatingPoint>(_ p: UnsafePointer<S>, rows: Int, width: Int) -> Double {
  guard rows > 0 else { return 0 }
  var total = 0.0
  for b in 0..<rows {
    let row = p + b * width
    var s = 0.0  // in Double: a vanished gradient (1e-30) squared underflows Float
    for j in 0..<width {
      let v = Double(row[j])
      s += v * v
    }
    total += s.squareRoot()
  }
  return total / Double(rows)
}

/// sqrt(sum of squares) of `count` values, accumulated in Double.
func euclideanNorm<S: BinaryFloatingPoint>(_ p: UnsafePointer<S>, count: Int) -> Double {
  var s = 0.0
  for i in 0..<count {
    let v = Double(p[i])
    s += v * v
  }
  return s.squareRoot()
}

/// σ_max of a [rows, cols] row-major matrix by power iteration on AᵀA, starting from `vector`
/// (a unit vector of `cols`, or empty for a fixed start) and leaving the last iterate there.
/// Stops when the estimate moves by less than 1e-6 relative, or after `maxIterations`. The
/// estimate never exceeds σ_max and approaches it from below.
func warmStartedSpectralNorm<S: TensorScalar>(
  _ a: UnsafePointer<S>, rows: Int, cols: Int, vector v: inout [Double], maxIterations: Int
) -> Double {
  guard rows > 0, cols > 0 else { return 0 }
  if v.count != cols { v = (0..<cols).map { 1.0 + 0.01 * Double($0 % 7) } }
  var u = [Double](repeating: 0, count: rows), w = [Double](repeating: 0, count: cols)
  var sigma = 0.0
  for _ in 0..<Swift.max(1, maxIterations) {
    v.withUnsafeBufferPointer { vp in
      for i in 0..<rows {  // u = A v, four partial sums to break the dependency chain
        let row = a + i * cols
        var s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0, j = 0
        while j + 4 <= cols {
          s0 += Double(row[j]) * vp[j]
          s1 += Double(row[j + 1]) * vp[j + 1]
          s2 += Double(row[j + 2]) * vp[j + 2]
          s3 += Double(row[j + 3]) * vp[j + 3]
          j += 4
        }
        while j < cols { s0 += Double(row[j]) * vp[j]; j += 1 }
        u[i] = (s0 + s1) + (s2 + s3)
      }
    }
    w.withUnsafeMutableBufferPointer { wp in  // w = Aᵀ u
      for j in 0..<cols { wp[j] = 0 }
      for i in 0..<rows {
        let row = a + i * cols, ui = u[i]
        for j in 0..<cols { wp[j] += Double(row[j]) * ui }
      }
    }
    var norm = 0.0
    for x in w { norm += x * x }
    norm = norm.squareRoot()
    guard norm > 0 else { return 0 }
    let next = norm.squareRoot()  // ||AᵀA v|| -> σ² for the top singular vector v
    for j in 0..<cols { v[j] = w[j] / norm }
    let converged = abs(next - sigma) <= 1e-6 * Swift.max(1, next)
    sigma = next
    if converged { break }
  }
  return sigma
}

/// Layers whose recurrent internals `DiagnosticsRecorder` can measure after a training step.
protocol RecurrentMeasurable {
  /// One diagnosis per direction; `vectors` keeps each direction's power-iteration state by name.
  func measure(name: String, vectors: inout [String: [Double]], powerIterations: Int) -> [RecurrentLayerDiagnosis]
}

extension RNN: RecurrentMeasurable {
  func measure(name: String, vectors: inout [String: [Double]], powerIterations: Int) -> [RecurrentLayerDiagnosis] {
    guard let engine, engine.hasRecordedPass else { return [] }
    let full = "\(name) \(kind)" + (nameSuffix.isEmpty ? "" : " (reverse)")
    var v = vectors[full] ?? []
    let d = engine.measure(name: full, singularVector: &v, powerIterations: powerIterations)
    vectors[full] = v
    return [d]
  }
}

extension Bidirectional: RecurrentMeasurable {
  func measure(name: String, vectors: inout [String: [Double]], powerIterations: Int) -> [RecurrentLayerDiagnosis] {
    forwardLayer.measure(name: name, vectors: &vectors, powerIterations: powerIterations)
      + backwardLayer.measure(name: name, vectors: &vectors, powerIterations: powerIterations)
  }
}
