/// Stochastic gradient descent with optional (Nesterov) momentum, Keras 3 semantics:
///
///     momentum == 0:   w -= lr * g
///     otherwise:       v = momentum * v - lr * g
///                      w += v                              (nesterov: w += momentum * v - lr * g)
///
/// (PyTorch keeps v = momentum * v + g and steps by lr * v, which differs when lr changes
/// between steps; with a constant lr the two give the same weights.) `weightDecay` is decoupled
/// (`w -= lr * weightDecay * w` first), as for every optimizer here; see `OptimizerOptions`.
///
/// State: "momentum" (only when momentum != 0).
public final class SGD: ConfigurableOptimizer {
  public var name: String { "sgd" }
  public var learningRate: Double
  public let momentum: Double
  public let nesterov: Bool
  public var options: OptimizerOptions
  public var iterations = 0
  private var slots: OptimizerSlots

  public init(
    learningRate: Double = 0.01, momentum: Double = 0, nesterov: Bool = false, weightDecay: Double = 0,
    clipValue: Double? = nil, clipNorm: Double? = nil, globalClipNorm: Double? = nil,
    schedule: (any LearningRateSchedule)? = nil
  ) {
    precondition(momentum >= 0 && momentum <= 1, "SGD: momentum must be in [0, 1], got \(momentum)")
    self.learningRate = learningRate
    self.momentum = momentum
    self.nesterov = nesterov
    self.options = OptimizerOptions(
      clipValue: clipValue, clipNorm: clipNorm, globalClipNorm: globalClipNorm, weightDecay: weightDecay,
      schedule: schedule)
    self.slots = OptimizerSlots(owner: "sgd", momentum != 0 ? [("momentum", 0)] : [])
  }

  public var stateBuffers: [String: [Double]] {
    get { slots.named }
    set { slots.restore(newValue) }
  }

  @_specialize(where S == Float)
  @_specialize(where S == Double)
  public func step<S: TensorScalar>(_ store: ParameterStore<S>) {
    let s = prepareStep(store)
    let n = store.count, lr = s.learningRate, mu = momentum, nesterov = self.nesterov
    slots.prepare(count: n)
    slots.withBase { v in
      store.withBuffers { p, g in
        for i in 0..<n {
          var w = s.decayed(Double(p[i]))
          let gi = Double(g[i])
          if mu == 0 {
            w -= lr * gi
          } else {
            v[i] = mu * v[i] - lr * gi
            w += nesterov ? mu * v[i] - lr * gi : v[i]
          }
          p[i] = S(w)
        }
      }
    }
    iterations += 1
  }
}
