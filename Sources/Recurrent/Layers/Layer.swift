/// What a forward pass needs besides its input: the mode, randomness and the sequence mask.
public final class LayerContext<Scalar: TensorScalar> {
  /// `true` while training (dropout active), `false` for evaluation and prediction.
  public var training: Bool
  /// Draws dropout masks; seeded, so runs are reproducible.
  public var generator: SeededGenerator
  /// [B, T] with 1 for real time steps and 0 for padding, or nil when every step is real.
  /// Set by `Embedding(maskIndex:)` or the caller; recurrent layers honour it (padded steps
  /// neither change the state nor receive gradient); a layer that removes the time axis
  /// (e.g. a recurrent layer without `returnSequences`, or global pooling) sets it to nil.
  public var mask: Tensor<Scalar>?

  public init(training: Bool = false, seed: UInt64 = 0, mask: Tensor<Scalar>? = nil) {
    self.training = training
    self.generator = SeededGenerator(seed: seed)
    self.mask = mask
  }
}

/// A differentiable building block of a model, with a hand-written backward pass.
///
/// Lifecycle: `build` once (registers parameters in the model's `ParameterStore` and returns
/// the output shape), then any number of `forward` / `backward` pairs. `forward` keeps what
/// `backward` needs; `backward` takes dL/d(output), *accumulates* parameter gradients into the
/// store's `grads` and returns dL/d(input). Shapes exclude the batch axis in `build` and
/// include it (first) in `forward` / `backward`.
public protocol Layer<Scalar>: AnyObject {
  associatedtype Scalar: TensorScalar

  /// A short kind name for summaries and checkpoint metadata ("dense", "lstm", ...).
  var kind: String { get }

  /// Registers this layer's parameters in `store` under `name` (e.g. "layers.2") for inputs of
  /// `inputShape` (no batch axis) and returns the output shape (no batch axis).
  /// Throws `RecurrentError.shapeMismatch` when the input shape does not fit.
  func build(
    inputShape: [Int], store: ParameterStore<Scalar>, name: String, generator: inout SeededGenerator
  ) throws -> [Int]

  /// The layer applied to a batch; `context` gives the mode, randomness and mask.
  func forward(_ input: Tensor<Scalar>, context: LayerContext<Scalar>) -> Tensor<Scalar>

  /// dL/d(input) from dL/d(output) for the last `forward`; adds parameter gradients to the store.
  func backward(_ outputGradient: Tensor<Scalar>) -> Tensor<Scalar>
}
