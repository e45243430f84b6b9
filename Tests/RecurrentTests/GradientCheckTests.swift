import Recurrent
import Testing

/// BPTT against central differences in Double, on 50 seeded random shapes per cell
/// (batch 1-4, steps 1-8, sizes 1-6), random non-zero h0/c0, every input, state and weight.
@Suite struct GradientCheckTests {
  static let cells: [String] = ["rnn", "rnn_relu", "lstm", "gru"]

  static func check(_ kind: String, batch: Int, steps: Int, input: Int, hidden: Int, layers: Int = 1,
                    goBackwards: Bool = false, seed: UInt64, corrupt: Double = 0) -> GradientCheckReport {
    switch kind {
    case "rnn": GradientCheck.run(SimpleRNNCell(), batch: batch, steps: steps, inputSize: input, hiddenSize: hidden, layers: layers, goBackwards: goBackwards, seed: seed, corruptAnalytic: corrupt)
    case "rnn_relu": GradientCheck.run(SimpleRNNCell(activation: .relu), batch: batch, steps: steps, inputSize: input, hiddenSize: hidden, layers: layers, goBackwards: goBackwards, seed: seed, corruptAnalytic: corrupt)
    case "lstm": GradientCheck.run(LSTMCell(), batch: batch, steps: steps, inputSize: input, hiddenSize: hidden, layers: layers, goBackwards: goBackwards, seed: seed, corruptAnalytic: corrupt)
    default: GradientCheck.run(GRUCell(), batch: batch, steps: steps, inputSize: input, hiddenSize: hidden, layers: layers, goBackwards: goBackwards, seed: seed, corruptAnalytic: corrupt)
    }
  }

  @Test(arguments: cells)
  func fiftyRandomShapes(kind: String) {
    var rng = SeededGenerator(seed: 0xC0FFEE)
    var worst = 0.0
    for trial in 0..<50 {
      let b = Int.random(in: 1...4, using: &rng), t = Int.random(in: 1...8, using: &rng)
      let i = Int.random(in: 1...6, using: &rng), h = Int.random(in: 1...6, using: &rng)
      let report = Self.check(kind, batch: b, steps: t, input: i, hidden: h, seed: UInt64(trial) &+ 1000)
      worst = max(worst, report.maxRelativeError)
      #expect(report.passed(tolerance: 1e-6), "\(report)")
    }
    #expect(worst < 1e-6)
  }

  @Test(arguments: cells)
  func stackedAndBackwards(kind: String) {
    let stacked = Self.check(kind, batch: 3, steps: 6, input: 4, hidden: 5, layers: 2, seed: 7)
    #expect(stacked.passed(), "\(stacked)")
    let reversed = Self.check(kind, batch: 2, steps: 5, input: 3, hidden: 4, goBackwards: true, seed: 8)
    #expect(reversed.passed(), "\(reversed)")
  }

  /// The check must be able to fail: a wrong analytic gradient is caught.
  @Test(arguments: cells)
  func detectsAWrongGradient(kind: String) {
    let report = Self.check(kind, batch: 2, steps: 3, input: 2, hidden: 3, seed: 9, corrupt: 1e-3)
    #expect(!report.passed(tolerance: 1e-6), "\(report)")
    #expect(report.worstEntry == "x[0]")
  }
}

/// Variable-length batches: padded steps neither change the state nor receive gradient.
@Suite struct MaskedGradientCheckTests {
  @Test(arguments: GradientCheckTests.cells)
  func mixedLengths(kind: String) {
    var rng = SeededGenerator(seed: 77)
    for trial in 0..<12 {
      let b = Int.random(in: 2...4, using: &rng), t = Int.random(in: 2...7, using: &rng)
      let lengths = (0..<b).map { _ in Int.random(in: 0...t, using: &rng) }
      let layers = trial % 3 == 0 ? 2 : 1, back = trial % 2 == 1
      let r: GradientCheckReport
      switch kind {
      case "rnn": r = GradientCheck.run(SimpleRNNCell(), batch: b, steps: t, inputSize: 3, hiddenSize: 4, layers: layers, goBackwards: back, lengths: lengths, seed: UInt64(trial))
      case "rnn_relu": r = GradientCheck.run(SimpleRNNCell(activation: .relu), batch: b, steps: t, inputSize: 3, hiddenSize: 4, layers: layers, goBackwards: back, lengths: lengths, seed: UInt64(trial))
      case "lstm": r = GradientCheck.run(LSTMCell(), batch: b, steps: t, inputSize: 3, hiddenSize: 4, layers: layers, goBackwards: back, lengths: lengths, seed: UInt64(trial))
      default: r = GradientCheck.run(GRUCell(), batch: b, steps: t, inputSize: 3, hiddenSize: 4, layers: layers, goBackwards: back, lengths: lengths, seed: UInt64(trial))
      }
      #expect(r.passed(), "\(r)")
    }
  }
}

/// Variational recurrent dropout: one fixed mask on h_{t-1} before the recurrent projection.
@Suite struct RecurrentDropoutGradientCheckTests {
  @Test func everyCellWithAMask() {
    for seed in UInt64(0)..<4 {
      let reports = [
        GradientCheck.run(SimpleRNNCell(), batch: 3, steps: 5, inputSize: 3, hiddenSize: 4, layers: 2, lengths: [5, 2, 0], recurrentDropout: 0.4, seed: seed),
        GradientCheck.run(LSTMCell(), batch: 3, steps: 5, inputSize: 3, hiddenSize: 4, layers: 2, recurrentDropout: 0.4, seed: seed),
        GradientCheck.run(GRUCell(), batch: 3, steps: 5, inputSize: 3, hiddenSize: 4, goBackwards: true, lengths: [3, 5, 1], recurrentDropout: 0.4, seed: seed),
      ]
      for r in reports { #expect(r.passed(), "\(r)") }
    }
  }
}
