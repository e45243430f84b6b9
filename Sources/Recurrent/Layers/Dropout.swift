/// Inverted dropout (Keras `Dropout`): in training each element is zeroed with probability
/// `rate` and the survivors are scaled by 1 / (1 - rate), so the expected value is unchanged
/// and inference is the identity.
///
///     training:   m_i = [u_i >= rate] / (1 - rate),  u_i ~ U[0, 1) from context.generator
///                 y = x * m                               x, y [B, ...] (any shape)
///     inference:  y = x
///     backward:   dx = dy * m  (the mask of the last forward; dx = dy after inference)
///
/// No parameters. Masks are drawn from `context.generator`, so a seeded context reproduces them.
public final class DropoutLayer<Scalar: TensorScalar>: Layer {
  public let rate: Double
  private let mask = WorkspaceBuffer<Scalar>()  // m, saved by forward
  private var maskedCount = -1  // elements covered by `mask`; -1 after an identity forward
  private var shape: [Int] = []

  /// Drops each element with probability `rate` (0 <= rate < 1) while training.
  public init(rate: Double) { self.rate = rate }

  public var kind: String { "dropout" }

  public func build(
    inputShape: [Int], store: ParameterStore<Scalar>, name: String, generator: inout SeededGenerator
  ) throws -> [Int] {
    try LayerSupport.require(rate >= 0 && rate < 1, "Dropout(rate: \(rate)): rate must be in [0, 1)")
    return inputShape
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func forward(_ x: Tensor<Scalar>, context: LayerContext<Scalar>) -> Tensor<Scalar> {
    shape = x.shape
    guard context.training, rate > 0 else {
      maskedCount = -1
      return x  // y = x
    }
    let n = x.count
    let m = mask.reserve(n)
    let scale = Scalar(1 / (1 - rate))
    // m_i = [u_i >= rate] / (1 - rate)
    for i in 0..<n { m[i] = context.generator.nextUnit() >= rate ? scale : 0 }
    var y = x
    // y = x * m
    y.withMutableLayerBuffer { yp in for i in 0..<n { yp[i] *= m[i] } }
    maskedCount = n
    return y
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func backward(_ dY: Tensor<Scalar>) -> Tensor<Scalar> {
    precondition(dY.shape == shape, "Dropout.backward: gradient must be \(shape), got \(dY.shape)")
    guard maskedCount >= 0 else { return dY }  // reverses y = x
    let m = mask.pointer
    var dX = dY
    // reverses y = x * m:  dx = dy * m
    dX.withMutableLayerBuffer { dx in for i in 0..<maskedCount { dx[i] *= m[i] } }
    return dX
  }
}

/// `Dropout` in `Float`, as Keras names it.
public typealias Dropout = DropoutLayer<Float>
