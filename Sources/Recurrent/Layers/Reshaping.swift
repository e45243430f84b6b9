/// Repeats a vector along a new time axis (Keras `RepeatVector`), e.g. to feed an encoder's
/// summary to every step of a decoder.
///
///     y[b, t, :] = x[b, :]           x [B, F]  ->  y [B, count, F]
///     backward:  dx[b, :] = Σ_t dy[b, t, :]
///
/// No parameters.
public final class RepeatVectorLayer<Scalar: TensorScalar>: Layer {
  public let count: Int
  private var batch = 0, features = 0

  /// Repeats the input `count` times.
  public init(count: Int) { self.count = count }

  public var kind: String { "repeat_vector" }

  public func build(
    inputShape: [Int], store: ParameterStore<Scalar>, name: String, generator: inout SeededGenerator
  ) throws -> [Int] {
    try LayerSupport.require(count > 0, "RepeatVector(count: \(count)): count must be positive")
    guard inputShape.count == 1 else {
      throw RecurrentError.shapeMismatch(
        "RepeatVector(count: \(count)) expects input [batch, features], got \(LayerSupport.describe(inputShape))")
    }
    return [count, inputShape[0]]
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func forward(_ x: Tensor<Scalar>, context: LayerContext<Scalar>) -> Tensor<Scalar> {
    precondition(x.rank == 2, "RepeatVector(count: \(count)) expects input [batch, features], got \(x.shape)")
    let B = x.shape[0], F = x.shape[1], T = count
    var y = Tensor<Scalar>(shape: [B, T, F])
    x.withLayerBuffer { xp in
      y.withMutableLayerBuffer { yp in
        // y[b, t, :] = x[b, :]
        for b in 0..<B { for t in 0..<T { (yp + (b * T + t) * F).update(from: xp + b * F, count: F) } }
      }
    }
    batch = B
    features = F
    context.mask = nil  // a new time axis: every step is real
    return y
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func backward(_ dY: Tensor<Scalar>) -> Tensor<Scalar> {
    let B = batch, F = features, T = count
    precondition(dY.shape == [B, T, F], "RepeatVector.backward: gradient must be \([B, T, F]), got \(dY.shape)")
    var dX = Tensor<Scalar>(shape: [B, F])
    dY.withLayerBuffer { dy in
      dX.withMutableLayerBuffer { dx in
        // reverses y[b, t, :] = x[b, :]:  dx[b, :] += dy[b, t, :]
        for b in 0..<B { for t in 0..<T { Reductions.axpy(count: F, alpha: 1, dy + (b * T + t) * F, dx + b * F) } }
      }
    }
    return dX
  }
}

/// Flattens every axis after the batch into one (Keras `Flatten`).
///
///     y = reshape(x, [B, prod(rest)])      x [B, d1, d2, ...]  ->  y [B, d1 * d2 * ...]
///     backward:  dx = reshape(dy, x.shape)
///
/// No parameters. The time axis (if any) is gone, so `context.mask` is cleared (as Keras).
public final class FlattenLayer<Scalar: TensorScalar>: Layer {
  private var inputShape: [Int] = []

  public init() {}

  public var kind: String { "flatten" }

  public func build(
    inputShape: [Int], store: ParameterStore<Scalar>, name: String, generator: inout SeededGenerator
  ) throws -> [Int] {
    [inputShape.reduce(1, *)]
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func forward(_ x: Tensor<Scalar>, context: LayerContext<Scalar>) -> Tensor<Scalar> {
    precondition(x.rank >= 1, "Flatten expects input [batch, ...], got \(x.shape)")
    inputShape = x.shape
    context.mask = nil
    return x.reshaped(to: [x.shape[0], x.shape.dropFirst().reduce(1, *)])
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func backward(_ dY: Tensor<Scalar>) -> Tensor<Scalar> {
    precondition(dY.count == inputShape.reduce(1, *), "Flatten.backward: gradient \(dY.shape) does not fit \(inputShape)")
    return dY.reshaped(to: inputShape)  // reverses the reshape
  }
}

/// `RepeatVector` in `Float`, as Keras names it.
public typealias RepeatVector = RepeatVectorLayer<Float>
/// `Flatten` in `Float`, as Keras names it.
public typealias Flatten = FlattenLayer<Float>
