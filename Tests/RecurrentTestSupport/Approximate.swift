import Recurrent

/// Approximate equality for test assertions.
///
/// `a ≈ b` when |a - b| <= absolute + relative * max(|a|, |b|): the absolute term handles values
/// near zero, the relative term large ones.
public func isApproximatelyEqual<S: BinaryFloatingPoint>(
  _ a: S, _ b: S, absolute: S, relative: S = 0
) -> Bool {
  if a.isNaN || b.isNaN { return false }
  return abs(a - b) <= absolute + relative * max(abs(a), abs(b))
}

/// The largest |a[i] - b[i]| (infinity if the lengths differ or a NaN appears).
public func maxAbsoluteDifference<S: BinaryFloatingPoint>(_ a: [S], _ b: [S]) -> Double {
  guard a.count == b.count else { return .infinity }
  var worst = 0.0
  for (x, y) in zip(a, b) {
    let d = Double(abs(x - y))
    if d.isNaN { return .infinity }
    worst = max(worst, d)
  }
  return worst
}

/// The largest |a[i] - b[i]| between two tensors of the same shape (infinity otherwise).
public func maxAbsoluteDifference<S: TensorScalar>(_ a: Tensor<S>, _ b: Tensor<S>) -> Double {
  guard a.shape == b.shape else { return .infinity }
  return maxAbsoluteDifference(a.scalars, b.scalars)
}
