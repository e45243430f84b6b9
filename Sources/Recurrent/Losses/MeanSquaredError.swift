/// Mean squared error, Keras `MeanSquaredError`:
///
///     L = mean_e (prediction_e - target_e)^2          dL/dprediction_e = 2 (prediction_e - target_e) / N
///
/// over all N elements (a [B, T, F] prediction averages B*T*F squares). With a [B] or [B, T] mask,
/// masked rows/steps contribute neither value nor gradient and the mean is over the unmasked
/// elements (Keras: sum(loss * mask) / sum(mask) over per-step means).
public struct MeanSquaredError: ElementwiseLoss {
  public var name: String { "mean_squared_error" }

  public init() {}

  public func elementLoss(prediction x: Double, target y: Double) -> (value: Double, derivative: Double) {
    let e = x - y
    return (e * e, 2 * e)
  }
}
