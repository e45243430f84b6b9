import Foundation
import Testing

@testable import Recurrent

/// Training is a pure function of the seed, the data and the kernels: three runs with the same
/// seed and thread count give bit-identical weights, and so do one and two threads (the GEMM
/// splits work so that every output element is summed in the same order; see docs/determinism.md).
@Suite(.serialized) struct DeterminismTests {
  static func train(threads: Int, portable: Bool = false) throws -> [Float] {
    let saved = ComputeSettings.threadCount
    ComputeSettings.threadCount = threads
    ComputeSettings.forcePortableKernels(portable)  // affects the calling thread only
    defer {
      ComputeSettings.threadCount = saved
      ComputeSettings.forcePortableKernels(false)
    }
    var rng = SeededGenerator(seed: 21)
    // Large enough that the GEMMs split across threads (batch 64 x 4 gates x 48 units).
    let x = Tensor<Float>(shape: [128, 12, 16], normalMean: 0, stddev: 1, using: &rng)
    let y = Tensor<Float>(shape: [128, 3], normalMean: 0, stddev: 1, using: &rng)
    let model = Sequential<Float>(seed: 9) {
      LSTM(units: 48, returnSequences: true, dropout: 0.1, recurrentDropout: 0.1)
      Bidirectional(GRU(units: 24))
      Dropout(rate: 0.2)
      Dense(units: 3)
    }
    model.compile(optimizer: AdamW(learningRate: 0.003, globalClipNorm: 1), loss: MeanSquaredError())
    try model.fit(x, y, epochs: 2, batchSize: 64, verbose: 0)
    return model.store.params
  }

  static func sameBits(_ a: [Float], _ b: [Float]) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { $0.bitPattern == $1.bitPattern }
  }

  @Test func threeRunsWithTheSameSeedAndThreadsAreBitIdentical() throws {
    let runs = try (0..<3).map { _ in try Self.train(threads: 2) }
    #expect(Self.sameBits(runs[0], runs[1]))
    #expect(Self.sameBits(runs[0], runs[2]))
    // The runs did train (weights moved from the initial ones).
    let initial = Sequential<Float>(seed: 9) {
      LSTM(units: 48, returnSequences: true, dropout: 0.1, recurrentDropout: 0.1)
      Bidirectional(GRU(units: 24))
      Dropout(rate: 0.2)
      Dense(units: 3)
    }
    try initial.build(inputShape: [12, 16])
    #expect(!Self.sameBits(initial.store.params, runs[0]))
  }

  @Test func oneAndTwoThreadsAreBitIdentical() throws {
    #expect(Self.sameBits(try Self.train(threads: 1), try Self.train(threads: 2)))
  }

  /// Not a guarantee but a measurement: the AVX2+FMA and portable kernels round differently
  /// (fused multiply-adds, other summation blocking, other exp/tanh polynomials), so weights
  /// trained on different CPUs agree only approximately. Prints the difference.
  @Test func portableAndAVX2KernelsAgreeOnlyApproximately() throws {
    let best = try Self.train(threads: 2)
    let portable = try Self.train(threads: 2, portable: true)
    var diff = 0.0, norm = 0.0, maxAbs = 0.0, differing = 0
    for (a, b) in zip(best, portable) {
      diff += Double(a - b) * Double(a - b)
      norm += Double(a) * Double(a)
      maxAbs = max(maxAbs, Double(abs(a - b)))
      if a.bitPattern != b.bitPattern { differing += 1 }
    }
    let relative = (diff / norm).squareRoot()
    print(
      "DeterminismTests: \(ComputeSettings.activeInstructionSet) vs portable after 2 epochs: \(differing) of "
        + "\(best.count) weights differ, max |diff| \(maxAbs), relative L2 \(relative)")
    #expect(relative < 1e-3)
  }
}
