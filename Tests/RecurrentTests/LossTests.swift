import Foundation
import RecurrentTestSupport
import Testing

@testable import Recurrent

/// Losses: hand-computed values, gradients against central finite differences (with and without
/// masks), extreme inputs, shape and class-index errors, and Keras golden values
/// (Scripts/fixtures/make_optimizer_fixtures.py -> Fixtures/keras_losses.json).
@Suite struct LossTests {
  static func t(_ shape: [Int], _ values: [Double]) -> Tensor<Double> { Tensor(shape: shape, scalars: values) }

  static func expectClose(
    _ got: [Double], _ want: [Double], absolute: Double = 1e-12, relative: Double = 1e-12, _ what: String,
    sourceLocation: SourceLocation = #_sourceLocation
  ) {
    #expect(got.count == want.count, "\(what): \(got.count) values, expected \(want.count)", sourceLocation: sourceLocation)
    for (i, (a, b)) in zip(got, want).enumerated() where !isApproximatelyEqual(a, b, absolute: absolute, relative: relative) {
      Issue.record("\(what)[\(i)]: got \(a), expected \(b)", sourceLocation: sourceLocation)
      return
    }
  }

  // MARK: - Hand-computed values

  @Test func meanSquaredAndAbsoluteError() throws {
    let x = Self.t([2, 2], [1, 2, 3, 4]), y = Self.t([2, 2], [0, 2, 5, 4])  // errors 1, 0, -2, 0
    let mse = try MeanSquaredError().compute(prediction: x, target: y)
    #expect(mse.value == 1.25)  // (1 + 4) / 4
    #expect(mse.gradient.scalars == [0.5, 0, -1, 0])  // 2 e / 4
    let mae = try MeanAbsoluteError().compute(prediction: x, target: y)
    #expect(mae.value == 0.75)
    #expect(mae.gradient.scalars == [0.25, 0, -0.25, 0])  // sign(e) / 4, sign(0) = 0
  }

  @Test func huber() throws {
    let x = Self.t([4], [0.5, -2, 3, 0]), y = Self.t([4], [0, 0, 0, 0])
    let r = try Huber(delta: 1).compute(prediction: x, target: y)
    #expect(r.value == (0.125 + 1.5 + 2.5 + 0) / 4)  // 0.5 e^2 | delta (|e| - delta / 2)
    #expect(r.gradient.scalars == [0.125, -0.25, 0.25, 0])
    let small = try Huber(delta: 0.25).compute(prediction: Self.t([1], [1]), target: Self.t([1], [0]))
    #expect(small.value == 0.25 * (1 - 0.125))
  }

  @Test func binaryCrossentropy() throws {
    let logits = try BinaryCrossentropy().compute(prediction: Self.t([2], [0, 2]), target: Self.t([2], [1, 0]))
    Self.expectClose([logits.value], [(log(2) + log(1 + exp(2))) / 2], "bce value")
    Self.expectClose(logits.gradient.scalars, [(0.5 - 1) / 2, 1 / (1 + exp(-2)) / 2], "bce gradient")
    let probs = try BinaryCrossentropy(fromLogits: false).compute(
      prediction: Self.t([2], [0.8, 0.3]), target: Self.t([2], [1, 0]))
    Self.expectClose([probs.value], [(-log(0.8) - log(0.7)) / 2], "bce(p) value")
    Self.expectClose(probs.gradient.scalars, [-1 / 0.8 / 2, 1 / 0.7 / 2], "bce(p) gradient")
  }

