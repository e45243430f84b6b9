import ArgumentParser
import Foundation
import Recurrent
import Testing

@testable import rnn

@Suite struct TrainCommandTests {
  func run(_ args: [String]) throws -> (Train.Result, String) {
    let cmd = try Train.parse(args)
    let captured = CapturedOutput()
    let result = try cmd.execute(output: captured.output, progress: captured.progress)
    return (result, captured.text)
  }

  @Test func aTinyParityRun() throws {
    let (r, text) = try run([
      "--task", "parity", "--steps", "4", "--epochs", "2", "--samples", "64", "--validation-samples", "32", "--units", "6",
      "--cell", "gru",
    ])
    #expect(r.history.epochs.count == 2)
    #expect(r.settings.units == 6 && r.settings.samples == 64 && r.settings.validationSamples == 32)
    #expect(r.figures.map(\.name) == ["accuracy"])
    #expect((0...1).contains(r.figures[0].number))
    #expect(text.contains("parity of 4 bits"))
    #expect(text.contains("Epoch 2/2"))
    #expect(text.contains("chance 50%"))
  }

  @Test(arguments: [
    (["--task", "adding", "--steps", "8"], ["MSE"]),
    (["--task", "copy", "--steps", "2"], ["recall accuracy"]),
    (["--task", "reber"], ["penultimate symbol", "determined steps", "all steps (legal set)", "whole strings"]),
    (["--task", "sine", "--steps", "8"], ["MSE"]),
    (["--task", "addition", "--digits", "2", "--lr-schedule", "cosine"], ["exact answers", "characters"]),
  ])
  func everyTaskTrainsAndReportsItsMetric(args: [String], figures: [String]) throws {
    let (r, text) = try run(args + ["--epochs", "1", "--samples", "48", "--validation-samples", "16", "--units", "5", "--cell", "rnn"])
    #expect(r.figures.map(\.name) == figures)
    #expect(r.figures.allSatisfy { $0.number.isFinite })
    #expect(text.contains("validation figure"))
    if args[1] == "addition" { #expect(text.contains("Examples")) }
  }

  @Test func saveWritesACheckpointThatLoads() throws {
    let dir = temporaryFolder("train")
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let path = dir + "/sine.safetensors"
    let (_, text) = try run([
      "--task", "sine", "--steps", "5", "--epochs", "1", "--samples", "16", "--validation-samples", "8", "--units", "3",
      "--save", path,
    ])
    #expect(text.contains("Saved the trained model to \(path)"))
    let model = try Sequential<Float>.load(from: path)
    #expect(model.layers.count == 2)
    #expect(try model.predict(Tensor(shape: [2, 5, 1])).shape == [2, 1])
  }

  @Test func defaultsComeFromTheTask() throws {
    let cmd = try Train.parse(["--task", "addition"])
    let s = cmd.settings(defaults: try cmd.source().defaults(cell: .lstm))
    #expect(s.units == 128 && s.samples == 45000 && s.schedule == .cosine)
    let parity = try Train.parse(["--task", "parity", "--lr-schedule", "cosine"])
    #expect(parity.settings(defaults: try parity.source().defaults(cell: .gru)).schedule == .cosine)
    let overridden = try Train.parse(["--task", "addition", "--units", "16", "--lr", "0.1"])
    let t = overridden.settings(defaults: try overridden.source().defaults(cell: .lstm))
    #expect(t.units == 16 && t.learningRate == 0.1 && t.epochs == s.epochs)
  }

  @Test func rejectsBadFlagsWithUsageExitCode() {
    for args in [
      [String](), ["--task", "bogus"], ["--task", "parity", "--cell", "transformer"], ["--task", "parity", "--units", "0"],
      ["--task", "parity", "--digits", "3"], ["--task", "addition", "--steps", "5"], ["--task", "reber", "--steps", "5"],
      ["--task", "addition", "--digits", "12"], ["--task", "adding", "--steps", "1"], ["--task", "parity", "--lr", "0"],
      ["--task", "parity", "--epochs", "0"], ["--task", "parity", "--samples", "1"], ["--task", "parity", "--batch-size", "-3"],
      ["--task", "parity", "--clip-norm", "-1"], ["--task", "parity", "--save", ""], ["--task", "parity", "--lr-schedule", "linear"],
    ] {
      do {
        _ = try Train.parse(args)
        Issue.record("accepted \(args)")
      } catch {
        #expect(Train.exitCode(for: error) == .validationFailure, "\(args): \(Train.message(for: error))")
      }
    }
  }

  @Test func tooManyAdditionProblemsIsAClearError() throws {
    let cmd = try Train.parse(["--task", "addition", "--digits", "1", "--samples", "40", "--validation-samples", "10", "--epochs", "1"])
    let captured = CapturedOutput()
    #expect(throws: RecurrentError.self) { try cmd.execute(output: captured.output, progress: captured.progress) }
  }

  @Test func formatsFigures() {
    #expect(fixedDigits(0.16666, 3) == "0.167")
    #expect(fixedDigits(-2.5, 1) == "-2.5")
    #expect(fixedDigits(0.0004, 2) == "0.00")
    #expect(fixedDigits(12.999, 2) == "13.00")
    #expect(formatDuration(42.34) == "42.3s")
    #expect(formatDuration(112) == "1m52s")
    #expect(formatDuration(61) == "1m01s")
  }
}
