/// Samples for fit / evaluate / predict: inputs [N, ...], optional targets [N, ...] and optional
/// per-sample sequence lengths (for right-padded variable-length sequences).
struct TrainingData<Scalar: TensorScalar> {
  let x: Tensor<Scalar>
  let y: Tensor<Scalar>?
  let lengths: [Int]?

  var count: Int { x.shape[0] }

  init(x: Tensor<Scalar>, y: Tensor<Scalar>?, lengths: [Int]?, name: String) throws {
    guard x.rank >= 2, x.shape[0] > 0 else {
      throw RecurrentError.shapeMismatch("\(name): x must be [samples, ...] with at least one sample, got \(x.shape)")
    }
    if let y {
      guard y.rank >= 1, y.shape[0] == x.shape[0] else {
        throw RecurrentError.shapeMismatch(
          "\(name): x has \(x.shape[0]) samples but y has \(y.rank == 0 ? 0 : y.shape[0]) (shapes \(x.shape) and \(y.shape))")
      }
    }
    if let lengths {
      guard lengths.count == x.shape[0] else {
        throw RecurrentError.shapeMismatch("\(name): \(lengths.count) lengths for \(x.shape[0]) samples")
      }
      guard x.rank >= 2 else { throw RecurrentError.shapeMismatch("\(name): lengths need x [samples, steps, ...]") }
      let T = x.shape[1]
      if let bad = lengths.firstIndex(where: { !(0...T).contains($0) }) {
        throw RecurrentError.invalidData("\(name): lengths[\(bad)] = \(lengths[bad]) is outside 0...\(T) (steps)")
      }
    }
    for (what, t) in [("x", x), ("y", y)] {
      guard let t else { continue }
      if let bad = t.scalars.firstIndex(where: { !$0.isFinite }) {
        throw RecurrentError.invalidData("\(name): \(what) has a non-finite value (\(t.scalars[bad])) at flat index \(bad)")
      }
    }
    self.x = x
    self.y = y
    self.lengths = lengths
  }

  /// Rows `indices` of `t`.
  static func gather(_ t: Tensor<Scalar>, _ indices: ArraySlice<Int>) -> Tensor<Scalar> {
    let row = t.count / t.shape[0]
    var out = [Scalar]()
    out.reserveCapacity(row * indices.count)
    t.withUnsafeBufferPointer { p in
      for i in indices { out.append(contentsOf: UnsafeBufferPointer(rebasing: p[(i * row)..<((i + 1) * row)])) }
    }
    return Tensor(shape: [indices.count] + Array(t.shape.dropFirst()), scalars: out)
  }

  struct Batch {
    var x: Tensor<Scalar>
    var y: Tensor<Scalar>?
    var mask: Tensor<Scalar>?
    var indices: ArraySlice<Int>
  }

  func batch(_ indices: ArraySlice<Int>) -> Batch {
    var mask: Tensor<Scalar>?
    if let lengths {
      let T = x.shape[1]
      var m = Tensor<Scalar>(shape: [indices.count, T])
      for (r, i) in indices.enumerated() { for t in 0..<lengths[i] { m.scalars[r * T + t] = 1 } }
      mask = m
    }
    return Batch(x: Self.gather(x, indices), y: y.map { Self.gather($0, indices) }, mask: mask, indices: indices)
  }

  func batches(order: [Int], size: Int) -> [Batch] {
    stride(from: 0, to: order.count, by: max(1, size)).map { start in
      batch(order[start..<min(order.count, start + max(1, size))])
    }
  }

  /// Splits off the last `fraction` of samples (Keras `validation_split`: taken before shuffling).
  func split(validationFraction fraction: Double) throws -> (TrainingData, TrainingData) {
    let nVal = Int((Double(count) * fraction).rounded(.down))
    guard nVal >= 1, nVal < count else {
      throw RecurrentError.invalidArgument(
        "validationSplit \(fraction) leaves \(count - nVal) training and \(nVal) validation samples of \(count); both need at least 1")
    }
    let train = Array(0..<(count - nVal))[...], val = Array((count - nVal)..<count)[...]
    func sub(_ idx: ArraySlice<Int>) throws -> TrainingData {
      try TrainingData(
        x: Self.gather(x, idx), y: y.map { Self.gather($0, idx) }, lengths: lengths.map { l in idx.map { l[$0] } },
        name: "validation split")
    }
    return (try sub(train), try sub(val))
  }
}