  @Test func categoricalAndSparseCrossentropy() throws {
    let x = Self.t([1, 3], [1, 2, 3])
    let lse: Double = log(exp(1.0) + exp(2.0) + exp(3.0))
    let softmax = [1.0, 2, 3].map { exp($0 - lse) }
    let cce = try CategoricalCrossentropy().compute(prediction: x, target: Self.t([1, 3], [0, 0, 1]))
    Self.expectClose([cce.value], [lse - 3], "cce value")
    Self.expectClose(cce.gradient.scalars, [softmax[0], softmax[1], softmax[2] - 1], "cce gradient")
    let scce = try SparseCategoricalCrossentropy().compute(prediction: x, target: Self.t([1], [2]))
    #expect(scce.value == cce.value)
    #expect(scce.gradient == cce.gradient)

    let p = Self.t([2, 3], [0.2, 0.3, 0.5, 0.1, 0.6, 0.3])
    let cceP = try CategoricalCrossentropy(fromLogits: false).compute(
      prediction: p, target: Self.t([2, 3], [0, 1, 0, 0, 0, 1]))
    Self.expectClose([cceP.value], [(-log(0.3) - log(0.3)) / 2], "cce(p) value")
    let scceP = try SparseCategoricalCrossentropy(fromLogits: false).compute(prediction: p, target: Self.t([2], [1, 2]))
    Self.expectClose([scceP.value], [cceP.value], "scce(p) value")
    // Keras's trailing axis of 1 on sparse targets.
    let trailing = try SparseCategoricalCrossentropy().compute(prediction: p, target: Self.t([2, 1], [1, 2]))
    let plain = try SparseCategoricalCrossentropy().compute(prediction: p, target: Self.t([2], [1, 2]))
    #expect(trailing.value == plain.value)
  }

  @Test func masksAverageOverUnmaskedPositions() throws {
    // [B=2, T=2, F=1] regression, mask [B, T]: the mean is over the 3 unmasked steps.
    let x = Self.t([2, 2, 1], [1, .nan, 3, 4]), y = Self.t([2, 2, 1], [0, 0, 0, 0])
    let mask = Self.t([2, 2], [1, 0, 1, 1])
    let r = try MeanSquaredError().compute(prediction: x, target: y, mask: mask)
    let third: Double = 1.0 / 3
    #expect(r.value == 26 * third)
    let expected: [Double] = [2 * third, 0, 6 * third, 8 * third]
    Self.expectClose(r.gradient.scalars, expected, "masked mse gradient")  // the NaN at the masked step does not leak

    // [B=2, T=2, C=3] with a [B, T] mask equals the loss over the unmasked positions alone.
    var rng = SeededGenerator(seed: 7)
    let logits = Tensor<Double>(shape: [2, 2, 3], uniformIn: -2...2, using: &rng)
    let labels = Self.t([2, 2], [0, 2, 1, 1])
    let masked = try SparseCategoricalCrossentropy().compute(
      prediction: logits, target: labels, mask: Self.t([2, 2], [1, 1, 0, 1]))
    let kept = [0, 1, 3]
    let subset = try SparseCategoricalCrossentropy().compute(
      prediction: Self.t([3, 3], kept.flatMap { Array(logits.scalars[($0 * 3)..<($0 * 3 + 3)]) }),
      target: Self.t([3], kept.map { labels.scalars[$0] }))
    Self.expectClose([masked.value], [subset.value], "masked scce")
    #expect(masked.gradient.scalars[6..<9].allSatisfy { $0 == 0 })

    // A [B] mask on [B, T, C] weighs whole rows; an all-zero mask gives 0 and no gradient.
    let rows = try CategoricalCrossentropy().compute(
      prediction: logits, target: Tensor(shape: [2, 2, 3], repeating: 1.0 / 3), mask: Self.t([2], [0, 1]))
    #expect(rows.gradient.scalars[0..<6].allSatisfy { $0 == 0 })
    let none = try MeanSquaredError().compute(prediction: x, target: y, mask: Self.t([2], [0, 0]))
    #expect(none.value == 0 && none.gradient.scalars.allSatisfy { $0 == 0 })
  }

  // MARK: - Gradients against central finite differences

  /// Every loss configuration with a generator of (prediction, target) for a prediction shape.
  struct Case: CustomTestStringConvertible, Sendable {
    var name: String
    var loss: any Loss
    var sparse = false
    /// Draws the prediction (away from kinks and clip boundaries) and a matching target.
    var draw: @Sendable ([Int], inout SeededGenerator) -> (Tensor<Double>, Tensor<Double>)
    var testDescription: String { name }
  }

