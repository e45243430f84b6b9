import Foundation
import RecurrentTestSupport
import Testing

@testable import Recurrent

/// Bad imports fail with a message naming the tensor and what was expected, and change no weight.
@Suite struct ImportErrorTests {
  /// The PyTorch fixture's tensors, edited by `edit`, written to a temporary file.
  static func editedStateDict(_ edit: (inout [String: Tensor<Float>]) -> Void) throws -> URL {
    let file = try SafetensorsFile(contentsOf: IOFixtures.url("torch_lstm_bidir.safetensors"))
    var tensors = [String: Tensor<Float>]()
    for name in file.names { tensors[name] = try file.tensor(name, as: Float.self) }
    edit(&tensors)
    var writer = SafetensorsWriter()
    for name in tensors.keys.sorted() { try writer.add(name, tensors[name]!) }
    let url = try IOFixtures.temporaryDirectory().appendingPathComponent("state.safetensors")
    try writer.write(to: url)
    return url
  }

  /// Expects `body` to throw `invalidArgument` containing every fragment.
  static func expectInvalidArgument(_ fragments: String..., sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void) {
    do {
      try body()
      Issue.record("expected invalidArgument, nothing was thrown", sourceLocation: sourceLocation)
    } catch let RecurrentError.invalidArgument(message) {
      for f in fragments where !message.contains(f) { Issue.record("message \"\(message)\" lacks \"\(f)\"", sourceLocation: sourceLocation) }
    } catch {
      Issue.record("expected invalidArgument, got \(error)", sourceLocation: sourceLocation)
    }
  }

  @Test func missingTensorIsNamedWithItsShape() throws {
    let url = try Self.editedStateDict { $0["rnn.bias_hh_l1_reverse"] = nil }
    let model = try ImportFixtureTests.torchLSTMBidir()
    let before = model.store.params
    expectInvalidData("missing tensor 'rnn.bias_hh_l1_reverse' [24]", "layers.1.bias_hh_reverse") {
      try model.loadPyTorchStateDict(from: url, mapping: ["rnn", "fc"])
    }
    expectInvalidData("missing tensor 'rnn.bias_hh_l1_reverse'") { try model.loadPyTorchStateDict(from: url) }
    #expect(model.store.params == before)
  }

  @Test func extraTensorsAreNamed() throws {
    let url = try Self.editedStateDict { $0["fc2.weight"] = Tensor(shape: [3, 3], repeating: 1) }
    let model = try ImportFixtureTests.torchLSTMBidir()
    expectInvalidData("tensor not in the model: 'fc2.weight' [3, 3]") { try model.loadPyTorchStateDict(from: url) }
    let level = try Self.editedStateDict { $0["rnn.weight_hr_l0"] = Tensor(shape: [2, 2], repeating: 1) }
    expectInvalidData("'rnn.weight_hr_l0'", "proj_size") { try model.loadPyTorchStateDict(from: level) }
  }

  @Test func shapeMismatchNamesTheTensorAndTheExpectedShape() throws {
    let path = IOFixtures.url("torch_lstm_bidir.safetensors").path
    let model = try ImportFixtureTests.torchLSTMBidir(dense: 4)
    expectInvalidData("tensor 'fc.weight' has shape [3, 12]; layers.2.weight [4, 12] needs [4, 12]") {
      try model.loadPyTorchStateDict(from: path, mapping: ["rnn", "fc"])
    }
    let wider = try ImportFixtureTests.torchLSTMBidir(units: 7)
    expectInvalidData("tensor 'rnn.weight_ih_l0' has shape [24, 5]; layers.0.weight_ih [28, 5] needs [28, 5]") {
      try wider.loadPyTorchStateDict(from: path)
    }
  }

