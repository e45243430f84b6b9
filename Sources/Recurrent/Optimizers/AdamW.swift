/// Adam with decoupled weight decay (Loshchilov & Hutter), Keras 3 `AdamW`:
///
///     w -= lr * weightDecay * w        (lr after the schedule, before the Adam update)
///     then the `Adam` update
///
/// It is `Adam(weightDecay:)` with a default decay of 0.004 and the name "adamw"; state buffers
/// are Adam's ("momentum", "velocity", "velocity_hat" with amsgrad).
public final class AdamW: ConfigurableOptimizer {
  private let adam: Adam

  public var name: String { "adamw" }

  public init(
    learningRate: Double = 0.001, weightDecay: Double = 0.004, beta1: Double = 0.9, beta2: Double = 0.999,
    epsilon: Double = 1e-7, amsgrad: Bool = false,
    clipValue: Double? = nil, clipNorm: Double? = nil, globalClipNorm: Double? = nil,
    schedule: (any LearningRateSchedule)? = nil
  ) {
    adam = Adam(
      learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon, amsgrad: amsgrad,
      weightDecay: weightDecay, clipValue: clipValue, clipNorm: clipNorm, globalClipNorm: globalClipNorm,
      schedule: schedule)
  }

  public var beta1: Double { adam.beta1 }
  public var beta2: Double { adam.beta2 }
  public var epsilon: Double { adam.epsilon }
  public var amsgrad: Bool { adam.amsgrad }
  public var weightDecay: Double {
    get { adam.options.weightDecay }
    set { adam.options.weightDecay = newValue }
  }

  public var learningRate: Double {
    get { adam.learningRate }
    set { adam.learningRate = newValue }
  }
  public var iterations: Int {
    get { adam.iterations }
    set { adam.iterations = newValue }
  }
  public var options: OptimizerOptions {
    get { adam.options }
    set { adam.options = newValue }
  }
  public var stateBuffers: [String: [Double]] {
    get { adam.stateBuffers }
    set { adam.stateBuffers = newValue }
  }

  public func step<S: TensorScalar>(_ store: ParameterStore<S>) {
    adam.step(store)
  }
}