  static func uniform(_ shape: [Int], _ range: ClosedRange<Double>, _ rng: inout SeededGenerator) -> Tensor<Double> {
    Tensor(shape: shape, uniformIn: range, using: &rng)
  }
  static func distributions(_ shape: [Int], _ rng: inout SeededGenerator) -> Tensor<Double> {
    var p = uniform(shape, 0.1...1, &rng)
    let C = shape.last!
    for row in 0..<(p.count / C) {
      let s = p.scalars[(row * C)..<(row * C + C)].reduce(0, +)
      for c in 0..<C { p.scalars[row * C + c] /= s }
    }
    return p
  }
  static func labels(_ shape: [Int], _ rng: inout SeededGenerator) -> Tensor<Double> {
    let C = shape.last!
    return Tensor(shape: Array(shape.dropLast()), scalars: (0..<(shape.dropLast().reduce(1, *))).map { _ in
      Double(Int.random(in: 0..<C, using: &rng))
    })
  }

  static let cases: [Case] = [
    Case(name: "mse", loss: MeanSquaredError()) { s, r in (uniform(s, -2...2, &r), uniform(s, -2...2, &r)) },
    Case(name: "mae", loss: MeanAbsoluteError()) { s, r in (uniform(s, -2...2, &r), uniform(s, -2...2, &r)) },
    Case(name: "huber", loss: Huber(delta: 0.7)) { s, r in (uniform(s, -2...2, &r), uniform(s, -2...2, &r)) },
    Case(name: "bce logits", loss: BinaryCrossentropy()) { s, r in (uniform(s, -4...4, &r), uniform(s, 0...1, &r)) },
    Case(name: "bce probabilities", loss: BinaryCrossentropy(fromLogits: false)) { s, r in
      (uniform(s, 0.05...0.95, &r), uniform(s, 0...1, &r))
    },
    Case(name: "cce logits", loss: CategoricalCrossentropy()) { s, r in (uniform(s, -3...3, &r), distributions(s, &r)) },
    Case(name: "cce probabilities", loss: CategoricalCrossentropy(fromLogits: false)) { s, r in
      (uniform(s, 0.1...1, &r), distributions(s, &r))  // rows deliberately not normalised
    },
    Case(name: "scce logits", loss: SparseCategoricalCrossentropy(), sparse: true) { s, r in
      (uniform(s, -3...3, &r), labels(s, &r))
    },
    Case(name: "scce probabilities", loss: SparseCategoricalCrossentropy(fromLogits: false), sparse: true) { s, r in
      (uniform(s, 0.05...0.9, &r), labels(s, &r))
    },
  ]

  /// max over entries of |analytic - numeric| / max(|analytic|, |numeric|, 1e-3).
  static func gradientError(
    _ loss: any Loss, _ x: Tensor<Double>, _ y: Tensor<Double>, _ mask: Tensor<Double>?
  ) throws -> Double {
    let analytic = try loss.compute(prediction: x, target: y, mask: mask).gradient
    var worst = 0.0
    let h = 1e-6
    for i in 0..<x.count {
      var plus = x, minus = x
      plus.scalars[i] += h
      minus.scalars[i] -= h
      let numeric = (try loss.compute(prediction: plus, target: y, mask: mask).value
        - loss.compute(prediction: minus, target: y, mask: mask).value) / (2 * h)
      let a = analytic.scalars[i]
      worst = max(worst, abs(a - numeric) / max(abs(a), abs(numeric), 1e-3))
    }
    return worst
  }

  @Test(arguments: cases)
  func gradientMatchesFiniteDifferences(_ c: Case) throws {
    var rng = SeededGenerator(seed: 2024)
    for trial in 0..<6 {
      let B = Int.random(in: 1...4, using: &rng), T = Int.random(in: 1...4, using: &rng)
      let C = Int.random(in: 2...5, using: &rng)
      let shape = trial % 2 == 0 ? [B, C] : [B, T, C]
      let (x, y) = c.draw(shape, &rng)
      // No mask, a [B] mask, and (for sequences) a [B, T] mask with at least one 1.
      var masks: [Tensor<Double>?] = [nil, Tensor(shape: [B], scalars: (0..<B).map { $0 == 0 ? 1 : Double($0 % 2) })]
      if shape.count == 3 {
        masks.append(Tensor(shape: [B, T], scalars: (0..<(B * T)).map { $0 == 0 ? 1 : (Bool.random(using: &rng) ? 1 : 0) }))
      }
      for mask in masks {
        let error = try Self.gradientError(c.loss, x, y, mask)
        #expect(error < 1e-6, "\(c.name) \(shape) mask \(mask?.shape ?? []): relative error \(error)")
      }
    }
  }

