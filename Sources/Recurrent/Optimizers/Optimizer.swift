/// Updates a model's parameters from their gradients, one flat pass over the store.
///
/// Optimizer state (moments, accumulators) lives in flat `[Double]` buffers parallel to
/// `store.params`, created on the first `step`, so a checkpoint saves it as a few arrays and
/// exact resume is possible. Updates are computed in Double and written back in the store's
/// scalar type.
public protocol Optimizer: AnyObject {
  /// A short name for logs and checkpoints ("adam").
  var name: String { get }
  /// The base learning rate; a schedule, if set, scales from it.
  var learningRate: Double { get set }
  /// Number of `step` calls so far (Adam's bias correction uses it; schedules read it).
  var iterations: Int { get set }
  /// Named flat state buffers (e.g. "m", "v"), each `store.count` long once stepped.
  var stateBuffers: [String: [Double]] { get set }

  /// Applies one update to `store.params` using `store.grads` (gradient clipping, weight
  /// decay and the learning-rate schedule as configured), then increments `iterations`.
  /// Does not zero the gradients.
  func step<S: TensorScalar>(_ store: ParameterStore<S>)
}
