/// Mean absolute error, Keras `MeanAbsoluteError`:
///
///     L = mean_e |prediction_e - target_e|            dL/dprediction_e = sign(prediction_e - target_e) / N
///
/// over all N elements, with sign(0) = 0 (as TensorFlow's subgradient). Masks as for
/// `MeanSquaredError`.
public struct MeanAbsoluteError: ElementwiseLoss {
  public var name: String { "mean_absolute_error" }

  public init() {}

  public func elementLoss(prediction x: Double, target y: Double) -> (value: Double, derivative: Double) {
    let e = x - y
    return (abs(e), e > 0 ? 1 : (e < 0 ? -1 : 0))
  }
}
