import Foundation
import Recurrent
import Testing

/// The built-in task generators: shapes, determinism per seed, the statistics their baselines
/// quote, and the scoring functions on perfect and wrong predictions.
@Suite struct TaskTests {
  // MARK: - Adding problem

  @Test func addingProblemHasTwoMarkersOneInEachHalfAndTheirSumAsTarget() throws {
    let T = 17
    let d = try AddingProblem(steps: T).generate(samples: 300, seed: 4)
    #expect(d.x.shape == [300, T, 2])
    #expect(d.y.shape == [300, 1])
    for n in 0..<d.count {
      let markers = (0..<T).filter { d.x[n, $0, 1] != 0 }
      #expect(markers.count == 2)
      #expect(markers.allSatisfy { d.x[n, $0, 1] == 1 })
      #expect(markers[0] < T / 2 && markers[1] >= T / 2)
      #expect(d.y[n, 0] == d.x[n, markers[0], 0] + d.x[n, markers[1], 0])
      #expect((0..<T).allSatisfy { (0..<1).contains(d.x[n, $0, 0]) })
    }
  }

  @Test func addingProblemTargetsHaveMeanOneAndVarianceOneSixth() throws {
    let d = try AddingProblem(steps: 10).generate(samples: 20000, seed: 1, as: Double.self)
    let ys = d.y.scalars
    let mean = ys.reduce(0, +) / Double(ys.count)
    let variance = ys.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(ys.count)
    #expect(abs(mean - 1) < 0.01)
    // Standard error of the variance of 20000 draws of a triangular variable is ~0.0012.
    #expect(abs(variance - AddingProblem.baselineMSE) < 0.006, "variance \(variance)")
    // Predicting 1 everywhere scores the baseline.
    let mse = ys.reduce(0) { $0 + ($1 - 1) * ($1 - 1) } / Double(ys.count)
    #expect(abs(mse - 1.0 / 6.0) < 0.006)
  }

  @Test func generatorsAreDeterministicPerSeed() throws {
    func same<S: TensorScalar>(_ a: TaskDataset<S>, _ b: TaskDataset<S>) -> Bool { a.x == b.x && a.y == b.y && a.lengths == b.lengths }
    let adding = AddingProblem(steps: 12)
    #expect(same(try adding.generate(samples: 20, seed: 3), try adding.generate(samples: 20, seed: 3)))
    #expect(!same(try adding.generate(samples: 20, seed: 3), try adding.generate(samples: 20, seed: 4)))
    let copy = CopyTask(symbols: 4, length: 3, delay: 2)
    #expect(same(try copy.generate(samples: 20, seed: 3), try copy.generate(samples: 20, seed: 3)))
    #expect(!same(try copy.generate(samples: 20, seed: 3), try copy.generate(samples: 20, seed: 4)))
    let reber = EmbeddedReberGrammar()
    #expect(same(try reber.generate(samples: 20, seed: 3), try reber.generate(samples: 20, seed: 3)))
    #expect(!same(try reber.generate(samples: 20, seed: 3), try reber.generate(samples: 20, seed: 4)))
    let parity = ParityTask(steps: 9)
    #expect(same(try parity.generate(samples: 20, seed: 3), try parity.generate(samples: 20, seed: 3)))
    #expect(!same(try parity.generate(samples: 20, seed: 3), try parity.generate(samples: 20, seed: 4)))
    let sine = SineWaveTask(steps: 9, noise: 0.1)
    #expect(same(try sine.generate(samples: 20, seed: 3), try sine.generate(samples: 20, seed: 3)))
    #expect(!same(try sine.generate(samples: 20, seed: 3), try sine.generate(samples: 20, seed: 4)))
    let addition = DigitAdditionTask(digits: 2)
    #expect(same(try addition.generate(samples: 20, seed: 3), try addition.generate(samples: 20, seed: 3)))
    #expect(!same(try addition.generate(samples: 20, seed: 3), try addition.generate(samples: 20, seed: 4)))
  }