  @Test func structureMismatchesAreExplained() throws {
    let path = IOFixtures.url("torch_lstm_bidir.safetensors").path
    let oneLayer = Sequential<Float>(seed: 1) {
      Bidirectional(LSTM(units: 6, returnSequences: true))
      Dense(units: 3)
    }
    try oneLayer.build(inputShape: [7, 5])
    expectInvalidData("'rnn' level 1 is a recurrent module; layers.1 (dense) is not recurrent") {
      try oneLayer.loadPyTorchStateDict(from: path, mapping: ["rnn", "fc"])
    }
    let unidirectional = Sequential<Float>(seed: 1) {
      LSTM(units: 6, returnSequences: true)
      LSTM(units: 6, returnSequences: true)
      Dense(units: 3)
    }
    try unidirectional.build(inputShape: [7, 5])
    expectInvalidData("'rnn' is bidirectional; layers.0 (lstm) is not") {
      try unidirectional.loadPyTorchStateDict(from: path, mapping: ["rnn", "fc"])
    }
    let gru = Sequential<Float>(seed: 1) {
      Bidirectional(GRU(units: 6, returnSequences: true))
      Bidirectional(GRU(units: 6, returnSequences: true))
      Dense(units: 3)
    }
    try gru.build(inputShape: [7, 5])
    expectInvalidData("'rnn' is an LSTM (4 gates); layers.0 (bidirectional gru) has 3") { try gru.loadPyTorchStateDict(from: path) }
    expectInvalidData("'rnn' is bidirectional; layers.0 (lstm) is not") { try unidirectional.loadPyTorchStateDict(from: path) }
    let denseOnly = Sequential<Float>(seed: 1) { Dense(units: 3) }
    try denseOnly.build(inputShape: [7, 12])
    expectInvalidData("tensors not in the model: 'rnn.bias_hh_l0' [24]", "(module 'rnn')") { try denseOnly.loadPyTorchStateDict(from: path) }
    let twoDense = Sequential<Float>(seed: 1) {
      Dense(units: 3)
      Dense(units: 3)
    }
    try twoDense.build(inputShape: [7, 12])
    expectInvalidData("no module in the file for layers.1 (dense) weight [3, 3], bias [3] (every module of that sort is used; left: 'rnn')") {
      try twoDense.loadPyTorchStateDict(from: path)
    }
    expectInvalidData("'rnn' is an LSTM (4 gates); layers.0 (bidirectional gru) has 3") {
      try gru.loadPyTorchStateDict(from: path, mapping: ["rnn", "fc"])
    }
    Self.expectInvalidArgument("names module 'lstm'", "(modules: 'fc', 'rnn')") {
      try ImportFixtureTests.torchLSTMBidir().loadPyTorchStateDict(from: path, mapping: ["lstm", "fc"])
    }
    Self.expectInvalidArgument("the mapping ends before layers.2 (dense)") {
      try ImportFixtureTests.torchLSTMBidir().loadPyTorchStateDict(from: path, mapping: ["rnn"])
    }
  }

  @Test func ambiguousModulesNeedAMappingWhichDecides() throws {
    var writer = SafetensorsWriter()
    try writer.add("a.weight", Tensor<Float>(shape: [3, 3], repeating: 1))
    try writer.add("a.bias", Tensor<Float>(shape: [3], repeating: 1))
    try writer.add("b.weight", Tensor<Float>(shape: [3, 3], repeating: 2))
    try writer.add("b.bias", Tensor<Float>(shape: [3], repeating: 2))
    let url = try IOFixtures.temporaryDirectory().appendingPathComponent("two.safetensors")
    try writer.write(to: url)
    let model = Sequential<Float>(seed: 1) {
      Dense(units: 3)
      Dense(units: 3)
    }
    try model.build(inputShape: [2, 3])
    Self.expectInvalidArgument("modules 'a', 'b' all fit layers.0 (dense)", "mapping") { try model.loadPyTorchStateDict(from: url) }
    try model.loadPyTorchStateDict(from: url, mapping: ["b", "a"])
    #expect(model.store.value(of: model.store["layers.0.weight"]!).scalars == [Float](repeating: 2, count: 9))
    #expect(model.store.value(of: model.store["layers.1.bias"]!).scalars == [1, 1, 1])
  }

  @Test func anUnbuiltModelIsRefusedAndADoubleModelLoads() throws {
    let path = IOFixtures.url("torch_gru.safetensors").path
    let unbuilt = Sequential<Float>(seed: 1) {
      GRU(units: 5)
      Dense(units: 3)
    }
    Self.expectInvalidArgument("build the model first") { try unbuilt.loadPyTorchStateDict(from: path) }
    // F32 weights into a Double model: the float32 reference within float32 accuracy.
    let model = Sequential<Double>(seed: 1) {
      RNN<GRUCell, Double>(units: 5)
      DenseLayer<Double>(units: 3)
    }
    try model.build(inputShape: [9, 4])
    try model.loadPyTorchStateDict(from: path)
    let (x, y) = try ImportFixtureTests.io("torch_gru")
    let out = try model.predict(Tensor(shape: x.shape, scalars: x.scalars.map(Double.init)))
    #expect(maxAbsoluteDifference(out.scalars.map(Float.init), y.scalars) <= 1e-6)
  }

  @Test func gruGatePermutationFromKeras() {
    // Keras z|r|h blocks -> our r|z|n, on a [3 blocks x 2] matrix, and the transpose.
    #expect(WeightImport.permuteBlocks([0, 0, 1, 1, 2, 2], blocks: KerasImport.gruBlocks) == [1, 1, 0, 0, 2, 2])
    #expect(WeightImport.transpose([1, 2, 3, 4, 5, 6], rows: 2, columns: 3) == [1, 4, 2, 5, 3, 6])
    #expect(KerasImport.split("bidirectional/backward_gru/gru_cell/bias") == ("bidirectional", "backward", "bias"))
    #expect(KerasImport.split("time_distributed/dense_1/kernel") == ("time_distributed/dense_1", "", "kernel"))
    #expect(PyTorchImport.recurrentLeaf("weight_ih_l12_reverse")! == ("weight_ih", 12, true))
    #expect(PyTorchImport.recurrentLeaf("weight_hr_l0") == nil)
  }
}
