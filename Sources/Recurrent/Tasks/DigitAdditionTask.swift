/// Keras's "learn to add two numbers written as digits" (the `addition_rnn` example, after
/// Zaremba & Sutskever 2014, "Learning to Execute"): a sequence-to-sequence task where the
/// model reads a sum as characters and writes the result.
///
/// Alphabet `0123456789+ ` (12 characters; index = digit, 10 = "+", 11 = space). Each operand
/// has 1...`digits` digits (the count drawn uniformly, then each digit; as Keras), pairs are
/// unique up to order. The query "a+b" is padded with spaces to 2·digits + 1 characters and, with
/// `reverseQuery` (Keras's `REVERSE = True`, which shortens the path from the low digits to the
/// answer), reversed; the answer is the sum padded with spaces to digits + 1 characters:
///
///     "123+45 " --reversed--> " 54+321"  ->  "168 "
///     x [N, 2·digits+1, 12]:  one-hot query characters
///     y [N, digits+1]:        answer characters as class indices
///
/// Model (as Keras): `LSTM(units: 128)` encoder -> `RepeatVector(count: digits + 1)` ->
/// `LSTM(units: 128, returnSequences: true)` decoder -> `Dense(units: 12)` per step, trained with
/// SparseCategoricalCrossentropy (logits). Keras reports ~99% per-character validation accuracy
/// for 3 digits after ~30 epochs of 45k samples. `exactMatch` scores whole answers.
///
/// Baseline: the answer's characters are far from uniform (the last is mostly a space), so
/// per-character accuracy starts well above 1/12; whole-answer accuracy by chance is ~0.
public struct DigitAdditionTask: Sendable, Equatable {
  public static let alphabet: [Character] = Array("0123456789+ ")
  public static var characterCount: Int { alphabet.count }

  /// Most digits per operand (1...9).
  public var digits: Int
  /// Reverse the query string (Keras's default in the example).
  public var reverseQuery: Bool

  public init(digits: Int = 3, reverseQuery: Bool = true) {
    self.digits = digits
    self.reverseQuery = reverseQuery
  }

  /// Query characters: 2·digits + 1.
  public var queryLength: Int { 2 * digits + 1 }
  /// Answer characters: digits + 1.
  public var answerLength: Int { digits + 1 }
  /// Distinct unordered pairs of operands.
  public var distinctPairs: Int {
    var m = 1
    for _ in 0..<digits { m *= 10 }
    return m * (m + 1) / 2
  }

  /// The query string the model reads for a + b (reversed if `reverseQuery`).
  public func query(_ a: Int, _ b: Int) -> String {
    let q = pad("\(a)+\(b)", queryLength)
    return reverseQuery ? String(q.reversed()) : q
  }

  /// The answer string for a + b ("168 ").
  public func answer(_ a: Int, _ b: Int) -> String { pad("\(a + b)", answerLength) }

  private func pad(_ s: String, _ n: Int) -> String { s + String(repeating: " ", count: max(0, n - s.count)) }

  /// Class indices of `text` (characters outside the alphabet are a precondition failure).
  public static func encode(_ text: String) -> [Int] {
    text.map { c in
      guard let i = alphabet.firstIndex(of: c) else { preconditionFailure("DigitAdditionTask: '\(c)' is not in the alphabet") }
      return i
    }
  }

  /// The text of class indices.
  public static func decode(_ indices: [Int]) -> String { String(indices.map { alphabet[$0] }) }

  /// `samples` distinct problems from `seed`.
  public func generate<Scalar: TensorScalar>(
    samples: Int, seed: UInt64, as _: Scalar.Type = Float.self
  ) throws -> TaskDataset<Scalar> {
    try TaskSupport.require((1...9).contains(digits), "digit addition: digits must be 1...9, got \(digits)")
    try TaskSupport.require(samples >= 1, "digit addition: samples must be >= 1, got \(samples)")
    // Keras's sampling reaches far fewer pairs than exist when digits is small; stay well inside.
    try TaskSupport.require(
      samples <= distinctPairs / 2,
      "digit addition: \(samples) distinct problems asked, but \(digits)-digit operands give only \(distinctPairs) pairs; "
        + "use at most \(distinctPairs / 2) samples or more digits")
    var g = SeededGenerator(seed: seed ^ 0x4144_4432)
    func number() -> Int {
      let n = 1 + TaskSupport.uniform(digits, &g)
      var v = 0
      for _ in 0..<n { v = v * 10 + TaskSupport.uniform(10, &g) }
      return v
    }
    var seen = Set<Int>(), pairs = [(Int, Int)]()
    var attempts = 0
    while pairs.count < samples {
      attempts += 1
      if attempts > 200 * samples + 10_000 {
        throw RecurrentError.invalidArgument("digit addition: could not draw \(samples) distinct problems with \(digits) digits")
      }
      let a = number(), b = number()
      let key = min(a, b) &* 1_000_000_007 &+ max(a, b)
      if seen.insert(key).inserted { pairs.append((a, b)) }
    }
    let Tq = queryLength, Ta = answerLength, C = Self.characterCount
    var x = [Scalar](repeating: 0, count: samples * Tq * C)
    var y = [Scalar](repeating: 0, count: samples * Ta)
    for (n, (a, b)) in pairs.enumerated() {
      for (t, c) in Self.encode(query(a, b)).enumerated() { x[(n * Tq + t) * C + c] = 1 }
      for (t, c) in Self.encode(answer(a, b)).enumerated() { y[n * Ta + t] = Scalar(Double(c)) }
    }
    return TaskDataset(x: Tensor(shape: [samples, Tq, C], scalars: x), y: Tensor(shape: [samples, Ta], scalars: y))
  }

  /// Per-character and whole-answer accuracy of `prediction` [N, digits+1, 12] (argmax per
  /// step) against the targets `y` [N, digits+1].
  public func accuracy<Scalar: TensorScalar>(
    prediction: Tensor<Scalar>, targets y: Tensor<Scalar>
  ) -> (character: Double, exactMatch: Double) {
    let Ta = answerLength, C = Self.characterCount
    precondition(
      prediction.rank == 3 && prediction.shape[1] == Ta && prediction.shape[2] == C && y.shape == [prediction.shape[0], Ta],
      "DigitAdditionTask.accuracy: prediction \(prediction.shape) / targets \(y.shape) do not fit [N, \(Ta), \(C)]")
    let N = prediction.shape[0]
    var chars = 0, exact = 0
    for n in 0..<N {
      var all = true
      for t in 0..<Ta {
        if TaskSupport.argmax(prediction.scalars, (n * Ta + t) * C, C) == Int(Double(y.scalars[n * Ta + t])) {
          chars += 1
        } else {
          all = false
        }
      }
      if all { exact += 1 }
    }
    return (Double(chars) / Double(max(1, N * Ta)), Double(exact) / Double(max(1, N)))
  }

  /// The answer text the model gives for each sample (argmax per step).
  public static func decodePredictions<Scalar: TensorScalar>(_ prediction: Tensor<Scalar>) -> [String] {
    let N = prediction.shape[0], Ta = prediction.shape[1], C = prediction.shape[2]
    return (0..<N).map { n in decode((0..<Ta).map { t in TaskSupport.argmax(prediction.scalars, (n * Ta + t) * C, C) }) }
  }
}
