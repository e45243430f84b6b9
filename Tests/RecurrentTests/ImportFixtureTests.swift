import Foundation
import RecurrentTestSupport
import Testing

@testable import Recurrent

/// PyTorch and Keras weights load into equivalent Recurrent models and give the source
/// framework's outputs (float32, within 1e-5). Fixtures: Scripts/fixtures/make_torch_import_fixtures.py
/// and make_keras_import_fixtures.py (state_dicts written by safetensors.torch.save_file, Keras
/// weights by Scripts/keras_to_safetensors.py, inputs and reference outputs).
@Suite struct ImportFixtureTests {
  static let tolerance = 1e-5

  /// The input and the source framework's output of fixture `name`.
  static func io(_ name: String) throws -> (x: Tensor<Float>, y: Tensor<Float>) {
    let file = try SafetensorsFile(contentsOf: IOFixtures.url("\(name)_io.safetensors"))
    return (try file.tensor("x", as: Float.self), try file.tensor("y", as: Float.self))
  }

  /// Predicts `name`'s input with `model` and compares with the recorded output.
  /// A copy of fixture `name` with the same tensors and no `__metadata__`, as a user's own
  /// export without the converter's layer list would be.
  static func withoutMetadata(_ name: String) throws -> URL {
    let file = try SafetensorsFile(contentsOf: IOFixtures.url("\(name).safetensors"))
    var writer = SafetensorsWriter()
    for tensor in file.names { try writer.add(tensor, try file.tensor(tensor, as: Float.self)) }
    let url = try IOFixtures.temporaryDirectory().appendingPathComponent("bare.safetensors")
    try writer.write(to: url)
    return url
  }

  static func expectMatches(_ model: Sequential<Float>, _ name: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let (x, y) = try io(name)
    let out = try model.predict(x)
    #expect(out.shape == y.shape, sourceLocation: sourceLocation)
    let diff = maxAbsoluteDifference(out, y)
    #expect(diff <= tolerance, "\(name): max |ours - reference| = \(diff)", sourceLocation: sourceLocation)
  }

  static func torchLSTMBidir(units: Int = 6, dense: Int = 3) throws -> Sequential<Float> {
    let model = Sequential<Float>(seed: 3) {
      Bidirectional(LSTM(units: units, returnSequences: true))
      Bidirectional(LSTM(units: units, returnSequences: true))
      Dense(units: dense)
    }
    try model.build(inputShape: [7, 5])
    return model
  }

  // MARK: - PyTorch

  @Test func torchTwoLayerBidirectionalLSTMWithLinear() throws {
    let path = IOFixtures.url("torch_lstm_bidir.safetensors").path
    let mapped = try Self.torchLSTMBidir()
    let report = try mapped.loadPyTorchStateDict(from: path, mapping: ["rnn", "fc"])
    #expect(report.map(\.module) == ["rnn", "rnn", "fc"])
    #expect(report.map(\.level) == [0, 1, 0])
    #expect(report[1].tensors.contains("rnn.weight_ih_l1_reverse"))
    try Self.expectMatches(mapped, "torch_lstm_bidir")
    // Without a mapping each layer finds its module; the weights are the same.
    let automatic = try Self.torchLSTMBidir()
    try automatic.loadPyTorchStateDict(from: path)
    #expect(automatic.store.params == mapped.store.params)
  }

  @Test func torchTimeMajorGRUOnLastState() throws {
    let model = Sequential<Float>(seed: 3) {
      GRU(units: 5)
      Dense(units: 3)
    }
    try model.build(inputShape: [9, 4])
    let report = try model.loadPyTorchStateDict(from: IOFixtures.url("torch_gru.safetensors"))
    #expect(report.map(\.module) == ["encoder.gru", "head"])
    try Self.expectMatches(model, "torch_gru")
  }

