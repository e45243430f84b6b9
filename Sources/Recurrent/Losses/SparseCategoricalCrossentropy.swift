/// Sparse categorical crossentropy, Keras `SparseCategoricalCrossentropy(from_logits:)`: the
/// target holds class indices (whole numbers stored as scalars) instead of one-hot vectors.
///
/// Shapes: prediction [..., C] (class axis last), target the prediction's shape without the
/// class axis ([B] for [B, C], [B, T] for [B, T, C]); a trailing axis of 1 ([B, 1], [B, T, 1])
/// is accepted as Keras does. Per position with class k, from logits x (the default):
///
///     l = lse(x) - x_k = (m - x_k) + log sum_c exp(x_c - m),  m = max_c x_c
///     dl/dx_c = softmax(x)_c - [c == k]
///
/// From probabilities p, exactly as Keras's TensorFlow backend: clip to [eps, 1 - eps]
/// (eps = 1e-7), take the log, and apply the logits formula to it, i.e.
///
///     r = clip(p, eps, 1 - eps),  l = -log(r_k / sum_c r_c)
///     dl/dp_c = 1 / sum r - [c == k] / r_k inside the clip range, else 0
///
/// (for rows that sum to 1 inside the clip range this is -log p_k). L is the mean of l over
/// positions; masks as for `CategoricalCrossentropy`.
///
/// - Throws: `RecurrentError.invalidData` naming the position and value of the first index
///   that is not a whole number in 0..<C.
public struct SparseCategoricalCrossentropy: Loss {
  /// Whether predictions are logits (`true`) or probabilities (`false`).
  public let fromLogits: Bool

  public var name: String { "sparse_categorical_crossentropy" }

  public init(fromLogits: Bool = true) {
    self.fromLogits = fromLogits
  }

  @_specialize(where S == Float)
  @_specialize(where S == Double)
  public func compute<S: TensorScalar>(
    prediction: Tensor<S>, target: Tensor<S>, mask: Tensor<S>?
  ) throws -> (value: Double, gradient: Tensor<S>) {
    let C = try LossSupport.classCount(name, prediction: prediction.shape)
    let positionShape = Array(prediction.shape.dropLast())
    guard target.shape == positionShape || target.shape == positionShape + [1] else {
      throw RecurrentError.shapeMismatch(
        "\(name) expects class indices of shape \(positionShape) for a prediction of shape "
          + "\(prediction.shape), got \(target.shape)")
    }
    // Every index is validated, masked or not: a bad index is bad data either way.
    let labels = try target.scalars.enumerated().map { i, value in
      let k = Double(value)
      guard k >= 0, k < Double(C), k.rounded(.towardZero) == k else {
        throw RecurrentError.invalidData(
          "\(name): target\(LossSupport.multiIndex(i, shape: target.shape)) = \(k) is not a class index in 0..<\(C)")
      }
      return Int(k)
    }
    let fromLogits = self.fromLogits, eps = lossProbabilityEpsilon
    return try LossSupport.reduce(
      name, prediction: prediction, mask: mask, elementShape: Array(prediction.shape.dropLast())
    ) { position, x, dx, g in
      let k = labels[position]
      if fromLogits {
        let (m, sum, logSum) = LossSupport.shiftedExp(x, count: C, into: dx)
        for c in 0..<C {
          let softmax = Double(dx[c]) / sum
          dx[c] = S(g * (c == k ? softmax - 1 : softmax))
        }
        return (m - Double(x[k])) + logSum
      }
      var rSum = 0.0
      for c in 0..<C { rSum += min(max(Double(x[c]), eps), 1 - eps) }
      let rk = min(max(Double(x[k]), eps), 1 - eps)
      for c in 0..<C {
        let p = Double(x[c])
        let inside = p >= eps && p <= 1 - eps
        dx[c] = inside ? S(g * (1 / rSum - (c == k ? 1 / rk : 0))) : 0
      }
      return _log(rSum) - _log(rk)
    }
  }
}