  @Test func badParametersThrow() {
    #expect(throws: RecurrentError.self) { try AddingProblem(steps: 1).generate(samples: 4, seed: 0) }
    #expect(throws: RecurrentError.self) { try AddingProblem(steps: 10).generate(samples: 0, seed: 0) }
    #expect(throws: RecurrentError.self) { try CopyTask(symbols: 0).generate(samples: 4, seed: 0) }
    #expect(throws: RecurrentError.self) { try CopyTask(delay: -1).generate(samples: 4, seed: 0) }
    #expect(throws: RecurrentError.self) { try ParityTask(steps: 0).generate(samples: 4, seed: 0) }
    #expect(throws: RecurrentError.self) { try SineWaveTask(maxFrequency: 0.9).generate(samples: 4, seed: 0) }
    #expect(throws: RecurrentError.self) { try EmbeddedReberGrammar(maxLength: 8).generate(samples: 4, seed: 0) }
    #expect(throws: RecurrentError.self) { try DigitAdditionTask(digits: 0).generate(samples: 4, seed: 0) }
    // 1-digit operands give 55 distinct problems.
    #expect(throws: RecurrentError.self) { try DigitAdditionTask(digits: 1).generate(samples: 100, seed: 0) }
  }

  // MARK: - Parity

  @Test func parityTargetIsTheXorOfTheBits() throws {
    let d = try ParityTask(steps: 7).generate(samples: 2000, seed: 2)
    #expect(d.x.shape == [2000, 7, 1])
    #expect(d.y.shape == [2000, 1])
    var odd = 0
    for n in 0..<d.count {
      let bits = (0..<7).map { Int(d.x[n, $0, 0]) }
      #expect(bits.allSatisfy { $0 == 0 || $0 == 1 })
      #expect(Int(d.y[n, 0]) == bits.reduce(0, ^))
      odd += Int(d.y[n, 0])
    }
    #expect(abs(Double(odd) / 2000 - 0.5) < 0.04)
  }

  // MARK: - Copy

  @Test func copyTaskLayout() throws {
    let task = CopyTask(symbols: 5, length: 4, delay: 3)
    #expect(task.steps == 12 && task.classes == 7 && task.delimiterStep == 7 && task.recallSteps == 8..<12)
    let d = try task.generate(samples: 50, seed: 9)
    #expect(d.x.shape == [50, 12, 7])
    #expect(d.y.shape == [50, 12])
    for n in 0..<d.count {
      let inputs = (0..<12).map { t in (0..<7).first { d.x[n, t, $0] == 1 }! }
      #expect((0..<12).allSatisfy { t in (0..<7).reduce(Float(0)) { $0 + d.x[n, t, $1] } == 1 })  // one-hot
      #expect(inputs[0..<4].allSatisfy { (1...5).contains($0) })
      #expect(inputs[4..<7].allSatisfy { $0 == 0 })
      #expect(inputs[7] == 6)
      #expect(inputs[8...].allSatisfy { $0 == 0 })
      #expect((0..<8).allSatisfy { d.y[n, $0] == 0 })
      #expect((0..<4).allSatisfy { Int(d.y[n, 8 + $0]) == inputs[$0] })
    }
    #expect(abs(task.baselineCrossEntropy - 4 * log(5.0) / 12) < 1e-12)
  }

  @Test func copyRecallAccuracyScoresOnlyTheRecallSteps() throws {
    let task = CopyTask(symbols: 3, length: 2, delay: 1)
    let d = try task.generate(samples: 10, seed: 1)
    let perfect = oneHot(d.y, classes: task.classes)
    #expect(task.recallAccuracy(prediction: perfect, targets: d.y) == 1)
    // Always "blank": right on every non-recall step, wrong on every recall step.
    let blank = oneHot(Tensor<Float>(shape: d.y.shape, repeating: 0), classes: task.classes)
    #expect(task.recallAccuracy(prediction: blank, targets: d.y) == 0)
  }

  // MARK: - Embedded Reber

