import ArgumentParser
import Foundation
import Recurrent
import Testing

@testable import rnn

/// The reports of `rnn train --report`, `rnn demo` and `rnn inspect --text`.
@Suite struct DiagnosticsCommandTests {
  @Test func trainWritesAReport() throws {
    let dir = temporaryFolder("train-report")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let cmd = try Train.parse([
      "--task", "adding", "--steps", "6", "--epochs", "3", "--samples", "48", "--validation-samples", "16", "--units", "4",
      "--report", dir,
    ])
    let captured = CapturedOutput()
    _ = try cmd.execute(output: captured.output, progress: captured.progress)
    #expect(captured.text.contains("Wrote the diagnostics report (4 records"))
    let html = try String(contentsOfFile: dir + "/report.html", encoding: .utf8)
    #expect(html.contains("Gradient flow through time: layers.0 lstm") && html.contains("val_loss"))
    #expect(html.contains("LSTM") && !html.contains("<script"))
    let png = try Data(contentsOf: URL(fileURLWithPath: dir + "/gradient-flow.png"))
    #expect(png.prefix(4) == Data([0x89, 0x50, 0x4E, 0x47]))
    #expect(throws: (any Error).self) { try Train.parse(["--task", "adding", "--report", ""]) }
  }

  /// The demo's report puts the three cells on one chart; its one-pass curve equals the
  /// suffix-run figures of the verdict table at the sampled steps.
  @Test func demoReportHasTheThreeCellsOnOneChart() throws {
    let dir = temporaryFolder("demo-report")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let cmd = try Demo.parse([
      "--steps", "12", "--epochs", "1", "--samples", "64", "--validation-samples", "16", "--units", "4", "--out", dir,
    ])
    let captured = CapturedOutput()
    let result = try cmd.execute(output: captured.output, progress: captured.progress)
    #expect(result.outputs.suffix(2) == ["report.html", "gradient-flow.png"])
    for c in result.cells {
      #expect(c.gradientCurve.count == 13 && c.initialGradientCurve.count == 13)
      for (k, norm) in c.stateGradients {
        #expect(abs(c.gradientCurve[k] - norm) <= 1e-4 * max(norm, 1e-30), "\(c.kind) k=\(k)")
      }
      for (k, norm) in c.initialStateGradients {
        #expect(abs(c.initialGradientCurve[k] - norm) <= 1e-4 * max(norm, 1e-30), "\(c.kind) init k=\(k)")
      }
    }
    let chart = Demo.gradientFlowChart(result.cells, steps: 12)
    #expect(chart.series.map(\.name) == ["SimpleRNN", "LSTM", "GRU", "SimpleRNN init", "LSTM init", "GRU init"])
    #expect(chart.logScale)
    let html = try String(contentsOfFile: dir + "/report.html", encoding: .utf8)
    #expect(html.components(separatedBy: "Gradient reaching each step").count - 1 == 1)
    #expect(html.contains("Inside the trained cells") && html.contains("forget") && html.contains("update"))
    #expect(html.contains("final val MSE"))
  }

  /// `rnn inspect --text`: a character model saved with its vocabulary, read over a passage.
  @Test func inspectTextWritesTheHeatmap() throws {
    let dir = temporaryFolder("inspect-text")
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let corpus = try TextCorpus(text: "say \"hi\" (twice).\nok.\n")
    let model = Sequential<Float>(seed: 4) {
      Embedding(vocabularySize: corpus.vocabulary.count, dimension: 4)
      GRU(units: 6, returnSequences: true)
      Dense(units: corpus.vocabulary.count)
    }
    try model.build(inputShape: [5])
    try model.save(to: dir + "/char.safetensors", metadata: [Vocabulary.metadataKey: corpus.vocabulary.json])
    try model.save(to: dir + "/plain.safetensors")
    try "ok \"hi\" (say).\n".write(toFile: dir + "/passage.txt", atomically: true, encoding: .utf8)

    let cmd = try Inspect.parse([
      "--model", dir + "/char.safetensors", "--text", dir + "/passage.txt", "--units", "1, 4", "--report", dir + "/out",
    ])
    try cmd.validate()
    try cmd.run()
    let html = try String(contentsOfFile: dir + "/out/report.html", encoding: .utf8)
    #expect(html.contains("Hidden units over the text") && html.contains("<b>unit 1</b>") && html.contains("<b>unit 4</b>"))
    #expect(html.contains("Gradient flow") && html.contains("layers.1 gru"))

    let plain = try Inspect.parse(["--model", dir + "/plain.safetensors", "--text", dir + "/passage.txt"])
    #expect(throws: ExitCode(65)) { try plain.run() }
    let outside = try Inspect.parse(["--model", dir + "/char.safetensors", "--text", dir + "/passage.txt", "--units", "6"])
    #expect(throws: ExitCode(64)) { try outside.run() }
    try "ok \"hi\" (say) zebra.\n".write(toFile: dir + "/unknown.txt", atomically: true, encoding: .utf8)
    let unknown = try Inspect.parse(["--model", dir + "/char.safetensors", "--text", dir + "/unknown.txt"])
    #expect(throws: ExitCode(65)) { try unknown.run() }
    for args in [
      ["--model", "m", "--units", "3", "--x", "x.npy"], ["--model", "m"], ["--model", "m", "--x", "a", "--text", "b"],
      ["--model", "m", "--text", "t", "--units", "3,a"],
    ] {
      #expect(throws: (any Error).self, "\(args)") {
        let c = try Inspect.parse(args)
        try c.validate()
      }
    }
  }

  /// The demo's report opens in headless Chromium without errors (Scripts/screenshot-report.sh).
  /// CI has no chromium: the test is skipped there (the script is the documented check).
  @Test(.enabled(if: DiagnosticsCommandTests.chromium != nil, "chromium is not installed: skipping the browser check"))
  func reportRendersInHeadlessChromium() throws {
    let dir = temporaryFolder("chromium")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let cmd = try Demo.parse([
      "--steps", "8", "--epochs", "1", "--samples", "32", "--validation-samples", "8", "--units", "3", "--out", dir,
    ])
    let captured = CapturedOutput()
    _ = try cmd.execute(output: captured.output, progress: captured.progress)
    let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().appendingPathComponent("Scripts/screenshot-report.sh").path
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    process.arguments = [script, dir + "/report.html", dir + "/shot.png"]
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    #expect(process.terminationStatus == 0, "\(output)")
    #expect(output.contains("renders without errors"))
  }

  static let chromium: String? = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first {
    FileManager.default.isExecutableFile(atPath: $0)
  }
}
