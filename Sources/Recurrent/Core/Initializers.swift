/// Weight initialisers, as Keras defines them.
public enum Initializer: Sendable, Equatable {
  /// All zeros.
  case zeros
  /// A constant.
  case constant(Double)
  /// U(-limit, limit) with limit = sqrt(6 / (fanIn + fanOut)) (Keras `glorot_uniform`).
  case glorotUniform
  /// A (semi-)orthogonal matrix scaled by `gain` (Keras `orthogonal`): for a [rows, cols]
  /// matrix with rows >= cols the columns are orthonormal, otherwise the rows are.
  case orthogonal(gain: Double = 1)
  /// U(lower, upper).
  case uniform(Double, Double)

  /// Values for a [rows, cols] matrix stored row-major, with the given fans.
  public func values(
    rows: Int, cols: Int, fanIn: Int, fanOut: Int, using generator: inout SeededGenerator
  ) -> [Double] {
    let count = rows * cols
    switch self {
    case .zeros:
      return Array(repeating: 0, count: count)
    case .constant(let v):
      return Array(repeating: v, count: count)
    case .glorotUniform:
      let limit = (6.0 / Double(max(1, fanIn + fanOut))).squareRoot()
      return (0..<count).map { _ in (2 * generator.nextUnit() - 1) * limit }
    case .uniform(let lower, let upper):
      return (0..<count).map { _ in lower + (upper - lower) * generator.nextUnit() }
    case .orthogonal(let gain):
      return Self.orthogonal(rows: rows, cols: cols, gain: gain, using: &generator)
    }
  }

  /// Gram-Schmidt (twice, for stability) on a Gaussian matrix: orthonormal columns if
  /// rows >= cols, orthonormal rows otherwise.
  static func orthogonal(rows: Int, cols: Int, gain: Double, using generator: inout SeededGenerator) -> [Double] {
    // Work on the "tall" orientation: n vectors of length m with m >= n.
    let tall = rows >= cols
    let m = tall ? rows : cols, n = tall ? cols : rows
    var v = (0..<(n * m)).map { _ in generator.nextNormal() }  // v[j*m + i]: vector j
    for j in 0..<n {
      for _ in 0..<2 {
        for k in 0..<j {
          var dot = 0.0
          for i in 0..<m { dot += v[j * m + i] * v[k * m + i] }
          for i in 0..<m { v[j * m + i] -= dot * v[k * m + i] }
        }
      }
      var norm = 0.0
      for i in 0..<m { norm += v[j * m + i] * v[j * m + i] }
      norm = norm.squareRoot()
      for i in 0..<m { v[j * m + i] /= norm }
    }
    var out = [Double](repeating: 0, count: rows * cols)
    for j in 0..<n {
      for i in 0..<m {
        if tall { out[i * cols + j] = gain * v[j * m + i] } else { out[j * cols + i] = gain * v[j * m + i] }
      }
    }
    return out
  }
}
