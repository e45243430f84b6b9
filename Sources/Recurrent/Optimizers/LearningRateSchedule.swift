/// A learning rate as a function of the optimizer step, scaled from the optimizer's base rate.
///
/// `step` is the optimizer's `iterations` before the update: the first update uses step 0
/// (as Keras, whose schedules read `optimizer.iterations`).
public protocol LearningRateSchedule: Sendable {
  /// The learning rate for `step` (>= 0) given the optimizer's base learning rate `base`.
  func learningRate(base: Double, step: Int) -> Double
}

/// Multiplies the rate by `gamma` every `stepSize` steps (PyTorch `StepLR`):
///
///     lr(step) = base * gamma ^ floor(step / stepSize)
public struct StepDecay: LearningRateSchedule {
  public let stepSize: Int
  public let gamma: Double

  public init(stepSize: Int, gamma: Double) {
    precondition(stepSize > 0, "StepDecay: stepSize must be > 0, got \(stepSize)")
    self.stepSize = stepSize
    self.gamma = gamma
  }

  public func learningRate(base: Double, step: Int) -> Double {
    base * _pow(gamma, Double(step / stepSize))
  }
}

/// Keras `ExponentialDecay`:
///
///     p = step / decaySteps              (floor(step / decaySteps) when staircase)
///     lr(step) = base * decayRate ^ p
public struct ExponentialDecay: LearningRateSchedule {
  public let decaySteps: Int
  public let decayRate: Double
  public let staircase: Bool

  public init(decaySteps: Int, decayRate: Double, staircase: Bool = false) {
    precondition(decaySteps > 0, "ExponentialDecay: decaySteps must be > 0, got \(decaySteps)")
    self.decaySteps = decaySteps
    self.decayRate = decayRate
    self.staircase = staircase
  }

  public func learningRate(base: Double, step: Int) -> Double {
    var p = Double(step) / Double(decaySteps)
    if staircase { p = p.rounded(.down) }
    return base * _pow(decayRate, p)
  }
}

/// Keras `CosineDecay` (without its warm-up; wrap it in `WarmUp` for one): half a cosine from
/// `base` down to `alpha * base` over `decaySteps`, then constant.
///
///     s = min(step, decaySteps)
///     lr(step) = base * ((1 - alpha) * 0.5 * (1 + cos(pi * s / decaySteps)) + alpha)
public struct CosineDecay: LearningRateSchedule {
  public let decaySteps: Int
  /// The final rate as a fraction of `base`.
  public let alpha: Double

  public init(decaySteps: Int, alpha: Double = 0) {
    precondition(decaySteps > 0, "CosineDecay: decaySteps must be > 0, got \(decaySteps)")
    self.decaySteps = decaySteps
    self.alpha = alpha
  }

  public func learningRate(base: Double, step: Int) -> Double {
    let fraction = Double(min(step, decaySteps)) / Double(decaySteps)
    let cosine = 0.5 * (1 + _cos(Double.pi * fraction))
    return base * ((1 - alpha) * cosine + alpha)
  }
}

/// Linear warm-up from 0 to `base` over `steps` steps, then `then` (or the constant `base`),
/// started afresh: the wrapped schedule sees `step - steps`.
///
///     lr(step) = base * step / steps                       for step < steps (0 at step 0)
///              = then.learningRate(base, step - steps)     otherwise
///
/// As Keras's `CosineDecay(warmup_steps:)` with initial rate 0: the very first update has
/// learning rate 0 (it still feeds the optimizer's moment estimates).
public struct WarmUp: LearningRateSchedule {
  public let steps: Int
  public let then: (any LearningRateSchedule)?

  public init(steps: Int, then: (any LearningRateSchedule)? = nil) {
    precondition(steps >= 0, "WarmUp: steps must be >= 0, got \(steps)")
    self.steps = steps
    self.then = then
  }

  public func learningRate(base: Double, step: Int) -> Double {
    if step < steps { return base * Double(step) / Double(steps) }
    return then?.learningRate(base: base, step: step - steps) ?? base
  }
}