  // MARK: - Extreme inputs

  @Test func extremeInputsStayFinite() throws {
    func finite(_ r: (value: Double, gradient: Tensor<Float>), _ what: String) {
      #expect(r.value.isFinite && r.gradient.scalars.allSatisfy(\.isFinite), "\(what): \(r.value) \(r.gradient)")
    }
    for big in [Float(1e8), 1e30, -1e8] {
      let logits = Tensor<Float>(shape: [2, 3], scalars: [big, -big, 0, -big, big, big])
      finite(try BinaryCrossentropy().compute(prediction: logits, target: Tensor(shape: [2, 3], scalars: [1, 0, 1, 1, 0, 0.5])), "bce \(big)")
      finite(try CategoricalCrossentropy().compute(prediction: logits, target: Tensor(shape: [2, 3], scalars: [0, 1, 0, 0.5, 0, 0.5])), "cce \(big)")
      finite(try SparseCategoricalCrossentropy().compute(prediction: logits, target: Tensor(shape: [2], scalars: [1, 0])), "scce \(big)")
    }
    // A confidently right logit gives loss 0 and gradient 0; confidently wrong, loss ~ |logit|.
    let right = try BinaryCrossentropy().compute(prediction: Self.t([2], [1e8, -1e8]), target: Self.t([2], [1, 0]))
    #expect(right.value == 0 && right.gradient.scalars == [0, 0])
    let wrong = try SparseCategoricalCrossentropy().compute(prediction: Self.t([1, 2], [1e8, -1e8]), target: Self.t([1], [1]))
    #expect(wrong.value == 2e8)

    let p = Tensor<Float>(shape: [2, 3], scalars: [0, 1, 0, 1, 0, 0])
    finite(try BinaryCrossentropy(fromLogits: false).compute(prediction: p, target: Tensor(shape: [2, 3], scalars: [1, 0, 0, 1, 1, 0])), "bce p")
    finite(try CategoricalCrossentropy(fromLogits: false).compute(prediction: p, target: Tensor(shape: [2, 3], scalars: [1, 0, 0, 0, 1, 0])), "cce p")
    finite(try SparseCategoricalCrossentropy(fromLogits: false).compute(prediction: p, target: Tensor(shape: [2], scalars: [0, 1])), "scce p")
    finite(try CategoricalCrossentropy(fromLogits: false).compute(prediction: Tensor(shape: [1, 3], repeating: 0), target: Tensor(shape: [1, 3], scalars: [0, 1, 0])), "cce all-zero row")
    // Clipping to [1e-7, 1 - 1e-7]: a certain wrong answer costs -log(1e-7).
    let clipped = try BinaryCrossentropy(fromLogits: false).compute(prediction: Self.t([1], [0]), target: Self.t([1], [1]))
    Self.expectClose([clipped.value], [-log(1e-7)], "clipped bce")
  }

  // MARK: - Errors

  static func error(_ body: () throws -> Void) -> RecurrentError? {
    do { try body() } catch let e as RecurrentError { return e } catch { return nil }
    return nil
  }

  @Test func shapeMismatchesThrow() {
    let x = Tensor<Double>(shape: [4, 3])
    let checks: [(RecurrentError?, String)] = [
      (Self.error { _ = try MeanSquaredError().compute(prediction: x, target: Tensor(shape: [4, 2])) }, "[4, 2]"),
      (Self.error { _ = try Huber().compute(prediction: x, target: Tensor(shape: [3, 4])) }, "[3, 4]"),
      (Self.error { _ = try BinaryCrossentropy().compute(prediction: x, target: x, mask: Tensor(shape: [3])) }, "got [3]"),
      (Self.error { _ = try CategoricalCrossentropy().compute(prediction: x, target: Tensor(shape: [4])) }, "[4, 3]"),
      (Self.error { _ = try CategoricalCrossentropy().compute(prediction: Tensor<Double>(shape: []), target: Tensor(shape: [])) }, "[..., C]"),
      (Self.error { _ = try SparseCategoricalCrossentropy().compute(prediction: x, target: Tensor(shape: [4, 3])) }, "[4]"),
      (Self.error { _ = try SparseCategoricalCrossentropy().compute(prediction: Tensor<Double>(shape: [2, 5, 3]), target: Tensor(shape: [2, 4])) }, "[2, 5]"),
      (Self.error { _ = try SparseCategoricalCrossentropy().compute(prediction: Tensor<Double>(shape: [2, 5, 3]), target: Tensor(shape: [2, 5]), mask: Tensor(shape: [5])) }, "[2, 5]"),
    ]
    for (error, mentions) in checks {
      guard case .shapeMismatch(let message)? = error else {
        Issue.record("expected shapeMismatch mentioning \(mentions), got \(String(describing: error))")
        continue
      }
      #expect(message.contains(mentions), "\(message)")
    }
  }

