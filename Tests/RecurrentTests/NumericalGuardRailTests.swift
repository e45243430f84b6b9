import Foundation
import Testing

@testable import Recurrent

/// A non-finite loss or gradient stops `fit` with an error naming the epoch and the step,
/// before the step is applied; the last checkpoint stays the last good one. Losses, activations
/// and cells stay finite on extreme inputs (logits 1e8, pre-activations +-1e4).
@Suite struct NumericalGuardRailTests {
  /// MSE, except that optimizer step `badStep` (1-based) returns a NaN loss or a NaN gradient.
  final class FaultyLoss: Loss, @unchecked Sendable {
    let badStep: Int
    let nanGradient: Bool
    var calls = 0
    init(badStep: Int, nanGradient: Bool = false) {
      self.badStep = badStep
      self.nanGradient = nanGradient
    }
    var name: String { "faulty_mse" }
    func compute<S: TensorScalar>(prediction: Tensor<S>, target: Tensor<S>, mask: Tensor<S>?) throws -> (value: Double, gradient: Tensor<S>) {
      calls += 1
      var (value, gradient) = try MeanSquaredError().compute(prediction: prediction, target: target, mask: mask)
      if calls == badStep {
        if nanGradient { gradient.scalars[0] = .nan } else { value = .nan }
      }
      return (value, gradient)
    }
  }

  /// Records the weights after every batch.
  final class Snapshots: Callback {
    var weights: [[Double]] = []
    func batchDidEnd(_ batch: Int, logs: [String: Double], model: any TrainingModel) {
      weights.append(model.parameterSnapshot())
    }
  }

  static func data() -> (Tensor<Float>, Tensor<Float>) {
    var rng = SeededGenerator(seed: 11)
    let x = Tensor<Float>(shape: [32, 5, 2], normalMean: 0, stddev: 1, using: &rng)
    let y = Tensor<Float>(shape: [32, 1], normalMean: 0, stddev: 1, using: &rng)
    return (x, y)
  }

  static func model() -> Sequential<Float> {
    Sequential(seed: 3) {
      GRU(units: 4)
      Dense(units: 1)
    }
  }

  @Test func aNaNLossStopsTrainingNamingEpochAndStepAndKeepsTheLastCheckpoint() throws {
    let dir = try IOFixtures.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let url = dir.appendingPathComponent("ckpt.safetensors")
    let (x, y) = Self.data()
    let model = Self.model()
    // 32 samples in batches of 8: 4 steps per epoch; step 11 is epoch 3, batch 3.
    let loss = FaultyLoss(badStep: 11)
    model.compile(optimizer: Adam(learningRate: 0.01), loss: loss)
    let snapshots = Snapshots()
    let checkpoint = ModelCheckpoint<Float>(url: url)
    do {
      try model.fit(x, y, epochs: 5, batchSize: 8, shuffle: false, callbacks: [checkpoint, snapshots], verbose: 0)
      Issue.record("fit did not stop")
    } catch let RecurrentError.invalidData(message) {
      #expect(message.contains("epoch 3/5, batch 3/4 (optimizer step 11)"), "\(message)")
      #expect(message.contains("the loss is nan"), "\(message)")
    }
    // The bad step was not applied: the weights are those after step 10, all finite.
    #expect(snapshots.weights.count == 11)  // batchDidEnd also reports the refused batch
    #expect(model.parameterSnapshot() == snapshots.weights[9])
    #expect(model.store.params.allSatisfy { $0.isFinite })
    // The checkpoint holds the end of epoch 2 and loads.
    #expect(checkpoint.savedEpochs == [1, 2])
    let restored = try Sequential<Float>.loadTrainingCheckpoint(from: url)
    #expect(restored.epoch == 2)
    #expect(restored.model.store.params.map { Double($0) } == snapshots.weights[7])
  }

  @Test func aNaNGradientStopsTrainingBeforeTheStep() throws {
    let (x, y) = Self.data()
    let model = Self.model()
    model.compile(optimizer: SGD(learningRate: 0.1), loss: FaultyLoss(badStep: 2, nanGradient: true))
    let snapshots = Snapshots()
    do {
      try model.fit(x, y, epochs: 1, batchSize: 8, shuffle: false, callbacks: [snapshots], verbose: 0)
      Issue.record("fit did not stop")
    } catch let RecurrentError.invalidData(message) {
      #expect(message.contains("epoch 1/1, batch 2/4 (optimizer step 2)"), "\(message)")
      // The NaN enters at the output and reaches every weight; the first is named.
      #expect(message.contains("the gradient of 'layers.0.weight_ih' is nan"), "\(message)")
    }
    #expect(model.parameterSnapshot() == snapshots.weights[0])
  }

  @Test func aDivergingLearningRateIsCaughtNotSaved() throws {
    let (x, y) = Self.data()
    let model = Self.model()
    model.compile(optimizer: SGD(learningRate: 1e30), loss: MeanSquaredError())
    #expect(throws: RecurrentError.self) { try model.fit(x, y, epochs: 3, batchSize: 8, verbose: 0) }
    #expect(model.store.params.allSatisfy { $0.isFinite })
  }

