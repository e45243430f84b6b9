@testable import Recurrent
import Testing

/// Writes to a tensor whose storage is not shared happen in place, and value semantics hold
/// when it is. (A `didSet` observer on `scalars` once copied the whole array on every write:
/// `y *= 2` on a [64, 100, 512] training output allocated and filled a second 12.5 MiB array.)
struct TensorStorageTests {
  static func address(_ t: Tensor<Float>) -> UnsafePointer<Float>? { t.withUnsafeBufferPointer { $0.baseAddress } }

  @Test func writesToUnsharedStorageHappenInPlace() {
    var t = Tensor<Float>(shape: [4, 250], repeating: 1)
    let before = Self.address(t)
    t.withUnsafeMutableBufferPointer { p in for k in p.indices { p[k] *= 2 } }
    #expect(Self.address(t) == before, "withUnsafeMutableBufferPointer copied the storage")
    t[3, 249] = 7
    #expect(Self.address(t) == before, "subscript set copied the storage")
    t.scalars[5] = 9
    #expect(Self.address(t) == before, "scalars[i] = x copied the storage")
    #expect(t.scalars[0] == 2 && t[3, 249] == 7 && t.scalars[5] == 9)
  }

  @Test func writesToSharedStorageLeaveTheCopyAlone() {
    var t = Tensor<Float>(shape: [3, 2], scalars: [1, 2, 3, 4, 5, 6])
    let u = t
    t.withUnsafeMutableBufferPointer { $0[0] = 10 }
    t[2, 1] = 60
    t.scalars[1] = 20
    #expect(u.scalars == [1, 2, 3, 4, 5, 6])
    #expect(t.scalars == [10, 20, 3, 4, 5, 60])
    var v = t
    v.scalars = [0, 0, 0, 0, 0, 0]  // whole-array set of the same count is allowed
    #expect(t.scalars == [10, 20, 3, 4, 5, 60] && v.scalars.allSatisfy { $0 == 0 })
  }
}
