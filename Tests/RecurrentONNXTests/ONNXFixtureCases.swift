import Foundation
import Recurrent

/// The models whose ONNX export is checked against onnxruntime (Scripts/fixtures/onnx_export.py).
///
/// Each case is a seeded model whose every parameter (biases, LayerNorm γ/β, initial states
/// included) is redrawn from N(0, 0.5²), so a misplaced gate block or bias shows up in the
/// outputs, and an input that runs at a different number of steps than the model was built for
/// (the exported graph keeps steps symbolic).
struct ONNXFixtureCase: Sendable {
  var name: String
  /// Input shape without the batch axis that the model is built for.
  var inputShape: [Int]
  /// The input the fixture runs: [batch, steps, ...] (token ids when `vocabulary` is set).
  var runShape: [Int]
  /// Token ids in 0..<vocabulary instead of float features.
  var vocabulary: Int?
  var seed: UInt64
  /// Each row's real length: the model is exported with a `lengths` input and run with them.
  var lengths: [Int]? = nil
  var layers: @Sendable () -> [any Layer<Float>]

  /// The model with its redrawn weights.
  func model() throws -> Sequential<Float> {
    let model = Sequential<Float>(layers(), seed: seed)
    try model.build(inputShape: inputShape)
    var rng = SeededGenerator(seed: seed &+ 100)
    let values = Tensor<Float>(shape: [model.store.count], normalMean: 0, stddev: 0.5, using: &rng)
    model.store.params = values.scalars
    return model
  }

  /// The input the fixture runs.
  func input() -> Tensor<Float> {
    var rng = SeededGenerator(seed: seed &+ 200)
    if let vocabulary {
      let n = runShape.reduce(1, *)
      return Tensor(shape: runShape, scalars: (0..<n).map { _ in Float(Int.random(in: 0..<vocabulary, using: &rng)) })
    }
    return Tensor(shape: runShape, normalMean: 0, stddev: 1, using: &rng)
  }

  static let all: [ONNXFixtureCase] = [
    ONNXFixtureCase(name: "lstm", inputShape: [6, 3], runShape: [3, 8, 3], seed: 11) {
      [LSTM(units: 5, returnSequences: true)]
    },
    ONNXFixtureCase(name: "gru", inputShape: [6, 3], runShape: [3, 7, 3], seed: 12) {
      [GRU(units: 4, trainableInitialState: true), Dense(units: 2)]
    },
    ONNXFixtureCase(name: "gru_reset_before", inputShape: [6, 3], runShape: [3, 7, 3], seed: 31) {
      [GRU(units: 4, resetAfter: false, returnSequences: true), Bidirectional(GRU(units: 3, resetAfter: false)), Dense(units: 2)]
    },
    ONNXFixtureCase(name: "simple_rnn_tanh", inputShape: [6, 3], runShape: [2, 9, 3], seed: 13) {
      [SimpleRNN(units: 4, returnSequences: true, goBackwards: true), SimpleRNN(units: 3, trainableInitialState: true)]
    },
    ONNXFixtureCase(name: "simple_rnn_relu", inputShape: [6, 3], runShape: [3, 6, 3], seed: 14) {
      [RNN<SimpleRNNCell, Float>(SimpleRNNCell(activation: .relu), units: 4, returnSequences: true), Dense(units: 2, activation: .tanh)]
    },
    ONNXFixtureCase(name: "bidirectional_concat", inputShape: [6, 3], runShape: [3, 7, 3], seed: 15) {
      [
        Bidirectional(LSTM(units: 4, returnSequences: true, trainableInitialState: true)),
        Bidirectional(GRU(units: 3)),
        Dense(units: 2),
      ]
    },
    ONNXFixtureCase(name: "bidirectional_merge", inputShape: [5, 3], runShape: [2, 6, 3], seed: 16) {
      [
        Bidirectional(GRU(units: 3, returnSequences: true), mergeMode: .sum),
        Bidirectional(LSTM(units: 3, returnSequences: true, goBackwards: true), mergeMode: .concat),
        Bidirectional(SimpleRNN(units: 3, returnSequences: true), mergeMode: .mul),
        Bidirectional(GRU(units: 3, goBackwards: true), mergeMode: .average),
      ]
    },
    ONNXFixtureCase(name: "stacked_softmax", inputShape: [6, 4], runShape: [3, 8, 4], seed: 17) {
      [
        LSTM(units: 6, returnSequences: true, dropout: 0.2), Dropout(rate: 0.3), GRU(units: 5),
        Dense(units: 3, activation: .softmax),
      ]
    },
    ONNXFixtureCase(name: "embedding", inputShape: [6], runShape: [3, 7], vocabulary: 11, seed: 18) {
      [
        Embedding(vocabularySize: 11, dimension: 4), GRU(units: 6, returnSequences: true), LayerNormalization(),
        TimeDistributed(Dense(units: 11, activation: .softmax)),
      ]
    },
    ONNXFixtureCase(name: "conv_lstm", inputShape: [12, 3], runShape: [2, 12, 3], seed: 19) {
      [
        Conv1D(filters: 6, kernelSize: 3, padding: .causal, activation: .relu), MaxPool1D(poolSize: 2),
        LSTM(units: 5, returnSequences: true), Conv1D(filters: 4, kernelSize: 3, strides: 2, padding: .same, activation: .tanh),
        GlobalAveragePooling1D(), Dense(units: 2),
      ]
    },
    ONNXFixtureCase(name: "conv_misc", inputShape: [10, 2], runShape: [3, 10, 2], seed: 20) {
      [
        Conv1D(filters: 3, kernelSize: 2, dilation: 2, activation: .sigmoid, useBias: false),
        MaxPool1D(poolSize: 3, strides: 2, padding: .same), GlobalMaxPooling1D(), RepeatVector(count: 3),
        SimpleRNN(units: 4, returnSequences: true), Flatten(), Dense(units: 2, activation: .relu),
      ]
    },
    ONNXFixtureCase(name: "masked_pooling", inputShape: [8, 3], runShape: [3, 8, 3], seed: 21, lengths: [8, 3, 5]) {
      [
        Bidirectional(LSTM(units: 4, returnSequences: true)), GRU(units: 3, returnSequences: true, goBackwards: true),
        Dense(units: 3), GlobalAveragePooling1D(), Dense(units: 2),
      ]
    },
    ONNXFixtureCase(name: "masked_final", inputShape: [6, 2], runShape: [4, 6, 2], seed: 22, lengths: [2, 6, 4, 1]) {
      [
        SimpleRNN(units: 4, returnSequences: true), Bidirectional(GRU(units: 3, returnSequences: true), mergeMode: .average),
        Bidirectional(LSTM(units: 3, trainableInitialState: true)), Dense(units: 2),
      ]
    },
    ONNXFixtureCase(name: "masked_max", inputShape: [7, 2], runShape: [3, 7, 2], seed: 23, lengths: [7, 1, 4]) {
      [LSTM(units: 4, returnSequences: true, goBackwards: true), GlobalMaxPooling1D(), Dense(units: 2)]
    },
  ]
}
