import ArgumentParser
import Foundation
import Recurrent
import Testing

@testable import rnn

/// `rnn import` end to end on the committed PyTorch and Keras fixtures: the written checkpoint
/// runs with `rnn forward` and gives the source framework's outputs; bad input exits 64 / 65 / 74.
@Suite struct ImportCommandTests {
  static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("RecurrentTests/Fixtures")

  static func fixture(_ name: String) -> String { fixtures.appendingPathComponent(name).path }

  /// Imports with `arguments`, runs `rnn forward` on fixture `io`'s x and returns the max
  /// difference from its y.
  static func importAndForward(_ arguments: [String], io: String) throws -> Double {
    let dir = try ForwardCommandTests.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let model = dir.appendingPathComponent("m.safetensors").path
    try Import.parse(arguments + ["--out", model, "--quiet"]).run()
    let file = try SafetensorsFile(contentsOf: URL(fileURLWithPath: fixture("\(io)_io.safetensors")))
    let x = try file.tensor("x", as: Double.self)
    let xURL = dir.appendingPathComponent("x.npy")
    if file["x"]!.dtype == .i64 || file["x"]!.dtype == .i32 {
      try NPYArray(integers: try file.integers("x").map { Int($0) }, shape: x.shape, dtype: .int64).write(to: xURL)
    } else {
      try NPYArray(x, dtype: .float32).write(to: xURL)
    }
    let yPath = dir.appendingPathComponent("y.npy").path
    try Forward.parse(["--model", model, "--input", xURL.path, "--output", yPath, "--quiet"]).run()
    let y = try NPYArray(contentsOf: URL(fileURLWithPath: yPath)).tensor(as: Float.self)
    let expected = try file.tensor("y", as: Float.self)
    #expect(y.shape == expected.shape)
    return zip(y.scalars, expected.scalars).map { Double(abs($0 - $1)) }.max() ?? .infinity
  }

  @Test func importsAPyTorchBidirectionalLSTM() throws {
    let diff = try Self.importAndForward(
      [
        "--pytorch", Self.fixture("torch_lstm_bidir.safetensors"), "--layers", "bilstm:6,bilstm:6,dense:3", "--input-size", "5",
        "--return-sequences", "--mapping", "rnn,fc",
      ], io: "torch_lstm_bidir")
    #expect(diff <= 1e-5)
  }

  @Test func importsAPyTorchEmbeddingReluRNNWithoutMapping() throws {
    let diff = try Self.importAndForward(
      ["--pytorch", Self.fixture("torch_rnn_relu.safetensors"), "--layers", "embedding:10:3,rnn_relu:4,rnn_relu:4,dense:2", "--return-sequences"],
      io: "torch_rnn_relu")
    #expect(diff <= 1e-5)
  }

  @Test func importsKerasWithItsOwnArchitecture() throws {
    #expect(try Self.importAndForward(["--keras", Self.fixture("keras_import_stack.safetensors")], io: "keras_import_stack") <= 1e-5)
    #expect(try Self.importAndForward(["--keras", Self.fixture("keras_import_bidir.safetensors")], io: "keras_import_bidir") <= 1e-5)
    #expect(try Self.importAndForward(["--keras", Self.fixture("keras_import_gru_reset_before.safetensors")], io: "keras_import_gru_reset_before") <= 1e-5)
  }

  @Test func layerListParsing() throws {
    let specs = try Import.parseLayers("bigru:8, lstm:4,dropout:0.5,dense:3:softmax", returnSequences: false)
    #expect(specs.map(\.kind) == ["bidirectional", "lstm", "dropout", "dense"])
    #expect(specs[0].config["layer"]?.object?["config"]?.object?["returnSequences"] == .bool(true))
    #expect(specs[1].config["returnSequences"] == .bool(false))
    #expect(specs[3].config["activation"] == .string("softmax"))
    for bad in ["lstm", "lstm:0", "dense:3:swish", "conv:3", "lstm:4,,dense:1", "embedding:10"] {
      #expect(throws: ValidationError.self, "\(bad)") { try Import.parseLayers(bad, returnSequences: false) }
    }
  }

  @Test func badInputExitsWithTheRightCode() throws {
    let dir = try ForwardCommandTests.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let out = dir.appendingPathComponent("m.safetensors").path
    func code(_ arguments: [String]) -> Int32 {
      ForwardCommandTests.exitCode {
        var command = try Import.parseAsRoot(arguments + ["--out", out, "--quiet"])
        try command.run()
      }
    }
    let state = Self.fixture("torch_lstm_bidir.safetensors")
    #expect(code(["--pytorch", state]) == 64)  // no --layers
    #expect(code(["--pytorch", state, "--keras", state, "--layers", "lstm:6"]) == 64)
    #expect(code(["--pytorch", state, "--layers", "bilstm:6,bilstm:6,dense:3"]) == 64)  // no --input-size
    #expect(code(["--pytorch", state, "--layers", "bilstm:6,bilstm:6,dense:3", "--input-size", "5", "--mapping", "x,fc"]) == 64)
    #expect(code(["--pytorch", state, "--layers", "bilstm:7,bilstm:7,dense:3", "--input-size", "5"]) == 65)
    #expect(code(["--pytorch", state, "--layers", "lstm:6,lstm:6,dense:3", "--input-size", "5"]) == 65)
    #expect(code(["--keras", state]) == 65)  // a PyTorch state_dict has no keras_layers metadata
    #expect(code(["--pytorch", dir.appendingPathComponent("none.safetensors").path, "--layers", "lstm:2", "--input-size", "1"]) == 74)
    #expect(!FileManager.default.fileExists(atPath: out))
  }
}
