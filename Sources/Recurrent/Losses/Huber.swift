/// Huber loss, Keras `Huber(delta:)`: quadratic near zero, linear beyond `delta`.
///
///     e = prediction - target
///     l(e) = 0.5 e^2                      if |e| <= delta
///            delta (|e| - 0.5 delta)      otherwise
///     dl/de = e if |e| <= delta, else delta * sign(e)
///
/// L is the mean of l over all elements. Masks as for `MeanSquaredError`.
public struct Huber: ElementwiseLoss {
  /// Where the loss turns from quadratic to linear (> 0).
  public let delta: Double

  public var name: String { "huber_loss" }

  public init(delta: Double = 1.0) {
    precondition(delta > 0, "Huber: delta must be > 0, got \(delta)")
    self.delta = delta
  }

  public func elementLoss(prediction x: Double, target y: Double) -> (value: Double, derivative: Double) {
    let e = x - y
    if abs(e) <= delta { return (0.5 * e * e, e) }
    return (delta * abs(e) - 0.5 * delta * delta, e > 0 ? delta : -delta)
  }
}