  @Test(arguments: [(2.5, "2.5"), (-1, "-1.0"), (3, "3.0"), (.nan, "nan")] as [(Double, String)])
  func badClassIndicesThrow(bad: Double, shown: String) {
    let x = Tensor<Double>(shape: [2, 2, 3])
    for fromLogits in [true, false] {
      let error = Self.error {
        _ = try SparseCategoricalCrossentropy(fromLogits: fromLogits).compute(
          prediction: x, target: Self.t([2, 2], [0, 1, bad, 2]))
      }
      guard case .invalidData(let message)? = error else {
        Issue.record("expected invalidData for index \(bad), got \(String(describing: error))")
        continue
      }
      #expect(message.contains("[1, 0]") && message.contains(shown) && message.contains("0..<3"), "\(message)")
    }
    let negativeMask = Self.error {
      _ = try MeanSquaredError().compute(prediction: x, target: x, mask: Self.t([2], [1, -1]))
    }
    #expect(negativeMask == .invalidData("mean_squared_error: mask[1] = -1.0; mask entries must be finite and >= 0"))
  }

  // MARK: - Keras golden values

  struct KerasCase: Decodable {
    var name, loss: String
    struct Config: Decodable {
      var from_logits: Bool?
      var delta: Double?
    }
    var config: Config
    var shape, target_shape: [Int]
    var prediction, target, gradient: [Double]
    var value: Double
    var mask_shape: [Int]?
    var mask: [Double]?
  }

  static func kerasLoss(_ c: KerasCase) -> (any Loss)? {
    let fromLogits = c.config.from_logits ?? true
    switch c.loss {
    case "mean_squared_error": return MeanSquaredError()
    case "mean_absolute_error": return MeanAbsoluteError()
    case "huber_loss": return Huber(delta: c.config.delta ?? 1)
    case "binary_crossentropy": return BinaryCrossentropy(fromLogits: fromLogits)
    case "categorical_crossentropy": return CategoricalCrossentropy(fromLogits: fromLogits)
    case "sparse_categorical_crossentropy": return SparseCategoricalCrossentropy(fromLogits: fromLogits)
    default: return nil
    }
  }

  static func replay<S: TensorScalar>(_ c: KerasCase, _: S.Type, tolerance: Double) throws {
    let loss = try #require(kerasLoss(c), "unknown loss \(c.loss)")
    #expect(loss.name == c.loss)
    let r = try loss.compute(
      prediction: Tensor<S>(shape: c.shape, scalars: c.prediction.map { S($0) }),
      target: Tensor<S>(shape: c.target_shape, scalars: c.target.map { S($0) }),
      mask: c.mask.map { Tensor<S>(shape: c.mask_shape!, scalars: $0.map { S($0) }) })
    expectClose([r.value], [c.value], absolute: tolerance, relative: tolerance, "\(c.name) \(S.self) value")
    expectClose(r.gradient.scalars.map(Double.init), c.gradient, absolute: tolerance, relative: tolerance, "\(c.name) \(S.self) gradient")
  }

  @Test func matchesKeras() throws {
    struct File: Decodable { var cases: [KerasCase] }
    let url = try #require(Bundle.module.url(forResource: "keras_losses", withExtension: "json", subdirectory: "Fixtures"))
    let file = try JSONDecoder().decode(File.self, from: Data(contentsOf: url))
    #expect(file.cases.count >= 18)
    for c in file.cases {
      try Self.replay(c, Double.self, tolerance: 1e-12)
      try Self.replay(c, Float.self, tolerance: 1e-5)
    }
  }
}
