/// Small memory-bound kernels over raw buffers: column sums, axpy, layout transposes.
public enum Reductions {
  /// `out[j] += sum_i a[i * cols + j]` for an [rows, cols] row-major matrix.
  @inlinable
  public static func addColumnSums<S: TensorScalar>(
    _ a: UnsafePointer<S>, rows: Int, cols: Int, into out: UnsafeMutablePointer<S>
  ) {
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
    for i in 0..<count { y[i] += alpha * x[i] }
  }

  /// `y[i] = x[i] + row[i % cols]` for `rows` rows: broadcast a bias vector over rows.
  @inlinable
  public static func addRowVector<S: TensorScalar>(
    _ bias: UnsafePointer<S>, to a: UnsafeMutablePointer<S>, rows: Int, cols: Int
  ) {
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
