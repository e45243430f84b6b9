/// Adagrad (Duchi et al.), Keras 3 formula (epsilon inside the square root):
///
///     a += g^2                      (a starts at initialAccumulatorValue)
///     w -= lr * g / sqrt(a + epsilon)
///
/// `weightDecay` is decoupled (`w -= lr * weightDecay * w` first); see `OptimizerOptions`.
///
/// State: "accumulator" (a).
public final class Adagrad: ConfigurableOptimizer {
  public var name: String { "adagrad" }
  public var learningRate: Double
  public let initialAccumulatorValue: Double
  public let epsilon: Double
  public var options: OptimizerOptions
  public var iterations = 0
  private var slots: OptimizerSlots

  public init(
    learningRate: Double = 0.001, initialAccumulatorValue: Double = 0.1, epsilon: Double = 1e-7,
    weightDecay: Double = 0,
    clipValue: Double? = nil, clipNorm: Double? = nil, globalClipNorm: Double? = nil,
    schedule: (any LearningRateSchedule)? = nil
  ) {
    precondition(
      initialAccumulatorValue >= 0, "Adagrad: initialAccumulatorValue must be >= 0, got \(initialAccumulatorValue)")
    self.learningRate = learningRate
    self.initialAccumulatorValue = initialAccumulatorValue
    self.epsilon = epsilon
    self.options = OptimizerOptions(
      clipValue: clipValue, clipNorm: clipNorm, globalClipNorm: globalClipNorm, weightDecay: weightDecay,
      schedule: schedule)
    self.slots = OptimizerSlots(owner: "adagrad", [("accumulator", initialAccumulatorValue)])
  }

  public var stateBuffers: [String: [Double]] {
    get { slots.named }
    set { slots.restore(newValue) }
  }

  @_specialize(where S == Float)
  @_specialize(where S == Double)
  public func step<S: TensorScalar>(_ store: ParameterStore<S>) {
    let s = prepareStep(store)
    let n = store.count, lr = s.learningRate, eps = epsilon
    slots.prepare(count: n)
    slots.withBase { a in
      store.withBuffers { p, g in
        for i in 0..<n {
          var w = s.decayed(Double(p[i]))
          let gi = Double(g[i])
          a[i] += gi * gi
          w -= lr * gi / (a[i] + eps).squareRoot()
          p[i] = S(w)
        }
      }
    }
    iterations += 1
  }
}
