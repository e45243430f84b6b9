/// Parity (XOR) of a bit sequence: the answer flips with every single bit, so no partial
/// count or recent window helps; the model must carry one exact bit through all T steps.
///
///     x [N, T, 1]:  x[n, t, 0] ∈ {0, 1}, each 1 with probability 1/2
///     y [N, 1]:     y[n] = x[n, 0, 0] xor x[n, 1, 0] xor ... xor x[n, T-1, 0]
///
/// Baseline: every sequence of T bits is equally likely and half have odd parity, so chance
/// accuracy is 50% (binary cross-entropy ln 2 ≈ 0.693). Train a single logit with
/// `BinaryCrossentropy(fromLogits: true)` and the `.accuracy` metric. Gradient training gets
/// much harder as T grows (the loss surface is flat until the whole chain of XORs is in place).
public struct ParityTask: Sendable, Equatable {
  /// The number of bits T (>= 1).
  public var steps: Int

  /// Accuracy of guessing.
  public static let chanceAccuracy = 0.5

  public init(steps: Int) { self.steps = steps }

  public func generate<Scalar: TensorScalar>(
    samples: Int, seed: UInt64, as _: Scalar.Type = Float.self
  ) throws -> TaskDataset<Scalar> {
    try TaskSupport.require(steps >= 1, "parity: steps must be >= 1, got \(steps)")
    try TaskSupport.require(samples >= 1, "parity: samples must be >= 1, got \(samples)")
    var g = SeededGenerator(seed: seed ^ 0x5041_5249_5459)
    let T = steps
    var x = [Scalar](repeating: 0, count: samples * T)
    var y = [Scalar](repeating: 0, count: samples)
    for n in 0..<samples {
      var parity = 0
      for t in 0..<T {
        let bit = Int(g.next() >> 63)
        x[n * T + t] = Scalar(Double(bit))
        parity ^= bit
      }
      y[n] = Scalar(Double(parity))
    }
    return TaskDataset(x: Tensor(shape: [samples, T, 1], scalars: x), y: Tensor(shape: [samples, 1], scalars: y))
  }
}
