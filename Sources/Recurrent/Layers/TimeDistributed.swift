/// Applies an inner layer to every time step independently (Keras `TimeDistributed`).
///
///     y[b, t] = inner(x[b, t])       x [B, T, ...]  --fold-->  [B*T, ...]  --inner-->  [B*T, ...']
///                                    --unfold-->  y [B, T, ...']
///     backward:  the same fold, inner.backward, unfold
///
/// The inner layer sees a batch of B*T rows, so its parameters are shared across steps. Only
/// needed for layers that are not already per step (`Dense` and `LayerNorm` act on the last
/// axis, so they need no wrapper). The inner layer's parameters are registered under this
/// layer's name unchanged (`<name>.weight`, ...), so checkpoints read as if it were unwrapped.
/// The inner layer runs without a mask ([B, T] does not fit its folded batch); the context's
/// mask is kept for the layers after this one.
public final class TimeDistributedLayer<Scalar: TensorScalar>: Layer {
  public let inner: any Layer<Scalar>
  private var steps = 0

  /// Wraps `inner`, which must be unbuilt.
  public init(_ inner: some Layer<Scalar>) { self.inner = inner }

  public var kind: String { "time_distributed" }

  public func build(
    inputShape: [Int], store: ParameterStore<Scalar>, name: String, generator: inout SeededGenerator
  ) throws -> [Int] {
    guard inputShape.count >= 2 else {
      throw RecurrentError.shapeMismatch(
        "TimeDistributed(\(inner.kind)) expects input [batch, steps, ...], got \(LayerSupport.describe(inputShape))")
    }
    let out = try inner.build(
      inputShape: Array(inputShape.dropFirst()), store: store, name: name, generator: &generator)
    return [inputShape[0]] + out
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func forward(_ x: Tensor<Scalar>, context: LayerContext<Scalar>) -> Tensor<Scalar> {
    precondition(x.rank >= 3, "TimeDistributed(\(inner.kind)) expects input [batch, steps, ...], got \(x.shape)")
    let B = x.shape[0], T = x.shape[1]
    steps = T
    let mask = context.mask
    context.mask = nil
    // fold [B, T, ...] -> [B*T, ...], apply, unfold
    let y = inner.forward(x.reshaped(to: [B * T] + x.shape.dropFirst(2)), context: context)
    context.mask = mask
    return y.reshaped(to: [B, T] + y.shape.dropFirst())
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func backward(_ dY: Tensor<Scalar>) -> Tensor<Scalar> {
    let B = dY.shape[0], T = steps
    precondition(dY.rank >= 2 && dY.shape[1] == T, "TimeDistributed.backward: gradient \(dY.shape) has no \(T) steps")
    // reverses the unfold, inner.forward and the fold
    let dX = inner.backward(dY.reshaped(to: [B * T] + dY.shape.dropFirst(2)))
    return dX.reshaped(to: [B, T] + dX.shape.dropFirst())
  }
}

/// `TimeDistributed` in `Float`, as Keras names it.
public typealias TimeDistributed = TimeDistributedLayer<Float>
