import ArgumentParser
import Foundation
import Recurrent
import Testing

@testable import rnn

@Suite struct InspectCommandTests {
  @Test func writesAReportForEveryRecurrentLayer() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rnn-inspect-test-\(getpid())")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let model = Sequential(seed: 3) {
      SimpleRNN(units: 6, returnSequences: true)
      Bidirectional(LSTM(units: 4))
      Dense(units: 2)
    }
    var rng = SeededGenerator(seed: 4)
    let x = Tensor<Float>(shape: [5, 9, 3], uniformIn: -1...1, using: &rng)
    _ = try model.predict(x)
    let modelPath = dir.appendingPathComponent("m.safetensors").path
    try model.save(to: modelPath)
    let xPath = dir.appendingPathComponent("x.npy")
    try NPYArray(x).write(to: xPath)

    let layers = try Sequential<Float>.load(from: modelPath).diagnose(x)
    #expect(layers.map(\.name) == ["layers.0 rnn", "layers.1 lstm", "layers.1 lstm (reverse)"])
    #expect(layers.allSatisfy { $0.gradientNorms.count == 10 && $0.gradientNorms.allSatisfy(\.isFinite) })
    #expect(layers[1].gates.map(\.gate) == ["input", "forget", "cell", "output"])

    let out = dir.appendingPathComponent("report")
    var cmd = try Inspect.parse(["--model", modelPath, "--x", xPath.path, "--report", out.path, "--batch", "3"])
    try cmd.validate()
    try cmd.run()
    let html = try String(contentsOf: out.appendingPathComponent("report.html"), encoding: .utf8)
    #expect(html.contains("<svg") && html.contains("Gradient flow") && html.contains("layers.1 lstm (reverse)"))
    #expect(!html.contains("<script") && !html.contains("http://") || html.contains("xmlns=\"http://www.w3.org/2000/svg\""))
    let png = try Data(contentsOf: out.appendingPathComponent("gradient-flow.png"))
    #expect(png.prefix(4) == Data([0x89, 0x50, 0x4E, 0x47]))
  }

  @Test func missingModelIsAnIOError() throws {
    let cmd = try Inspect.parse(["--model", "/nonexistent/m.safetensors", "--x", "/nonexistent/x.npy"])
    #expect(throws: ExitCode(74)) { try cmd.run() }
  }
}