  @Test func reberStringsAreValidAndRepeatTheirSecondSymbol() throws {
    let grammar = EmbeddedReberGrammar(maxLength: 30)
    let d = try grammar.generate(samples: 500, seed: 5)
    let strings = EmbeddedReberGrammar.strings(of: d)
    #expect(d.x.shape == [500, strings.map(\.count).max()! - 1, 7])
    #expect(d.lengths == strings.map { $0.count - 1 })
    var branches = Set<Int>()
    for s in strings {
      #expect(EmbeddedReberGrammar.isValid(s), "\(EmbeddedReberGrammar.text(s))")
      #expect(s.count >= 9 && s.count <= 30)
      #expect(s[1] == s[s.count - 2])
      #expect(s[0] == 0 && s[2] == 0 && s.last == 6)
      branches.insert(s[1])
    }
    #expect(branches == [1, 2])
    let mean = Double(strings.map(\.count).reduce(0, +)) / Double(strings.count)
    #expect(mean > 10 && mean < 14, "mean length \(mean)")
    // Padded steps are zero inputs.
    for (n, s) in strings.enumerated() where s.count - 1 < d.steps {
      #expect((0..<7).allSatisfy { d.x[n, d.steps - 1, $0] == 0 })
    }
  }

  @Test func reberGrammarAcceptsAndRejects() {
    #expect(EmbeddedReberGrammar.isValid("BTBTXSETE"))
    #expect(EmbeddedReberGrammar.isValid("BPBPVVEPE"))
    #expect(EmbeddedReberGrammar.isValid("BTBTSSXXTVPSETE"))
    #expect(!EmbeddedReberGrammar.isValid("BTBTXSEPE"))  // second-to-last must repeat the T
    #expect(!EmbeddedReberGrammar.isValid("BTBTXSET"))  // incomplete
    #expect(!EmbeddedReberGrammar.isValid("BTBTXXETE"))  // X after X from r2 leads to r3, which cannot end
    #expect(!EmbeddedReberGrammar.isValid("BTBTXSETEE"))
    #expect(!EmbeddedReberGrammar.isValid("BTBQXSETE"))
  }

  @Test func reberScoresOfAnOracleAndOfAForgetfulModel() throws {
    let d = try EmbeddedReberGrammar().generate(samples: 200, seed: 8)
    let strings = EmbeddedReberGrammar.strings(of: d)
    // The oracle puts 1/k on each of the k legal next symbols.
    var oracle = Tensor<Float>(shape: [d.count, d.steps, 7])
    var forgetful = oracle
    for (n, s) in strings.enumerated() {
      var state = EmbeddedReberGrammar.State()
      for t in 0..<(s.count - 1) {
        state = state.reading(s[t])!
        let legal = state.legalNext
        for c in legal {
          oracle[n, t, c] = 1 / Float(legal.count)
          forgetful[n, t, c] = 1 / Float(legal.count)
        }
        if t == s.count - 3 {  // no memory of the branch: always guess T
          for c in 0..<7 { forgetful[n, t, c] = 0 }
          forgetful[n, t, 1] = 1
        }
      }
    }
    let perfect = EmbeddedReberGrammar.evaluate(prediction: oracle, on: d)
    #expect(perfect == EmbeddedReberGrammar.ReberScores(determinedAccuracy: 1, penultimateAccuracy: 1, stepAccuracy: 1, stringAccuracy: 1))
    let f = EmbeddedReberGrammar.evaluate(prediction: forgetful, on: d)
    let tBranch = Double(strings.filter { $0[1] == 1 }.count) / Double(strings.count)
    #expect(abs(f.penultimateAccuracy - tBranch) < 1e-12)
    #expect(abs(f.stringAccuracy - tBranch) < 1e-12)
    // 4 determined steps per string (the inner B, the E before the inner E, the penultimate, the last E).
    #expect(abs(f.determinedAccuracy - (1 - (1 - tBranch) / 4)) < 1e-12)
  }

  // MARK: - Sine

  @Test func sineTargetsContinueTheWaveAndBeatNoBaseline() throws {
    let task = SineWaveTask(steps: 20, horizon: 1, components: 1, minFrequency: 0.05, maxFrequency: 0.05)
    let d = try task.generate(samples: 200, seed: 3, as: Double.self)
    #expect(d.x.shape == [200, 20, 1] && d.y.shape == [200, 1])
    // One sine of known frequency ω: s(t+1) = 2 cos(ω) s(t) - s(t-1).
    let w = 2 * Double.pi * 0.05
    for n in 0..<d.count {
      let predicted = 2 * cos(w) * d.x[n, 19, 0] - d.x[n, 18, 0]
      #expect(abs(predicted - d.y[n, 0]) < 1e-9)
      #expect((0..<20).allSatisfy { abs(d.x[n, $0, 0]) <= 1 })
    }
    let b = SineWaveTask.baselines(of: d)
    #expect(b.lastValue < b.mean)
    #expect(b.mean > 0.1)
  }

