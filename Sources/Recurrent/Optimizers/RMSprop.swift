/// RMSprop (Hinton), Keras 3 formula (epsilon inside the square root):
///
///     v = rho v + (1 - rho) g^2
///     centered:  a = rho a + (1 - rho) g;   d = v - a^2 + epsilon
///     otherwise: d = v + epsilon
///     step = lr * g / sqrt(d)
///     momentum > 0:  s = momentum * s + step;  w -= s
///     otherwise:     w -= step
///
/// `weightDecay` is decoupled (`w -= lr * weightDecay * w` first); see `OptimizerOptions`.
///
/// State: "velocity" (v), "momentum" (s, when momentum > 0), "average_gradient" (a, when centered).
public final class RMSprop: ConfigurableOptimizer {
  public var name: String { "rmsprop" }
  public var learningRate: Double
  public let rho: Double
  public let momentum: Double
  public let epsilon: Double
  public let centered: Bool
  public var options: OptimizerOptions
  public var iterations = 0
  private var slots: OptimizerSlots

  public init(
    learningRate: Double = 0.001, rho: Double = 0.9, momentum: Double = 0, epsilon: Double = 1e-7,
    centered: Bool = false, weightDecay: Double = 0,
    clipValue: Double? = nil, clipNorm: Double? = nil, globalClipNorm: Double? = nil,
    schedule: (any LearningRateSchedule)? = nil
  ) {
    precondition(rho >= 0 && rho < 1, "RMSprop: rho must be in [0, 1), got \(rho)")
    precondition(momentum >= 0, "RMSprop: momentum must be >= 0, got \(momentum)")
    self.learningRate = learningRate
    self.rho = rho
    self.momentum = momentum
    self.epsilon = epsilon
    self.centered = centered
    self.options = OptimizerOptions(
      clipValue: clipValue, clipNorm: clipNorm, globalClipNorm: globalClipNorm, weightDecay: weightDecay,
      schedule: schedule)
    self.slots = OptimizerSlots(
      owner: "rmsprop",
      [("velocity", 0)] + (momentum > 0 ? [("momentum", 0)] : []) + (centered ? [("average_gradient", 0)] : []))
  }

  public var stateBuffers: [String: [Double]] {
    get { slots.named }
    set { slots.restore(newValue) }
  }

  @_specialize(where S == Float)
  @_specialize(where S == Double)
  public func step<S: TensorScalar>(_ store: ParameterStore<S>) {
    let s = prepareStep(store)
    let n = store.count, lr = s.learningRate, rho = self.rho, mu = momentum, eps = epsilon
    let centered = self.centered
    slots.prepare(count: n)
    slots.withBase { state in
      let v = state
      let mom = state + (mu > 0 ? n : 0)  // only touched when mu > 0
      let avg = state + (mu > 0 ? 2 * n : n)  // only touched when centered
      store.withBuffers { p, g in
        for i in 0..<n {
          var w = s.decayed(Double(p[i]))
          let gi = Double(g[i])
          v[i] = rho * v[i] + (1 - rho) * (gi * gi)
          var d = v[i] + eps
          if centered {
            avg[i] = rho * avg[i] + (1 - rho) * gi
            d = v[i] - avg[i] * avg[i] + eps
          }
          let increment = lr * gi / d.squareRoot()
          if mu > 0 {
            mom[i] = mu * mom[i] + increment
            w -= mom[i]
          } else {
            w -= increment
          }
          p[i] = S(w)
        }
      }
    }
    iterations += 1
  }
}
