/// Binary crossentropy, Keras `BinaryCrossentropy(from_logits:)`, for targets in [0, 1] of the
/// prediction's shape (independent yes/no outputs, e.g. [B, 1] or [B, T, K]).
///
/// From logits x (the default; stable for any x, including ±1e8):
///
///     l(x, y) = max(x, 0) - x y + log1p(exp(-|x|))      dl/dx = sigmoid(x) - y
///
/// From probabilities p (Keras: clip to [eps, 1 - eps], eps = 1e-7, so p = 0 and p = 1 stay finite):
///
///     r = clip(p, eps, 1 - eps)
///     l(p, y) = -(y log r + (1 - y) log(1 - r))     dl/dp = (r - y) / (r (1 - r)) inside the clip range, else 0
///
/// L is the mean of l over all elements. Masks as for `MeanSquaredError`.
public struct BinaryCrossentropy: ElementwiseLoss {
  /// Whether predictions are logits (`true`) or probabilities in [0, 1] (`false`).
  public let fromLogits: Bool

  public var name: String { "binary_crossentropy" }

  public init(fromLogits: Bool = true) {
    self.fromLogits = fromLogits
  }

  public func elementLoss(prediction x: Double, target y: Double) -> (value: Double, derivative: Double) {
    if fromLogits {
      let e = _exp(-abs(x))  // in (0, 1]: never overflows
      let sigmoid = x >= 0 ? 1 / (1 + e) : e / (1 + e)
      return (max(x, 0) - x * y + _log1p(e), sigmoid - y)
    }
    let eps = lossProbabilityEpsilon
    let r = min(max(x, eps), 1 - eps)
    // TensorFlow's clip passes the gradient on the closed range [eps, 1 - eps].
    let inside = x >= eps && x <= 1 - eps
    return (-(y * _log(r) + (1 - y) * _log(1 - r)), inside ? -y / r + (1 - y) / (1 - r) : 0)
  }
}