  // MARK: - Digit addition

  @Test func digitAdditionEncodesQueriesAsKerasDoes() {
    let task = DigitAdditionTask(digits: 3)
    #expect(task.query(123, 45) == " 54+321")
    #expect(DigitAdditionTask(digits: 3, reverseQuery: false).query(123, 45) == "123+45 ")
    #expect(task.answer(123, 45) == "168 ")
    #expect(task.answer(999, 999) == "1998")
    #expect(DigitAdditionTask.encode("12+ ") == [1, 2, 10, 11])
    #expect(DigitAdditionTask.decode([1, 2, 10, 11]) == "12+ ")
  }

  @Test func digitAdditionSamplesAreDistinctAndCorrect() throws {
    let task = DigitAdditionTask(digits: 3)
    let d = try task.generate(samples: 500, seed: 6)
    #expect(d.x.shape == [500, 7, 12] && d.y.shape == [500, 4])
    var seen = Set<[Int]>()
    for n in 0..<d.count {
      let query = (0..<7).map { t in (0..<12).first { d.x[n, t, $0] == 1 }! }
      var text = DigitAdditionTask.decode(query)
      text = String(text.reversed())
      let parts = text.split(separator: " ")[0].split(separator: "+")
      let a = Int(parts[0])!, b = Int(parts[1])!
      #expect(a < 1000 && b < 1000)
      #expect(seen.insert([min(a, b), max(a, b)]).inserted)
      let answer = DigitAdditionTask.decode((0..<4).map { Int(d.y[n, $0]) })
      #expect(answer == task.answer(a, b))
    }
    let perfect = oneHot(d.y, classes: 12)
    #expect(task.accuracy(prediction: perfect, targets: d.y) == (1, 1))
    #expect(DigitAdditionTask.decodePredictions(perfect.samplesForTest(0..<1)) == [DigitAdditionTask.decode((0..<4).map { Int(d.y[0, $0]) })])
    // One wrong character in every answer: 3/4 of the characters, no exact answer.
    var wrong = perfect
    for n in 0..<d.count {
      let k = Int(d.y[n, 0])
      wrong[n, 0, k] = 0
      wrong[n, 0, (k + 1) % 12] = 1
    }
    let acc = task.accuracy(prediction: wrong, targets: d.y)
    #expect(acc.character == 0.75 && acc.exactMatch == 0)
  }

  // MARK: - TaskDataset

  @Test func datasetSplitKeepsOrderAndLengths() throws {
    let d = try EmbeddedReberGrammar().generate(samples: 10, seed: 2)
    let (train, validation) = d.split(validation: 3)
    #expect(train.count == 7 && validation.count == 3)
    #expect(train.lengths! + validation.lengths! == d.lengths!)
    #expect(train.x.scalars + validation.x.scalars == d.x.scalars)
    #expect(train.y.scalars + validation.y.scalars == d.y.scalars)
    #expect(validation.x.shape == [3, d.steps, 7])
  }
}

/// Rows `range` of a tensor [N, ...].
extension Tensor {
  fileprivate func samplesForTest(_ range: Range<Int>) -> Tensor {
    let row = count / shape[0]
    return Tensor(shape: [range.count] + shape.dropFirst(), scalars: Array(scalars[(range.lowerBound * row)..<(range.upperBound * row)]))
  }
}

/// One-hot [N, T, C] of class indices [N, T].
private func oneHot<S: TensorScalar>(_ y: Tensor<S>, classes C: Int) -> Tensor<S> {
  var out = Tensor<S>(shape: y.shape + [C])
  for (k, v) in y.scalars.enumerated() { out.scalars[k * C + Int(Double(v))] = 1 }
  return out
}