  @Test func torchEmbeddingAndStackedReluRNN() throws {
    let model = Sequential<Float>(seed: 3) {
      Embedding(vocabularySize: 10, dimension: 3)
      SimpleRNN(units: 4, activation: .relu, returnSequences: true)
      SimpleRNN(units: 4, activation: .relu, returnSequences: true)
      Dense(units: 2)
    }
    try model.build(inputShape: [6])
    let report = try model.loadPyTorchStateDict(from: IOFixtures.url("torch_rnn_relu.safetensors"))
    #expect(report.map(\.module) == ["emb", "rnn", "rnn", "out"])
    try Self.expectMatches(model, "torch_rnn_relu")
    // The state_dict cannot say tanh or relu: a tanh model loads the same weights but differs.
    let tanh = Sequential<Float>(seed: 3) {
      Embedding(vocabularySize: 10, dimension: 3)
      SimpleRNN(units: 4, returnSequences: true)
      SimpleRNN(units: 4, returnSequences: true)
      Dense(units: 2)
    }
    try tanh.build(inputShape: [6])
    try tanh.loadPyTorchStateDict(from: IOFixtures.url("torch_rnn_relu.safetensors"))
    let (x, y) = try Self.io("torch_rnn_relu")
    #expect(maxAbsoluteDifference(try tanh.predict(x), y) > 1e-3)
  }

  @Test func torchBareLSTMWithoutBiasLoadsZeroBiases() throws {
    let model = Sequential<Float>(seed: 3) { LSTM(units: 4, returnSequences: true) }
    try model.build(inputShape: [5, 3])
    let report = try model.loadPyTorchStateDict(from: IOFixtures.url("torch_lstm_nobias.safetensors"), mapping: [""])
    #expect(report == [ImportedLayer(layer: 0, module: "", level: 0, tensors: ["weight_hh_l0", "weight_ih_l0"])])
    #expect(model.store.value(of: model.store["layers.0.bias_ih"]!).scalars.allSatisfy { $0 == 0 })
    try Self.expectMatches(model, "torch_lstm_nobias")
  }

  // MARK: - Keras

  @Test func kerasLSTMGRUSimpleRNNDense() throws {
    let model = Sequential<Float>(seed: 3) {
      LSTM(units: 6, returnSequences: true)
      GRU(units: 5, returnSequences: true)
      SimpleRNN(units: 4)
      Dense(units: 3)
    }
    try model.build(inputShape: [7, 5])
    let url = IOFixtures.url("keras_import_stack.safetensors")
    let report = try model.loadKerasWeights(from: url)
    #expect(report.map(\.module) == ["lstm", "gru", "simple_rnn", "dense"])
    // Keras's single LSTM bias is bias_ih; bias_hh stays zero.
    #expect(model.store.value(of: model.store["layers.0.bias_hh"]!).scalars.allSatisfy { $0 == 0 })
    try Self.expectMatches(model, "keras_import_stack")
    // The architecture recorded by keras_to_safetensors.py builds the same model.
    let built = try Sequential<Float>.loadKeras(from: url)
    #expect(try ModelArchitecture(of: built).layers == (try ModelArchitecture(of: model).layers))
    #expect(built.store.params == model.store.params)
  }

  @Test func kerasWithoutMetadataFindsEachLayerByItsShapes() throws {
    // The same tensors without __metadata__: each layer takes the one module that fits, the GRU
    // is recognised by its 3 gate blocks and permuted.
    let url = try Self.withoutMetadata("keras_import_stack")
    let model = Sequential<Float>(seed: 3) {
      LSTM(units: 6, returnSequences: true)
      GRU(units: 5, returnSequences: true)
      SimpleRNN(units: 4)
      Dense(units: 3)
    }
    try model.build(inputShape: [7, 5])
    let report = try model.loadKerasWeights(from: url)
    #expect(report.map(\.module) == ["lstm", "gru", "simple_rnn", "dense"])
    try Self.expectMatches(model, "keras_import_stack")
  }

