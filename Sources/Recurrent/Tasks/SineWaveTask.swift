#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#elseif canImport(ucrt)
import ucrt
#endif

/// Waveform prediction: from a window of `steps` samples of a random mixture of sine waves,
/// predict the value `horizon` steps after the window.
///
/// Each sample draws `components` sines with frequency f ~ U(`minFrequency`, `maxFrequency`)
/// (cycles per step), phase ~ U(0, 2π) and amplitude ~ U(0.5, 1) / `components`, plus
/// optional Gaussian noise of standard deviation `noise` on the inputs only:
///
///     s_n(t) = Σ_k a_k sin(2π f_k t + φ_k)
///     x [N, T, 1]:  x[n, t, 0] = s_n(t) + ε
///     y [N, 1]:     y[n] = s_n(T - 1 + horizon)
///
/// Baselines (`baselines(of:)`): predicting the mean of the targets scores their variance;
/// repeating the last input ("persistence", the naive forecast) scores the mean squared
/// change over `horizon` steps. A model that learns the waveform beats both by far.
public struct SineWaveTask: Sendable, Equatable {
  /// Window length T (>= 1).
  public var steps: Int
  /// Steps ahead to predict (>= 1).
  public var horizon: Int
  /// Sines per sample (>= 1).
  public var components: Int
  public var minFrequency: Double
  public var maxFrequency: Double
  /// Standard deviation of the noise added to the inputs.
  public var noise: Double

  public init(
    steps: Int = 50, horizon: Int = 1, components: Int = 2, minFrequency: Double = 0.01, maxFrequency: Double = 0.1,
    noise: Double = 0
  ) {
    self.steps = steps
    self.horizon = horizon
    self.components = components
    self.minFrequency = minFrequency
    self.maxFrequency = maxFrequency
    self.noise = noise
  }

  public func generate<Scalar: TensorScalar>(
    samples: Int, seed: UInt64, as _: Scalar.Type = Float.self
  ) throws -> TaskDataset<Scalar> {
    try TaskSupport.require(steps >= 1, "sine: steps must be >= 1, got \(steps)")
    try TaskSupport.require(horizon >= 1, "sine: horizon must be >= 1, got \(horizon)")
    try TaskSupport.require(components >= 1, "sine: components must be >= 1, got \(components)")
    try TaskSupport.require(
      minFrequency > 0 && minFrequency <= maxFrequency && maxFrequency <= 0.5,
      "sine: need 0 < minFrequency <= maxFrequency <= 0.5 cycles per step, got \(minFrequency), \(maxFrequency)")
    try TaskSupport.require(noise >= 0, "sine: noise must be >= 0, got \(noise)")
    try TaskSupport.require(samples >= 1, "sine: samples must be >= 1, got \(samples)")
    var g = SeededGenerator(seed: seed ^ 0x5349_4E45)
    let T = steps
    var x = [Scalar](repeating: 0, count: samples * T)
    var y = [Scalar](repeating: 0, count: samples)
    for n in 0..<samples {
      let waves = (0..<components).map { _ in
        (
          f: minFrequency + (maxFrequency - minFrequency) * g.nextUnit(), phase: 2 * Double.pi * g.nextUnit(),
          a: (0.5 + 0.5 * g.nextUnit()) / Double(components)
        )
      }
      func s(_ t: Int) -> Double { waves.reduce(0) { $0 + $1.a * sin(2 * Double.pi * $1.f * Double(t) + $1.phase) } }
      for t in 0..<T { x[n * T + t] = Scalar(s(t) + (noise > 0 ? noise * g.nextNormal() : 0)) }
      y[n] = Scalar(s(T - 1 + horizon))
    }
    return TaskDataset(x: Tensor(shape: [samples, T, 1], scalars: x), y: Tensor(shape: [samples, 1], scalars: y))
  }

  /// MSE of predicting the targets' mean, and of repeating the last input.
  public static func baselines<Scalar: TensorScalar>(of data: TaskDataset<Scalar>) -> (mean: Double, lastValue: Double) {
    let N = data.count, T = data.steps
    let ys = data.y.scalars.map { Double($0) }
    let mean = ys.reduce(0, +) / Double(N)
    var v = 0.0, last = 0.0
    for n in 0..<N {
      v += (ys[n] - mean) * (ys[n] - mean)
      let d = ys[n] - Double(data.x.scalars[n * T + T - 1])
      last += d * d
    }
    return (v / Double(N), last / Double(N))
  }
}
