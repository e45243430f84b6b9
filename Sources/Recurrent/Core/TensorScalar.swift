import CRecurrentKernels

/// The element types Recurrent computes in: `Float` for speed, `Double` for gradient checks.
///
/// Each conforming type routes the hot kernels (GEMM and the vectorised activations) to the
/// matching C routine in `CRecurrentKernels`, so generic code specialises to a direct call.
public protocol TensorScalar: BinaryFloatingPoint, Sendable, Codable
where Self.RawSignificand: FixedWidthInteger {
  /// Row-major GEMM: `C[m, n] = alpha * op(A)[m, k] * op(B)[k, n] + beta * C`.
  /// `beta == 0` overwrites `C` without reading it.
  static func gemm(
    transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
    alpha: Self, a: UnsafePointer<Self>, lda: Int,
    b: UnsafePointer<Self>, ldb: Int,
    beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int)

  /// `y[i] = exp(x[i])` for `i < count`; `y` may alias `x`.
  static func exp(count: Int, _ x: UnsafePointer<Self>, into y: UnsafeMutablePointer<Self>)
  /// `y[i] = 1 / (1 + exp(-x[i]))`; `y` may alias `x`.
  static func sigmoid(count: Int, _ x: UnsafePointer<Self>, into y: UnsafeMutablePointer<Self>)
  /// `y[i] = tanh(x[i])`; `y` may alias `x`.
  static func tanh(count: Int, _ x: UnsafePointer<Self>, into y: UnsafeMutablePointer<Self>)

  /// Converts from `Double` (used by initialisers and fixtures).
  init(_ value: Double)
}

extension Float: TensorScalar {
  @inlinable
  public static func gemm(
    transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
    alpha: Float, a: UnsafePointer<Float>, lda: Int,
    b: UnsafePointer<Float>, ldb: Int,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
  ) {
    rk_sgemm(transA ? 1 : 0, transB ? 1 : 0, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
  }
  @inlinable
  public static func exp(count: Int, _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
    rk_vsexp(count, x, y)
  }
  @inlinable
  public static func sigmoid(count: Int, _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
    rk_vssigmoid(count, x, y)
  }
  @inlinable
  public static func tanh(count: Int, _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
    rk_vstanh(count, x, y)
  }
}

extension Double: TensorScalar {
  @inlinable
  public static func gemm(
    transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
    alpha: Double, a: UnsafePointer<Double>, lda: Int,
    b: UnsafePointer<Double>, ldb: Int,
    beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int
  ) {
    rk_dgemm(transA ? 1 : 0, transB ? 1 : 0, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
  }
  @inlinable
  public static func exp(count: Int, _ x: UnsafePointer<Double>, into y: UnsafeMutablePointer<Double>) {
    rk_vdexp(count, x, y)
  }
  @inlinable
  public static func sigmoid(count: Int, _ x: UnsafePointer<Double>, into y: UnsafeMutablePointer<Double>) {
    rk_vdsigmoid(count, x, y)
  }
  @inlinable
  public static func tanh(count: Int, _ x: UnsafePointer<Double>, into y: UnsafeMutablePointer<Double>) {
    rk_vdtanh(count, x, y)
  }
}