  @Test func kerasEmbeddingBidirectionalGRUBackwardsReluRNNSoftmax() throws {
    let model = Sequential<Float>(seed: 3) {
      Embedding(vocabularySize: 11, dimension: 4)
      Bidirectional(GRU(units: 5, returnSequences: true))
      SimpleRNN(units: 4, activation: .relu, returnSequences: true, goBackwards: true)
      Dense(units: 2, activation: .softmax)
    }
    try model.build(inputShape: [6])
    try model.loadKerasWeights(from: IOFixtures.url("keras_import_bidir.safetensors"))
    try Self.expectMatches(model, "keras_import_bidir")
    try Self.expectMatches(try Sequential<Float>.loadKeras(from: IOFixtures.url("keras_import_bidir.safetensors")), "keras_import_bidir")
  }

  @Test func kerasConv1DPoolingLayerNormTimeDistributed() throws {
    let model = Sequential<Float>(seed: 3) {
      Conv1D(filters: 4, kernelSize: 3, padding: .causal, dilation: 2, activation: .tanh)
      MaxPool1D(poolSize: 2)
      LayerNorm()
      GRU(units: 3, returnSequences: true)
      TimeDistributed(Dense(units: 2))
    }
    try model.build(inputShape: [12, 3])
    let url = IOFixtures.url("keras_import_conv.safetensors")
    try model.loadKerasWeights(from: url)
    try Self.expectMatches(model, "keras_import_conv")
    let built = try Sequential<Float>.loadKeras(from: url)
    #expect(try ModelArchitecture(of: built).layers == (try ModelArchitecture(of: model).layers))
    try Self.expectMatches(built, "keras_import_conv")
  }

  /// The model of keras_import_gru_reset_before (its first two GRUs reset-before unless told otherwise).
  static func resetBeforeModel(resetAfter: Bool = false, bidirectionalResetAfter: Bool? = nil) throws -> Sequential<Float> {
    let model = Sequential<Float>(seed: 3) {
      GRU(units: 5, resetAfter: resetAfter, returnSequences: true)
      Bidirectional(GRU(units: 3, resetAfter: bidirectionalResetAfter ?? resetAfter, returnSequences: true))
      GRU(units: 4)
      Dense(units: 2)
    }
    try model.build(inputShape: [6, 4])
    return model
  }

  @Test func kerasGRUResetBeforeAlsoBidirectionalNextToResetAfter() throws {
    let url = IOFixtures.url("keras_import_gru_reset_before.safetensors")
    let model = try Self.resetBeforeModel()
    let report = try model.loadKerasWeights(from: url)
    #expect(report.map(\.module) == ["gru_3", "bidirectional_1", "gru_5", "dense_3"])
    // Keras's single reset_after=False bias is bias_ih; bias_hh stays zero (both directions).
    for name in ["layers.0.bias_hh", "layers.1.bias_hh", "layers.1.bias_hh_reverse"] {
      #expect(model.store.value(of: model.store[name]!).scalars.allSatisfy { $0 == 0 }, "\(name)")
    }
    #expect(model.store.value(of: model.store["layers.2.bias_hh"]!).scalars.contains { $0 != 0 })
    try Self.expectMatches(model, "keras_import_gru_reset_before")
    // The recorded reset_after builds GRU(resetAfter: false) where Keras had False.
    let built = try Sequential<Float>.loadKeras(from: url)
    let layers = try ModelArchitecture(of: built).layers
    #expect(layers == (try ModelArchitecture(of: model).layers))
    #expect(layers[0].config["resetAfter"] == .bool(false))
    #expect(layers[2].config["resetAfter"] == .bool(true))
    #expect(built.store.params == model.store.params)
    try Self.expectMatches(built, "keras_import_gru_reset_before")
  }

  @Test func kerasGRUResetBeforeWithoutMetadataIsKnownByItsBias() throws {
    // Without __metadata__ the bias shape tells the forms apart: [3H] reset-before, [2, 3H] reset-after.
    let url = try Self.withoutMetadata("keras_import_gru_reset_before")
    let model = try Self.resetBeforeModel()
    #expect(try model.loadKerasWeights(from: url).map(\.module) == ["gru_3", "bidirectional_1", "gru_5", "dense_3"])
    try Self.expectMatches(model, "keras_import_gru_reset_before")
    expectInvalidData("'gru_3' is a reset-before GRU (Keras reset_after=False)", "resetAfter: false") {
      try Self.resetBeforeModel(resetAfter: true).loadKerasWeights(from: url)
    }
  }

