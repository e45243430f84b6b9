/// Categorical crossentropy, Keras `CategoricalCrossentropy(from_logits:)`, for targets that are
/// one-hot vectors or probability distributions of the prediction's shape [..., C] (class axis last).
///
/// Per position (a [B, C] prediction has B positions, [B, T, C] has B*T), from logits x
/// (the default), with the log-sum-exp taken around the row maximum so ±1e8 stays finite:
///
///     lse = m + log sum_c exp(x_c - m),  m = max_c x_c
///     l = sum_c y_c (lse - x_c)                   dl/dx_c = softmax(x)_c * sum_k y_k - y_c
///
/// From probabilities p (Keras: renormalise, then clip to [eps, 1 - eps], eps = 1e-7):
///
///     q = p / sum_c p_c,  r = clip(q, eps, 1 - eps)
///     l = -sum_c y_c log r_c
///     dl/dq_c = -y_c / r_c inside the clip range, else 0;  dl/dp_j = (dl/dq_j - sum_c dl/dq_c q_c) / sum_c p_c
///
/// L is the mean of l over positions; a [B] or [B, T] mask weighs positions (masked ones
/// contribute neither value nor gradient; the mean is over the unmasked ones).
public struct CategoricalCrossentropy: Loss {
  /// Whether predictions are logits (`true`) or probabilities (`false`).
  public let fromLogits: Bool

  public var name: String { "categorical_crossentropy" }

  public init(fromLogits: Bool = true) {
    self.fromLogits = fromLogits
  }

  @_specialize(where S == Float)
  @_specialize(where S == Double)
  public func compute<S: TensorScalar>(
    prediction: Tensor<S>, target: Tensor<S>, mask: Tensor<S>?
  ) throws -> (value: Double, gradient: Tensor<S>) {
    let C = try LossSupport.classCount(name, prediction: prediction.shape)
    try LossSupport.checkSameShape(name, prediction: prediction.shape, target: target.shape)
    let fromLogits = self.fromLogits, eps = lossProbabilityEpsilon
    var dq = [Double](repeating: 0, count: C)
    return try target.withUnsafeBufferPointer { targets in
      try LossSupport.reduce(
        name, prediction: prediction, mask: mask, elementShape: Array(prediction.shape.dropLast())
      ) { position, x, dx, g in
        let y = targets.baseAddress! + position * C
        var l = 0.0
        if fromLogits {
          let (m, sum, logSum) = LossSupport.shiftedExp(x, count: C, into: dx)
          var ySum = 0.0
          for c in 0..<C {
            let yc = Double(y[c])
            ySum += yc
            // Skipping y_c = 0 keeps a -inf logit of an absent class from giving 0 * inf.
            if yc != 0 { l += yc * ((m - Double(x[c])) + logSum) }
          }
          for c in 0..<C {
            let softmax = Double(dx[c]) / sum
            dx[c] = S(g * (softmax * ySum - Double(y[c])))
          }
        } else {
          var pSum = 0.0
          for c in 0..<C { pSum += Double(x[c]) }
          let inverse = pSum > 0 ? 1 / pSum : 0  // an all-zero row clips to eps: finite, no gradient
          var dot = 0.0
          for c in 0..<C {
            let q = Double(x[c]) * inverse, yc = Double(y[c])
            let r = min(max(q, eps), 1 - eps)
            if yc != 0 { l -= yc * _log(r) }
            dq[c] = q >= eps && q <= 1 - eps ? -yc / r : 0
            dot += dq[c] * q
          }
          for c in 0..<C { dx[c] = S(g * (dq[c] - dot) * inverse) }
        }
        return l
      }
    }
  }
}
