import ArgumentParser
import Foundation
import Recurrent
import Testing

@testable import rnn

/// `rnn forward` end to end, in process: files in, files out, exit codes for bad input.
@Suite struct ForwardCommandTests {
  static func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("rnn-forward-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
  }

  static func randomTensor(_ shape: [Int], seed: UInt64) -> Tensor<Float> {
    var rng = SeededGenerator(seed: seed)
    return Tensor(shape: shape, normalMean: 0, stddev: 1, using: &rng)
  }

  /// The exit code `body` ends with (0 if it returns).
  static func exitCode(_ body: () throws -> Void) -> Int32 {
    do {
      try body()
      return 0
    } catch {
      return Forward.exitCode(for: error).rawValue
    }
  }

  @Test func runsAFloatModelBitExactly() throws {
    let dir = try Self.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let model = Sequential(seed: 4) {
      Bidirectional(LSTM(units: 3, returnSequences: true))
      GRU(units: 4)
      Dense(units: 2)
    }
    try model.build(inputShape: [6, 3])
    let modelURL = dir.appendingPathComponent("m.safetensors")
    try model.save(to: modelURL)
    // A different sequence length than the model was built for, and variable lengths.
    let x = Self.randomTensor([5, 9, 3], seed: 1)
    try NPYArray(x, dtype: .float64).write(to: dir.appendingPathComponent("x.npy"))
    try NPYArray(integers: [9, 1, 4, 9, 2], shape: [5], dtype: .int32).write(to: dir.appendingPathComponent("len.npy"))
    let cmd = try Forward.parse([
      "--model", modelURL.path, "--input", dir.appendingPathComponent("x.npy").path,
      "--output", dir.appendingPathComponent("y.npy").path, "--lengths", dir.appendingPathComponent("len.npy").path,
      "--batch-size", "2", "--quiet",
    ])
    try cmd.run()
    let y = try NPYArray(contentsOf: dir.appendingPathComponent("y.npy"))
    #expect(y.dtype == .float32 && y.shape == [5, 2])
    let expected = try model.predict(x, batchSize: 2, lengths: [9, 1, 4, 9, 2])
    #expect(y.tensor(as: Float.self) == expected)
  }

  @Test func runsATokenModel() throws {
    let dir = try Self.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let model = Sequential(seed: 5) {
      Embedding(vocabularySize: 10, dimension: 4, maskIndex: 0)
      LSTM(units: 3, returnSequences: true)
      Dense(units: 10, activation: .softmax)
    }
    try model.build(inputShape: [5])
    try model.save(to: dir.appendingPathComponent("lm.safetensors"))
    let ids = [3, 1, 4, 1, 5, 9, 2, 6, 0, 0]
    try NPYArray(integers: ids, shape: [2, 5]).write(to: dir.appendingPathComponent("ids.npy"))
    let cmd = try Forward.parse([
      "--model", dir.appendingPathComponent("lm.safetensors").path, "--input", dir.appendingPathComponent("ids.npy").path,
      "--output", dir.appendingPathComponent("probs.npy").path,
    ])
    #expect(try cmd.execute() == [2, 5, 10])
    let probs = try NPYArray(contentsOf: dir.appendingPathComponent("probs.npy")).tensor(as: Float.self)
    #expect(probs == (try model.predict(Tensor(shape: [2, 5], scalars: ids.map { Float($0) }))))
    // Token ids out of range are bad data.
    try NPYArray(integers: [3, 1, 4, 1, 50], shape: [1, 5]).write(to: dir.appendingPathComponent("bad.npy"))
    let bad = try Forward.parse([
      "--model", dir.appendingPathComponent("lm.safetensors").path, "--input", dir.appendingPathComponent("bad.npy").path,
      "--output", dir.appendingPathComponent("never.npy").path,
    ])
    #expect(Self.exitCode { try bad.run() } == 65)
    #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("never.npy").path))
  }

  @Test func exitCodesNameWhatWentWrong() throws {
    let dir = try Self.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let model = Sequential(seed: 6) {
      LSTM(units: 2)
      Dense(units: 1)
    }
    try model.build(inputShape: [4, 3])
    let m = dir.appendingPathComponent("m.safetensors").path
    try model.save(to: m)
    let good = dir.appendingPathComponent("x.npy").path
    try NPYArray(Self.randomTensor([2, 4, 3], seed: 2)).write(to: URL(fileURLWithPath: good))
    let out = dir.appendingPathComponent("y.npy").path
    func run(_ args: [String]) -> Int32 {
      Self.exitCode {
        var cmd = try Forward.parse(args)
        cmd.quiet = true
        try cmd.run()
      }
    }
    #expect(run(["--model", m, "--input", good, "--output", out]) == 0)
    // I/O: a missing model or input, an unwritable output.
    #expect(run(["--model", dir.appendingPathComponent("nope.safetensors").path, "--input", good, "--output", out]) == 74)
    #expect(run(["--model", m, "--input", dir.appendingPathComponent("nope.npy").path, "--output", out]) == 74)
    #expect(run(["--model", m, "--input", good, "--output", dir.appendingPathComponent("no/such/dir/y.npy").path]) == 74)
    // Data: the wrong feature count, a corrupt model, a non-NPY input, lengths that do not fit.
    let wide = dir.appendingPathComponent("wide.npy").path
    try NPYArray(Self.randomTensor([2, 4, 5], seed: 3)).write(to: URL(fileURLWithPath: wide))
    #expect(run(["--model", m, "--input", wide, "--output", out]) == 65)
    do {
      _ = try Forward.parse(["--model", m, "--input", wide, "--output", out]).execute()
    } catch let error as RecurrentError {
      #expect(error == .shapeMismatch("\(wide): expected float input [batch, steps, 3] for this model, got float32 [2, 4, 5]"))
    }
    let corrupt = dir.appendingPathComponent("corrupt.safetensors").path
    try AtomicFile.write(Array("not a safetensors file at all".utf8), to: URL(fileURLWithPath: corrupt))
    #expect(run(["--model", corrupt, "--input", good, "--output", out]) == 65)
    #expect(run(["--model", m, "--input", m, "--output", out]) == 65)
    let lengths = dir.appendingPathComponent("len.npy").path
    try NPYArray(integers: [4, 4, 4], shape: [3]).write(to: URL(fileURLWithPath: lengths))
    #expect(run(["--model", m, "--input", good, "--output", out, "--lengths", lengths]) == 65)
    try NPYArray(integers: [4, 7], shape: [2]).write(to: URL(fileURLWithPath: lengths))
    #expect(run(["--model", m, "--input", good, "--output", out, "--lengths", lengths]) == 65)
    // Usage: bad options.
    #expect(run(["--model", m, "--input", good, "--output", out, "--batch-size", "0"]) == 64)
    #expect(run(["--model", m, "--input", good]) == 64)
  }

  @Test func mapsEveryLibraryErrorToAnExitCode() {
    #expect(ExitCodes.code(for: .invalidArgument("x")) == 64)
    #expect(ExitCodes.code(for: .invalidData("x")) == 65)
    #expect(ExitCodes.code(for: .shapeMismatch("x")) == 65)
    #expect(ExitCodes.code(for: .io("x")) == 74)
  }
}