  @Test func kerasGRUFormsMustAgree() throws {
    // reset_after=False weights into a reset-after GRU, and reset_after=True ones into a reset-before GRU.
    let url = IOFixtures.url("keras_import_gru_reset_before.safetensors")
    expectInvalidData("'gru_3' is a reset-before GRU (Keras reset_after=False); layers.0 (gru) is reset-after", "resetAfter: false") {
      try Self.resetBeforeModel(resetAfter: true).loadKerasWeights(from: url)
    }
    expectInvalidData("'bidirectional_1' is a reset-before GRU", "layers.1 (bidirectional gru) is reset-after") {
      try Self.resetBeforeModel(bidirectionalResetAfter: true).loadKerasWeights(from: url)
    }
    let stack = Sequential<Float>(seed: 3) {
      LSTM(units: 6, returnSequences: true)
      GRU(units: 5, resetAfter: false, returnSequences: true)
      SimpleRNN(units: 4)
      Dense(units: 3)
    }
    try stack.build(inputShape: [7, 5])
    expectInvalidData("'gru' is a reset-after GRU (PyTorch, Keras reset_after=True); layers.1 (gru) is reset-before") {
      try stack.loadKerasWeights(from: IOFixtures.url("keras_import_stack.safetensors"))
    }
  }

  @Test func pyTorchGRUIntoAResetBeforeGRUIsRefused() throws {
    // PyTorch has no reset-before GRU: its weights would run through other equations.
    let model = Sequential<Float>(seed: 3) {
      GRU(units: 5, resetAfter: false)
      Dense(units: 3)
    }
    try model.build(inputShape: [9, 4])
    let before = model.store.params
    expectInvalidData("'encoder.gru' is a reset-after GRU (PyTorch", "layers.0 (gru) is reset-before (resetAfter: false)") {
      try model.loadPyTorchStateDict(from: IOFixtures.url("torch_gru.safetensors"))
    }
    expectInvalidData("reset-before") {
      try model.loadPyTorchStateDict(from: IOFixtures.url("torch_gru.safetensors"), mapping: ["encoder.gru", "head"])
    }
    #expect(model.store.params == before)
  }

  @Test func kerasConfigurationMismatchesAreNamed() throws {
    // The recorded go_backwards, activation and cell kind are checked against the model.
    func model(_ first: any Layer<Float>, relu: Bool = true, backwards: Bool = true) throws -> Sequential<Float> {
      let m = Sequential<Float>([
        EmbeddingLayer(vocabularySize: 11, dimension: 4), first,
        RNN<SimpleRNNCell, Float>(units: 4, activation: relu ? .relu : .tanh, returnSequences: true, goBackwards: backwards),
        DenseLayer(units: 2, activation: .softmax),
      ])
      try m.build(inputShape: [6])
      return m
    }
    let url = IOFixtures.url("keras_import_bidir.safetensors")
    let gru = { Bidirectional(RNN<GRUCell, Float>(units: 5, returnSequences: true)) }
    expectInvalidData("go_backwards=True", "layers.2") { try model(gru(), backwards: false).loadKerasWeights(from: url) }
    expectInvalidData("rnn_relu", "layers.2 (rnn)") { try model(gru(), relu: false).loadKerasWeights(from: url) }
    expectInvalidData("merges the directions with concat", "sum") {
      try model(Bidirectional(RNN<GRUCell, Float>(units: 5, returnSequences: true), mergeMode: .sum)).loadKerasWeights(from: url)
    }
    expectInvalidData("a GRU (3 gates)", "layers.1 (bidirectional lstm) has 4") {
      try model(Bidirectional(RNN<LSTMCell, Float>(units: 5, returnSequences: true))).loadKerasWeights(from: url)
    }
  }
}
