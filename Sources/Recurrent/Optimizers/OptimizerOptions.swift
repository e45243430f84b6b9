#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#elseif canImport(ucrt)
import ucrt
#endif

@inline(__always) func _pow(_ x: Double, _ y: Double) -> Double { pow(x, y) }

/// The settings every optimizer accepts besides its update rule (Keras 3's base-optimizer
/// arguments). `ConfigurableOptimizer.prepareStep` applies them before each update, in this order:
///
/// 1. `clipValue`: each gradient element clipped to [-clipValue, clipValue];
/// 2. `clipNorm`: each parameter tensor's gradient g scaled by clipNorm / ||g|| where ||g|| > clipNorm
///    (Keras `clipnorm`);
/// 3. `globalClipNorm`: all gradients scaled by globalClipNorm / ||g||_global where the global L2
///    norm over the whole store exceeds it (Keras `global_clipnorm`, PyTorch `clip_grad_norm_`);
/// 4. the learning rate of this step: `schedule?.learningRate(base: learningRate, step: iterations)`,
///    or `learningRate` without a schedule;
/// 5. `weightDecay` (decoupled, Keras 3 / AdamW style, for every optimizer): `w -= lr * weightDecay * w`
///    before the update rule, with the scheduled lr. It is not an L2 term added to the gradient.
///
/// Keras allows only one of the three clipping options; here they compose in the order above.
/// Clipping modifies `store.grads` in place, so after `step` the store holds the clipped gradients.
public struct OptimizerOptions: Sendable {
  /// Clip every gradient element to [-clipValue, clipValue] (> 0), or nil.
  public var clipValue: Double?
  /// Rescale each parameter tensor's gradient to L2 norm at most clipNorm (> 0), or nil.
  public var clipNorm: Double?
  /// Rescale all gradients together to a global L2 norm at most globalClipNorm (> 0), or nil.
  public var globalClipNorm: Double?
  /// Decoupled weight decay factor (0 disables it).
  public var weightDecay: Double
  /// Scales the base learning rate by step; nil keeps it constant.
  public var schedule: (any LearningRateSchedule)?

  public init(
    clipValue: Double? = nil, clipNorm: Double? = nil, globalClipNorm: Double? = nil,
    weightDecay: Double = 0, schedule: (any LearningRateSchedule)? = nil
  ) {
    for (label, value) in [("clipValue", clipValue), ("clipNorm", clipNorm), ("globalClipNorm", globalClipNorm)] {
      if let value { precondition(value > 0, "OptimizerOptions: \(label) must be > 0, got \(value)") }
    }
    precondition(weightDecay >= 0, "OptimizerOptions: weightDecay must be >= 0, got \(weightDecay)")
    self.clipValue = clipValue
    self.clipNorm = clipNorm
    self.globalClipNorm = globalClipNorm
    self.weightDecay = weightDecay
    self.schedule = schedule
  }
}

/// What an update rule needs from `prepareStep` for one step.
public struct OptimizerStep: Sendable {
  /// The learning rate of this step (after the schedule).
  public var learningRate: Double
  /// The decoupled weight decay factor; `decayed(_:)` applies it.
  public var weightDecay: Double
  /// 1-based number of this step (`iterations + 1`), as Keras's `local_step`.
  public var count: Int

  /// `w - w * weightDecay * learningRate` (Keras's arithmetic order), the first thing each
  /// update rule does to a weight.
  @inline(__always) public func decayed(_ w: Double) -> Double {
    weightDecay == 0 ? w : w - w * weightDecay * learningRate
  }
}

/// An optimizer whose clipping, schedule and weight decay come from a shared `OptimizerOptions`;
/// conforming types only write their update rule.
public protocol ConfigurableOptimizer: Optimizer {
  var options: OptimizerOptions { get set }
}

extension ConfigurableOptimizer {
  /// The learning rate the next `step` will use: the schedule at `iterations`, or `learningRate`.
  public var currentLearningRate: Double {
    options.schedule?.learningRate(base: learningRate, step: iterations) ?? learningRate
  }

  /// Clips `store.grads` in place as configured and returns this step's learning rate and decay.
  public func prepareStep<S: TensorScalar>(_ store: ParameterStore<S>) -> OptimizerStep {
    if let limit = options.clipValue { clipGradientValues(store, limit: limit) }
    if let maxNorm = options.clipNorm { clipParameterNorms(store, maxNorm: maxNorm) }
    if let maxNorm = options.globalClipNorm { clipGlobalNorm(store, maxNorm: maxNorm) }
    let lr = currentLearningRate
    return OptimizerStep(learningRate: lr, weightDecay: options.weightDecay, count: iterations + 1)
  }
}

/// An optimizer's state: named flat `[Double]` buffers, each as long as the parameter store,
/// kept back to back in one array and created on the first step with per-buffer initial values.
struct OptimizerSlots {
  let owner: String
  let names: [String]
  let initialValues: [Double]
  private(set) var storage: [Double] = []
  /// Elements per buffer (the store's count) once created.
  private(set) var count = 0
  private(set) var created = false

  init(owner: String, _ slots: [(name: String, initial: Double)]) {
    self.owner = owner
    self.names = slots.map(\.name)
    self.initialValues = slots.map(\.initial)
  }

  /// Creates the buffers for a store of `n` scalars, or checks that they fit it.
  mutating func prepare(count n: Int) {
    if created {
      precondition(count == n, "\(owner): optimizer state holds \(count) elements per buffer, the store has \(n)")
      return
    }
    storage = initialValues.flatMap { repeatElement($0, count: n) }
    count = n
    created = true
  }

  /// The buffers by name (empty before the first step).
  var named: [String: [Double]] {
    guard created else { return [:] }
    var result = [String: [Double]]()
    for (k, name) in names.enumerated() { result[name] = Array(storage[(k * count)..<((k + 1) * count)]) }
    return result
  }

  /// Replaces the state by `buffers` (all names, equal lengths); empty resets to "not created".
  mutating func restore(_ buffers: [String: [Double]]) {
    if buffers.isEmpty {
      storage = []
      count = 0
      created = false
      return
    }
    precondition(
      Set(buffers.keys) == Set(names),
      "\(owner): state buffers \(buffers.keys.sorted()) do not match \(names.sorted())")
    let n = buffers[names[0]]!.count
    precondition(
      names.allSatisfy { buffers[$0]!.count == n },
      "\(owner): state buffers have different lengths \(names.map { buffers[$0]!.count })")
    storage = names.flatMap { buffers[$0]! }
    count = n
    created = true
  }

  /// Calls `body` with the base of the storage; buffer k starts at `base + k * count`.
  mutating func withBase<R>(_ body: (UnsafeMutablePointer<Double>) -> R) -> R {
    storage.withUnsafeMutableBufferPointer { s in
      body(s.baseAddress ?? UnsafeMutablePointer(bitPattern: MemoryLayout<Double>.alignment)!)
    }
  }
}