  // MARK: - Extreme inputs

  @Test func crossEntropiesStayFiniteOnHugeLogits() throws {
    let logits = Tensor<Float>(shape: [3, 3], scalars: [1e8, -1e8, 0, -1e8, 1e8, 1e8, 0, 0, -1e8])
    let sparse = try SparseCategoricalCrossentropy().compute(
      prediction: logits, target: Tensor(shape: [3], scalars: [1, 0, 2]), mask: nil)
    #expect(sparse.value.isFinite && sparse.value > 1e7)  // (2e8 + 2e8 + (1e8 + log 2)) / 3
    #expect(sparse.gradient.scalars.allSatisfy { $0.isFinite })
    let oneHot = Tensor<Float>(shape: [3, 3], scalars: [0, 1, 0, 1, 0, 0, 0, 0, 1])
    let categorical = try CategoricalCrossentropy().compute(prediction: logits, target: oneHot, mask: nil)
    #expect(categorical.value.isFinite && abs(categorical.value - sparse.value) <= 1e-6 * sparse.value)
    #expect(categorical.gradient.scalars.allSatisfy { $0.isFinite })
    let binary = try BinaryCrossentropy().compute(
      prediction: Tensor<Float>(shape: [4, 1], scalars: [1e8, -1e8, 1e8, -1e8]),
      target: Tensor(shape: [4, 1], scalars: [1, 0, 0, 1]), mask: nil)
    #expect(binary.value.isFinite && abs(binary.value - 5e7) <= 1)  // mean of 0, 1e8, 1e8, 0
    #expect(binary.gradient.scalars.allSatisfy { $0.isFinite })
    // Probabilities of exactly 0 and 1 (fromLogits: false) are clipped, not log(0).
    let probabilities = try CategoricalCrossentropy(fromLogits: false).compute(
      prediction: Tensor<Float>(shape: [1, 2], scalars: [1, 0]), target: Tensor(shape: [1, 2], scalars: [0, 1]), mask: nil)
    #expect(probabilities.value.isFinite && probabilities.gradient.scalars.allSatisfy { $0.isFinite })
    let bce = try BinaryCrossentropy(fromLogits: false).compute(
      prediction: Tensor<Float>(shape: [2, 1], scalars: [1, 0]), target: Tensor(shape: [2, 1], scalars: [0, 1]), mask: nil)
    #expect(bce.value.isFinite && bce.gradient.scalars.allSatisfy { $0.isFinite })
  }

  @Test(arguments: ActivationFunction.allCases)
  func activationsStayFiniteAtPlusMinus1e4(_ activation: ActivationFunction) throws {
    let model = Sequential<Float>(seed: 1) { Dense(units: 4, activation: activation) }
    try model.build(inputShape: [2])
    model.store.params = model.store.params.map { _ in 1 }  // pre-activations = x1 + x2 + 1
    let x = Tensor<Float>(shape: [4, 2], scalars: [5e3, 5e3, -5e3, -5e3, 1e4, -1e4 + 1, -1e4, 0])
    let y = try model.predict(x)
    #expect(y.scalars.allSatisfy { $0.isFinite }, "\(activation): \(y.scalars)")
    model.compile(optimizer: SGD(learningRate: 0), loss: MeanSquaredError())
    let logs = try model.evaluate(x, Tensor<Float>(shape: [4, 4]))
    #expect(logs["loss"]!.isFinite)
  }

  @Test(arguments: ["rnn", "lstm", "gru"])
  func cellsStayFiniteForwardAndBackwardAtPlusMinus1e4(_ kind: String) throws {
    let model = Sequential<Float>(seed: 2) {
      switch kind {
      case "rnn": SimpleRNN(units: 3, returnSequences: true)
      case "lstm": LSTM(units: 3, returnSequences: true)
      default: GRU(units: 3, returnSequences: true)
      }
      Dense(units: 1)
    }
    // Inputs of +-1e4 with unit-scale weights give gate pre-activations around +-1e4.
    var rng = SeededGenerator(seed: 4)
    var x = Tensor<Float>(shape: [2, 6, 3], normalMean: 0, stddev: 1, using: &rng)
    x.scalars = x.scalars.map { $0 >= 0 ? 1e4 : -1e4 }
    try model.build(inputShape: [6, 3])
    let y = try model.predict(x)
    #expect(y.scalars.allSatisfy { $0.isFinite }, "\(kind): \(y.scalars)")
    model.compile(optimizer: SGD(learningRate: 0.01), loss: MeanSquaredError())
    try model.fit(x, Tensor<Float>(shape: [2, 6, 1]), epochs: 2, batchSize: 2, verbose: 0)
    #expect(model.store.params.allSatisfy { $0.isFinite })
    #expect(model.store.grads.allSatisfy { $0.isFinite })
  }
}
