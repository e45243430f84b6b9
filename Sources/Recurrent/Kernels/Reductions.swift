import CRecurrentKernels

/// Small memory-bound kernels over raw buffers: column sums, axpy, layout transposes.
///
/// Float and Double run the C loops in `CRecurrentKernels` (rk_cells.c), so generic callers get
/// compiled loops even when they are not specialised; any other scalar type takes the Swift loop.
public enum Reductions {
  /// `out[j] += sum_i a[i * cols + j]` for an [rows, cols] row-major matrix.
  @inlinable
  public static func addColumnSums<S: TensorScalar>(
    _ a: UnsafePointer<S>, rows: Int, cols: Int, into out: UnsafeMutablePointer<S>
  ) {
    if S.self == Float.self { return rk_colsum_add_f32(rows, cols, a._f32, out._f32) }
    if S.self == Double.self { return rk_colsum_add_f64(rows, cols, a._f64, out._f64) }
    for i in 0..<rows {
      let row = a + i * cols
      for j in 0..<cols { out[j] += row[j] }
    }
  }

  /// `y[i] += alpha * x[i]`.
  @inlinable
  public static func axpy<S: TensorScalar>(
    count: Int, alpha: S, _ x: UnsafePointer<S>, _ y: UnsafeMutablePointer<S>
  ) {
    if alpha == 1 {
      if S.self == Float.self { return rk_add_f32(count, x._f32, y._f32) }
      if S.self == Double.self { return rk_add_f64(count, x._f64, y._f64) }
    }
    for i in 0..<count { y[i] += alpha * x[i] }
  }

  /// `y[i] = x[i] * m[i]`.
  @inlinable
  public static func multiply<S: TensorScalar>(
    count: Int, _ x: UnsafePointer<S>, _ m: UnsafePointer<S>, into y: UnsafeMutablePointer<S>
  ) {
    if S.self == Float.self { return rk_mul_f32(count, x._f32, m._f32, y._f32) }
    if S.self == Double.self { return rk_mul_f64(count, x._f64, m._f64, y._f64) }
    for i in 0..<count { y[i] = x[i] * m[i] }
  }

  /// `y[i] += x[i] * m[i]`.
  @inlinable
  public static func addProduct<S: TensorScalar>(
    count: Int, _ x: UnsafePointer<S>, _ m: UnsafePointer<S>, into y: UnsafeMutablePointer<S>
  ) {
    if S.self == Float.self { return rk_add_mul_f32(count, x._f32, m._f32, y._f32) }
    if S.self == Double.self { return rk_add_mul_f64(count, x._f64, m._f64, y._f64) }
    for i in 0..<count { y[i] += x[i] * m[i] }
  }

  /// `y[i] = x[i] + row[i % cols]` for `rows` rows: broadcast a bias vector over rows.
  @inlinable
  public static func addRowVector<S: TensorScalar>(
    _ bias: UnsafePointer<S>, to a: UnsafeMutablePointer<S>, rows: Int, cols: Int
  ) {
    if S.self == Float.self { return rk_add_row_vector_f32(rows, cols, bias._f32, a._f32) }
    if S.self == Double.self { return rk_add_row_vector_f64(rows, cols, bias._f64, a._f64) }
    for i in 0..<rows {
      let row = a + i * cols
      for j in 0..<cols { row[j] += bias[j] }
    }
  }

  /// Copies batch-first [B, T, F] into time-major [T, B, F] (`reversed`: time step t of the
  /// output is step T-1-t of the input). Also serves the way back with `batchFirstToTimeMajor:
  /// false`.
  @inlinable
  public static func swapBatchAndTime<S: TensorScalar>(
    _ src: UnsafePointer<S>, _ dst: UnsafeMutablePointer<S>,
    batch: Int, steps: Int, features: Int, reversed: Bool, batchFirstToTimeMajor: Bool
  ) {
    let rev: Int32 = reversed ? 1 : 0, tm: Int32 = batchFirstToTimeMajor ? 1 : 0
    if S.self == Float.self { return rk_swap_batch_time_f32(batch, steps, features, rev, tm, src._f32, dst._f32) }
    if S.self == Double.self { return rk_swap_batch_time_f64(batch, steps, features, rev, tm, src._f64, dst._f64) }
    for b in 0..<batch {
      for t in 0..<steps {
        let tt = reversed ? steps - 1 - t : t
        let batchFirst = (b * steps + tt) * features
        let timeMajor = (t * batch + b) * features
        if batchFirstToTimeMajor {
          (dst + timeMajor).update(from: src + batchFirst, count: features)
        } else {
          (dst + batchFirst).update(from: src + timeMajor, count: features)
        }
      }
    }
  }
}

// Reinterpretations used once `S.self == Float.self` (or Double) has been checked.
extension UnsafePointer {
  @inlinable var _f32: UnsafePointer<Float> { UnsafeRawPointer(self).assumingMemoryBound(to: Float.self) }
  @inlinable var _f64: UnsafePointer<Double> { UnsafeRawPointer(self).assumingMemoryBound(to: Double.self) }
}

extension UnsafeMutablePointer {
  @inlinable var _f32: UnsafeMutablePointer<Float> { UnsafeMutableRawPointer(self).assumingMemoryBound(to: Float.self) }
  @inlinable var _f64: UnsafeMutablePointer<Double> { UnsafeMutableRawPointer(self).assumingMemoryBound(to: Double.self) }
}
