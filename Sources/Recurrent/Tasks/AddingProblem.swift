/// The adding problem (Hochreiter & Schmidhuber 1997, experiment 4; the form used by Le et
/// al. 2015 and Arjovsky et al. 2016): the classic test of a long-range dependency.
///
/// Each sample is a sequence of `steps` pairs. Channel 0 holds values drawn from U(0, 1);
/// channel 1 is a marker that is 1 at exactly two steps, one drawn uniformly from the first
/// half `0..<T/2` and one from the second half `T/2..<T`, and 0 elsewhere. The target is the
/// sum of the two marked values:
///
///     x [N, T, 2]:  x[n, t, 0] ~ U(0, 1),  x[n, t, 1] = 1 at t = a_n and t = b_n, else 0
///     y [N, 1]:     y[n] = x[n, a_n, 0] + x[n, b_n, 0]
///
/// Baseline: the target is a sum of two independent U(0, 1), mean 1 and variance 2/12 = 1/6,
/// so a model that ignores the inputs and predicts 1 scores MSE ≈ 0.167 (`baselineMSE`). A
/// model that only remembers the recent past sees the second marker but not the first,
/// and can reach at best 1/12 ≈ 0.083 (`secondHalfOnlyMSE`); solving it needs memory over
/// up to T steps. "Solved" is conventionally MSE well below the baseline (e.g. < 0.01).
public struct AddingProblem: Sendable, Equatable {
  /// The sequence length T (>= 2).
  public var steps: Int

  /// MSE of predicting the mean (1.0): the variance of the target, 1/6.
  public static let baselineMSE = 1.0 / 6.0
  /// MSE of the best predictor that sees only the second half (value b plus the mean 0.5 of
  /// the first): the variance of one U(0, 1), 1/12.
  public static let secondHalfOnlyMSE = 1.0 / 12.0

  public init(steps: Int) { self.steps = steps }

  /// `samples` sequences drawn from `seed`.
  public func generate<Scalar: TensorScalar>(
    samples: Int, seed: UInt64, as _: Scalar.Type = Float.self
  ) throws -> TaskDataset<Scalar> {
    try TaskSupport.require(steps >= 2, "adding problem: steps must be >= 2, got \(steps)")
    try TaskSupport.require(samples >= 1, "adding problem: samples must be >= 1, got \(samples)")
    var g = SeededGenerator(seed: seed ^ 0x4144_4449_4E47)
    let T = steps, half = T / 2
    var x = [Scalar](repeating: 0, count: samples * T * 2)
    var y = [Scalar](repeating: 0, count: samples)
    for n in 0..<samples {
      for t in 0..<T { x[(n * T + t) * 2] = Scalar(g.nextUnit()) }
      let a = TaskSupport.uniform(half, &g), b = half + TaskSupport.uniform(T - half, &g)
      x[(n * T + a) * 2 + 1] = 1
      x[(n * T + b) * 2 + 1] = 1
      // The target from the stored (rounded) values, so it is exact in Scalar.
      y[n] = Scalar(Double(x[(n * T + a) * 2]) + Double(x[(n * T + b) * 2]))
    }
    return TaskDataset(x: Tensor(shape: [samples, T, 2], scalars: x), y: Tensor(shape: [samples, 1], scalars: y))
  }
}
