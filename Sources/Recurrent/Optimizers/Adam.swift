/// Adam (Kingma & Ba), Keras 3 formula with the bias correction folded into the step size:
///
///     t    = iterations + 1
///     lr_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t)
///     m    = beta1 m + (1 - beta1) g
///     v    = beta2 v + (1 - beta2) g^2
///     amsgrad: v_hat = max(v_hat, v), used in place of v below
///     w   -= lr_t * m / (sqrt(v) + epsilon)
///
/// (epsilon sits outside the bias correction, as in Keras; PyTorch's eps is scaled differently.)
/// `weightDecay` is decoupled (`w -= lr * weightDecay * w` first): that is `AdamW`.
///
/// State: "momentum" (m), "velocity" (v), and "velocity_hat" with amsgrad.
public final class Adam: ConfigurableOptimizer {
  public var name: String { "adam" }
  public var learningRate: Double
  public let beta1: Double
  public let beta2: Double
  public let epsilon: Double
  public let amsgrad: Bool
  public var options: OptimizerOptions
  public var iterations = 0
  private var slots: OptimizerSlots

  public init(
    learningRate: Double = 0.001, beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-7,
    amsgrad: Bool = false, weightDecay: Double = 0,
    clipValue: Double? = nil, clipNorm: Double? = nil, globalClipNorm: Double? = nil,
    schedule: (any LearningRateSchedule)? = nil
  ) {
    precondition(beta1 >= 0 && beta1 < 1, "Adam: beta1 must be in [0, 1), got \(beta1)")
    precondition(beta2 >= 0 && beta2 < 1, "Adam: beta2 must be in [0, 1), got \(beta2)")
    self.learningRate = learningRate
    self.beta1 = beta1
    self.beta2 = beta2
    self.epsilon = epsilon
    self.amsgrad = amsgrad
    self.options = OptimizerOptions(
      clipValue: clipValue, clipNorm: clipNorm, globalClipNorm: globalClipNorm, weightDecay: weightDecay,
      schedule: schedule)
    self.slots = OptimizerSlots(
      owner: "adam", [("momentum", 0), ("velocity", 0)] + (amsgrad ? [("velocity_hat", 0)] : []))
  }

  public var stateBuffers: [String: [Double]] {
    get { slots.named }
    set { slots.restore(newValue) }
  }

  @_specialize(where S == Float)
  @_specialize(where S == Double)
  public func step<S: TensorScalar>(_ store: ParameterStore<S>) {
    let s = prepareStep(store)
    let n = store.count, b1 = beta1, b2 = beta2, eps = epsilon, amsgrad = self.amsgrad
    let t = Double(s.count)
    let alpha = s.learningRate * (1 - _pow(b2, t)).squareRoot() / (1 - _pow(b1, t))
    slots.prepare(count: n)
    slots.withBase { state in
      let m = state, v = state + n, vHat = state + 2 * n
      store.withBuffers { p, g in
        for i in 0..<n {
          var w = s.decayed(Double(p[i]))
          let gi = Double(g[i])
          m[i] += (gi - m[i]) * (1 - b1)
          v[i] += (gi * gi - v[i]) * (1 - b2)
          var vi = v[i]
          if amsgrad {
            vHat[i] = max(vHat[i], vi)
            vi = vHat[i]
          }
          w -= m[i] * alpha / (vi.squareRoot() + eps)
          p[i] = S(w)
        }
      }
    }
    iterations += 1
  }
}
