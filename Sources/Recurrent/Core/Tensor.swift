/// A dense, row-major tensor of `Float` or `Double` with value semantics.
///
/// The last index varies fastest: element `[i, j, k]` of a `[B, T, F]` tensor lives at
/// `(i * T + j) * F + k`. Copies are cheap until written (the storage is a Swift array).
/// Kernels never see a `Tensor`: they take the raw buffer from `withUnsafeBufferPointer`.
public struct Tensor<Scalar: TensorScalar>: Equatable, Sendable, CustomStringConvertible {
  /// The extent of each dimension, outermost first.
  public private(set) var shape: [Int]
  /// The elements in row-major order; `scalars.count == shape.reduce(1, *)`. Writes happen in
  /// place when the storage is not shared (a `didSet` observer here once copied the whole array
  /// on every write, `t[i] = x` and `withUnsafeMutableBufferPointer` included, to hand it
  /// `oldValue`).
  public var scalars: [Scalar] {
    get { storage }
    set {
      precondition(newValue.count == storage.count, "Tensor: scalars.count must not change")
      storage = newValue
    }
    _modify {
      let count = storage.count
      defer { precondition(storage.count == count, "Tensor: scalars.count must not change") }
      yield &storage
    }
  }

  /// The storage behind `scalars`.
  @usableFromInline var storage: [Scalar]

  /// A tensor of `shape` filled with `value`.
  public init(shape: [Int], repeating value: Scalar = 0) {
    precondition(shape.allSatisfy { $0 >= 0 }, "Tensor: negative dimension in \(shape)")
    self.shape = shape
    self.storage = Array(repeating: value, count: shape.reduce(1, *))
  }

  /// A tensor of `shape` holding `scalars` in row-major order.
  public init(shape: [Int], scalars: [Scalar]) {
    precondition(shape.allSatisfy { $0 >= 0 }, "Tensor: negative dimension in \(shape)")
    precondition(
      scalars.count == shape.reduce(1, *),
      "Tensor: \(scalars.count) scalars do not fill shape \(shape)")
    self.shape = shape
    self.storage = scalars
  }

  /// A tensor of `shape` whose elements are drawn uniformly from `range` by `generator`.
  public init<G: RandomNumberGenerator>(
    shape: [Int], uniformIn range: ClosedRange<Double>, using generator: inout G
  ) {
    let count = shape.reduce(1, *)
    var values = [Scalar]()
    values.reserveCapacity(count)
    for _ in 0..<count { values.append(Scalar(Double.random(in: range, using: &generator))) }
    self.init(shape: shape, scalars: values)
  }

  /// A tensor of `shape` whose elements are drawn from N(mean, stddev^2) by `generator`.
  public init(shape: [Int], normalMean mean: Double = 0, stddev: Double = 1, using generator: inout SeededGenerator) {
    let count = shape.reduce(1, *)
    var values = [Scalar]()
    values.reserveCapacity(count)
    for _ in 0..<count { values.append(Scalar(mean + stddev * generator.nextNormal())) }
    self.init(shape: shape, scalars: values)
  }

  /// The number of dimensions.
  public var rank: Int { shape.count }
  /// The number of elements.
  public var count: Int { scalars.count }

  /// The row-major offset of `indices`.
  @inlinable
  func offset(_ indices: [Int]) -> Int {
    precondition(indices.count == shape.count, "Tensor: \(indices.count) indices for rank \(shape.count)")
    var offset = 0
    for (index, extent) in zip(indices, shape) {
      precondition(index >= 0 && index < extent, "Tensor: index \(indices) out of bounds for \(shape)")
      offset = offset * extent + index
    }
    return offset
  }

  /// The element at `indices` (one per dimension).
  public subscript(_ indices: Int...) -> Scalar {
    get { scalars[offset(indices)] }
    set { scalars[offset(indices)] = newValue }
  }

  /// The same elements viewed with another shape of equal element count.
  public func reshaped(to newShape: [Int]) -> Tensor {
    Tensor(shape: newShape, scalars: scalars)
  }

  /// The elements converted to another scalar type.
  public func converted<Other: TensorScalar>(to: Other.Type = Other.self) -> Tensor<Other> {
    Tensor<Other>(shape: shape, scalars: scalars.map { Other(Double($0)) })
  }

  /// Calls `body` with the contiguous row-major storage.
  @inlinable
  public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Scalar>) throws -> R) rethrows -> R {
    try storage.withUnsafeBufferPointer(body)
  }

  /// Calls `body` with the contiguous row-major storage, mutable.
  @inlinable
  public mutating func withUnsafeMutableBufferPointer<R>(
    _ body: (inout UnsafeMutableBufferPointer<Scalar>) throws -> R
  ) rethrows -> R {
    try storage.withUnsafeMutableBufferPointer(body)
  }

  public var description: String {
    let shown = scalars.prefix(8).map { "\($0)" }.joined(separator: ", ")
    return "Tensor\(shape)[\(shown)\(scalars.count > 8 ? ", ..." : "")]"
  }
}
