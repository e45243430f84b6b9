/// A growable raw scratch buffer that is reused across calls, so hot loops never allocate.
///
/// `reserve(_:)` grows (never shrinks) the allocation; contents are undefined after growth.
public final class WorkspaceBuffer<Scalar: TensorScalar> {
  public private(set) var pointer: UnsafeMutablePointer<Scalar>
  public private(set) var capacity: Int

  public init(capacity: Int = 0) {
    self.capacity = max(capacity, 16)
    pointer = UnsafeMutablePointer<Scalar>.allocate(capacity: self.capacity)
  }

  deinit { pointer.deallocate() }

  /// Ensures room for `count` elements and returns the base pointer.
  @discardableResult
  public func reserve(_ count: Int) -> UnsafeMutablePointer<Scalar> {
    if count > capacity {
      pointer.deallocate()
      capacity = count
      pointer = UnsafeMutablePointer<Scalar>.allocate(capacity: count)
    }
    return pointer
  }

  /// Ensures room for `count` elements, zero-fills them and returns the base pointer.
  @discardableResult
  public func zeroed(_ count: Int) -> UnsafeMutablePointer<Scalar> {
    let p = reserve(count)
    WorkspaceBuffer.zeroFill(p, count: count)
    return p
  }

  /// Sets `count` elements at `p` to +0 with one `memset`. `p.update(repeating: 0, count:)`
  /// in this generic (unspecialised) code is a value-witness call per element, ~40x slower
  /// (measured: see Benchmarks/BENCHMARKS.md, tuning log). +0 is the all-zero bit pattern in
  /// every IEEE 754 binary format, which `TensorScalar` (a `BinaryFloatingPoint`) types use.
  @inlinable
  public static func zeroFill(_ p: UnsafeMutablePointer<Scalar>, count: Int) {
    guard count > 0 else { return }
    UnsafeMutableRawPointer(p).initializeMemory(
      as: UInt8.self, repeating: 0, count: count * MemoryLayout<Scalar>.stride)
  }
}
