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
    p.update(repeating: 0, count: count)
    return p
  }
}
