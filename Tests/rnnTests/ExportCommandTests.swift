import ArgumentParser
import Foundation
import Recurrent
import RecurrentONNX
import Testing

@testable import rnn

/// `rnn export` end to end, in process: the file it writes and its exit codes.
@Suite struct ExportCommandTests {
  static func exitCode(_ body: () throws -> Void) -> Int32 {
    do {
      try body()
      return 0
    } catch {
      return Export.exitCode(for: error).rawValue
    }
  }

  @Test func writesTheExportersBytesAndNamesFailures() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rnn-export-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let model = Sequential(seed: 3) {
      Bidirectional(GRU(units: 3, returnSequences: true))
      LSTM(units: 4)
      Dense(units: 2, activation: .softmax)
    }
    try model.build(inputShape: [5, 3])
    let m = dir.appendingPathComponent("m.safetensors").path
    try model.save(to: m)
    let onnx = dir.appendingPathComponent("m.onnx").path
    func run(_ args: [String]) -> Int32 {
      Self.exitCode {
        var cmd = try Export.parse(args)
        cmd.quiet = true
        try cmd.run()
      }
    }
    #expect(run(["--onnx", onnx, "--model", m]) == 0)
    let written = try AtomicFile.read(URL(fileURLWithPath: onnx))
    #expect(written == (try ONNXExporter().serializedModel(Sequential<Float>.load(from: m))))
    let proto = try Onnx_ModelProto(serializedBytes: written)
    #expect(proto.graph.node.map(\.opType).filter { ["GRU", "LSTM", "Gemm", "Softmax"].contains($0) } == ["GRU", "LSTM", "Gemm", "Softmax"])
    #expect(proto.graph.input.map(\.name) == ["input"])
    // --lengths: a second input that reaches both recurrent operators as sequence_lens.
    let padded = dir.appendingPathComponent("padded.onnx").path
    #expect(run(["--onnx", padded, "--model", m, "--lengths"]) == 0)
    let withLengths = try Onnx_ModelProto(serializedBytes: try AtomicFile.read(URL(fileURLWithPath: padded)))
    #expect(withLengths.graph.input.map(\.name) == ["input", "lengths"])
    let recurrent = withLengths.graph.node.filter { $0.opType == "GRU" || $0.opType == "LSTM" }
    #expect(recurrent.count == 2 && recurrent.allSatisfy { $0.input.count >= 5 && !$0.input[4].isEmpty })

    // I/O: a missing checkpoint, an unwritable destination.
    #expect(run(["--onnx", onnx, "--model", dir.appendingPathComponent("nope.safetensors").path]) == 74)
    #expect(run(["--onnx", dir.appendingPathComponent("no/such/dir/m.onnx").path, "--model", m]) == 74)
    // Data: a corrupt checkpoint; a layer ONNX cannot express, named with the file.
    let corrupt = dir.appendingPathComponent("corrupt.safetensors").path
    try AtomicFile.write(Array("not a checkpoint".utf8), to: URL(fileURLWithPath: corrupt))
    #expect(run(["--onnx", onnx, "--model", corrupt]) == 65)
    let masked = Sequential(seed: 4) {
      Embedding(vocabularySize: 6, dimension: 2, maskIndex: 0)
      GRU(units: 2)
    }
    try masked.build(inputShape: [4])
    let mm = dir.appendingPathComponent("masked.safetensors").path
    try masked.save(to: mm)
    #expect(run(["--onnx", dir.appendingPathComponent("masked.onnx").path, "--model", mm]) == 65)
    #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("masked.onnx").path))
    #expect {
      try Export.parse(["--onnx", onnx, "--model", mm]).execute()
    } throws: { e in
      guard case RecurrentError.invalidData(let message) = e else { return false }
      return message.hasPrefix("\(mm): layers.0 (embedding): cannot be exported to ONNX: maskIndex 0")
    }
    // Usage.
    #expect(run(["--onnx", "", "--model", m]) == 64)
    #expect(run(["--model", m]) == 64)
  }
}
