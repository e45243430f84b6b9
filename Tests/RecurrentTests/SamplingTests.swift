import Foundation
import Testing

@testable import Recurrent

@Suite struct SamplingTests {
  static func softmax(_ z: [Double], _ tau: Double) -> [Double] {
    let m = z.max()!
    let e = z.map { exp(($0 - m) / tau) }
    let s = e.reduce(0, +)
    return e.map { $0 / s }
  }

  @Test func probabilitiesAreTheTemperedSoftmax() throws {
    let logits: [Float] = [1, 2, 0.5, -1, 3]
    for tau in [0.25, 1, 2.5] {
      let p = try Sampling.probabilities(logits: logits, temperature: tau)
      let q = Self.softmax(logits.map(Double.init), tau)
      #expect(zip(p, q).allSatisfy { abs($0 - $1) < 1e-12 })
    }
    #expect(try Sampling.probabilities(logits: logits, temperature: 0) == [0, 0, 0, 0, 1])
    // Ties at temperature 0 go to the lowest id; huge logits do not overflow at tiny temperatures.
    #expect(try Sampling.probabilities(logits: [Float](arrayLiteral: 5, 7, 7), temperature: 0) == [0, 1, 0])
    let sharp = try Sampling.probabilities(logits: [Float](arrayLiteral: 1e30, 2e30, -3e30), temperature: 1e-300)
    #expect(sharp == [0, 1, 0])
  }

  @Test func topKKeepsTheKMostLikely() throws {
    let logits: [Double] = [0.1, 3, 2, -1, 2.5]
    let p = try Sampling.probabilities(logits: logits, temperature: 1, topK: 2)
    let q = Self.softmax([3, 2.5], 1)
    #expect(p[0] == 0 && p[2] == 0 && p[3] == 0)
    #expect(abs(p[1] - q[0]) < 1e-12 && abs(p[4] - q[1]) < 1e-12)
    #expect(try Sampling.probabilities(logits: logits, topK: 10) == Sampling.probabilities(logits: logits))
    // Ties at the cut keep the lower id.
    let tied = try Sampling.probabilities(logits: [Double](arrayLiteral: 1, 1, 1), topK: 2)
    #expect(tied[2] == 0 && abs(tied[0] - 0.5) < 1e-15)
  }

  @Test func temperatureOneFollowsTheSoftmaxOverManyDraws() throws {
    let logits: [Float] = [1, 2, 0.5, -1]
    let q = Self.softmax(logits.map(Double.init), 1)
    var g = SeededGenerator(seed: 42)
    let n = 40_000
    var counts = [Int](repeating: 0, count: 4)
    for _ in 0..<n { counts[try Sampling.sample(logits: logits, temperature: 1, using: &g)] += 1 }
    for i in 0..<4 {
      // Binomial standard error sqrt(q(1-q)/n) <= 0.0025; allow 4.5 of them.
      let freq = Double(counts[i]) / Double(n)
      let se = (q[i] * (1 - q[i]) / Double(n)).squareRoot()
      #expect(abs(freq - q[i]) < 4.5 * se, "symbol \(i): \(freq) vs \(q[i])")
    }
  }

  @Test func nearZeroTemperatureIsArgmaxAndTopKOneIsGreedy() throws {
    var g = SeededGenerator(seed: 7)
    let logits: [Float] = [0.3, 0.31, 0.2]
    for _ in 0..<200 {
      #expect(try Sampling.sample(logits: logits, temperature: 1e-4, using: &g) == 1)
      #expect(try Sampling.sample(logits: logits, temperature: 5, topK: 1, using: &g) == 1)
    }
    let before = g
    #expect(try Sampling.sample(logits: logits, temperature: 0, using: &g) == 1)
    #expect(g == before)  // temperature 0 draws nothing
  }

  @Test func samplingIsSeeded() throws {
    let logits: [Float] = [0, 0.5, 1, 1.5, 2, 0.1]
    func draws(_ seed: UInt64) throws -> [Int] {
      var g = SeededGenerator(seed: seed)
      return try (0..<50).map { _ in try Sampling.sample(logits: logits, temperature: 1.3, topK: 4, using: &g) }
    }
    #expect(try draws(1) == draws(1))
    #expect(try draws(1) != draws(2))
  }

  @Test func badArgumentsAreErrors() {
    var g = SeededGenerator(seed: 1)
    #expect(dataError { _ = try Sampling.sample(logits: [Float](), using: &g) } == .invalidData("sampling: no logits"))
    #expect(dataErrorText { _ = try Sampling.sample(logits: [Float](arrayLiteral: 1, .nan), using: &g) }?.contains("logits[1]") == true)
    #expect(dataError { _ = try Sampling.sample(logits: [Float](arrayLiteral: 1, 2), temperature: -1, using: &g) } != nil)
    #expect(dataError { _ = try Sampling.sample(logits: [Float](arrayLiteral: 1, 2), temperature: .infinity, using: &g) } != nil)
    #expect(dataError { _ = try Sampling.sample(logits: [Float](arrayLiteral: 1, 2), topK: 0, using: &g) } != nil)
  }

  // MARK: - Text generation

  static func model(_ V: Int, embedding: Bool = true) -> Sequential<Float> {
    if embedding {
      return Sequential<Float>(seed: 11) {
        Embedding(vocabularySize: V, dimension: 6)
        GRU(units: 12, returnSequences: true)
        LSTM(units: 10, returnSequences: true)
        Dense(units: V)
      }
    }
    return Sequential<Float>(seed: 11) {
      SimpleRNN(units: 12)
      Dense(units: V)
    }
  }

  @Test func greedyGenerationEqualsRecomputingFromTheStart() throws {
    // Carried state, one step at a time, must equal running the whole prefix from a zero state
    // every step (the definition), for a token-id model and for a one-hot model.
    let vocabulary = try TextCorpus(text: "abcdefgh ").vocabulary
    for embedding in [true, false] {
      let model = Self.model(vocabulary.count, embedding: embedding)
      let generator = TextGenerator(model: model, vocabulary: vocabulary)
      #expect(generator.takesTokenIDs == embedding)
      let text = try generator.generate(prime: "ab c", length: 12, temperature: 0)
      var prefix = try vocabulary.encode("ab c")
      var expected = [Int]()
      for _ in 0..<12 {
        let V = vocabulary.count, T = prefix.count
        var x = Tensor<Float>(shape: embedding ? [1, T] : [1, T, V])
        for (t, id) in prefix.enumerated() {
          if embedding { x.scalars[t] = Float(id) } else { x.scalars[t * V + id] = 1 }
        }
        let out = try model.predict(x)
        var unused = SeededGenerator(seed: 0)
        let next = try Sampling.sample(logits: Array(out.scalars.suffix(V)), temperature: 0, using: &unused)
        expected.append(next)
        prefix.append(next)
      }
      #expect(text == (try vocabulary.decode(expected)), "embedding \(embedding)")
      for case let l as StatefulLayer in model.layers { #expect(!l.stateful) }
    }
  }

  @Test func generationIsSeededAndStreams() throws {
    let vocabulary = try TextCorpus(text: "xyz.\n😀").vocabulary
    let model = Self.model(vocabulary.count)
    let generator = TextGenerator(model: model, vocabulary: vocabulary)
    var streamed = ""
    let a = try generator.generate(prime: "x", length: 40, temperature: 1.5, topK: 4, seed: 9) { streamed += $0 }
    let b = try generator.generate(prime: "x", length: 40, temperature: 1.5, topK: 4, seed: 9)
    let c = try generator.generate(prime: "x", length: 40, temperature: 1.5, topK: 4, seed: 10)
    #expect(a == b && a != c && a == streamed)
    #expect(a.unicodeScalars.count == 40)
    // An empty prime starts from a random symbol, which is part of the result.
    #expect(try generator.generate(prime: "", length: 5, seed: 3).unicodeScalars.count == 5)
    #expect(try generator.generate(prime: "", length: 1, seed: 3).unicodeScalars.count == 1)
    #expect(try generator.generate(prime: "x", length: 0) == "")
  }

  @Test func generationErrorsNameTheProblem() throws {
    let vocabulary = try TextCorpus(text: "abc").vocabulary
    let generator = TextGenerator(model: Self.model(3), vocabulary: vocabulary)
    #expect(
      dataErrorText { _ = try generator.generate(prime: "abq", length: 3) }?
        .contains("prime: symbol 'q' (U+0071) at position 2 is not in the vocabulary") == true)
    #expect(dataError { _ = try generator.generate(prime: "a", length: -1) } != nil)
    #expect(dataError { _ = try generator.generate(prime: "a", length: 2, temperature: -0.5) } != nil)
    let wrongOutput = TextGenerator(model: Self.model(5), vocabulary: vocabulary)
    #expect(dataErrorText { _ = try wrongOutput.generate(prime: "a", length: 2) }?.contains("logits") == true)
  }
}
