import ArgumentParser
import Foundation
import Recurrent
import Testing

@testable import rnn

/// `rnn train --text`, `rnn sample` and `evaluateTextModel` end to end on a tiny generated text.
@Suite struct TextCommandTests {
  /// About 3 KB of three lines in a fixed rotation (one with a non-ASCII letter): every symbol
  /// after the first few is predictable from the context, so a small model gets far below the
  /// unigram figure.
  static let text: String = {
    let lines = ["the cat sat on the mat.\n", "a dog ran to the log!\n", "my café is open.\n"]
    return (0..<160).map { lines[$0 % 3] }.joined()
  }()

  struct Trained {
    let folder: String
    let textFile: String
    let save: String
    let result: TextTrainingResult
    let output: String
  }

  /// One training run shared by the tests that need a trained model.
  static let trained: Result<Trained, Error> = Result {
    let dir = temporaryFolder("text")
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let file = dir + "/input.txt"
    try Data(text.utf8).write(to: URL(fileURLWithPath: file))
    let save = dir + "/lm.safetensors"
    let cmd = try Train.parse([
      "--text", file, "--cell", "gru", "--units", "32", "--seq-length", "24", "--batch-size", "8", "--epochs", "10",
      "--lr", "0.01", "--checkpoint-dir", dir + "/ckpt", "--save", save, "--sample-length", "60", "--seed", "1",
    ])
    let captured = CapturedOutput()
    let result = try cmd.executeText(output: captured.output, progress: captured.progress)
    return Trained(folder: dir, textFile: file, save: save, result: result, output: captured.text)
  }

  func writeFile(_ bytes: [UInt8], _ name: String) throws -> String {
    let dir = temporaryFolder("text-\(name)")
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let path = dir + "/" + name
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    return path
  }

  /// The exit code `rnn` would give for what `body` throws (nil if it does not throw).
  func exitCode(_ body: () throws -> Void) -> (code: Int32, message: String)? {
    do {
      try body()
      return nil
    } catch let error as RecurrentError {
      return (ExitCodes.code(for: error), "\(error)")
    } catch {
      return (Train.exitCode(for: error).rawValue, Train.message(for: error))
    }
  }

  func trainText(_ args: [String]) throws -> TextTrainingResult {
    let captured = CapturedOutput()
    return try Train.parse(args).executeText(output: captured.output, progress: captured.progress)
  }

  // MARK: - Training

  @Test func trainingLearnsTheTextAndWritesNamedCheckpoints() throws {
    let t = try Self.trained.get()
    let r = t.result
    #expect(r.epochs.count == 10)
    #expect(r.vocabulary.unit == .unicodeScalars && r.vocabulary.id(of: 0xE9) != nil)  // é is one symbol
    #expect(r.streams == 8)
    let first = r.epochs[0].validationBPC, best = r.bestValidationBPC
    // Uniform over the ~22 symbols is ~4.5 bits; the unigram figure ~3.9; the rotation is learnable.
    #expect(r.unigramBPC > 3.5)
    #expect(best < 0.5, "validation bpc per epoch: \(r.epochs.map(\.validationBPC))")
    #expect(best < first)
    #expect(t.output.contains("Epoch 10/10"))
    #expect(t.output.contains("val_bpc"))
    #expect(t.output.contains("bits per character"))
    // One checkpoint per epoch, named with its validation bits per character.
    #expect(r.checkpoints.count == 10)
    for (k, path) in r.checkpoints.enumerated() {
      let name = (path as NSString).lastPathComponent
      #expect(name == "epoch\(String(k + 1).leftPadded(2))-val\(fixedDigits(r.epochs[k].validationBPC, 3)).safetensors")
      #expect(FileManager.default.fileExists(atPath: path))
    }
    // The saved model is the best epoch's, with its vocabulary.
    let saved = try TextModel.load(t.save)
    #expect(saved.vocabulary == r.vocabulary)
    #expect(saved.metadata["epoch"] == "\(r.bestEpoch)")
    #expect(saved.metadata["unit"] == "codepoints" && saved.metadata["task"] == "text")
    #expect(r.sample.unicodeScalars.count == 60)
  }

  @Test func evaluateTextModelMeasuresBitsPerCharacter() throws {
    let t = try Self.trained.get()
    let e = try evaluateTextModel(checkpoint: t.save, text: t.textFile)
    #expect(e.symbols == Self.text.unicodeScalars.count)
    #expect(e.unit == .codepoints && e.vocabularySize == t.result.vocabulary.count)
    #expect(e.bitsPerCharacter < 1.0 && e.bitsPerCharacter > 0, "\(e)")
    #expect(abs(e.bitsPerCharacter - e.crossEntropy / log(2)) < 1e-12)
    // On exactly the held-out tail it reproduces the figure training reported for the saved epoch.
    let scalars = Array(Self.text.unicodeScalars)
    let tail = String(String.UnicodeScalarView(scalars.suffix(Int((Double(scalars.count) * 0.1).rounded(.down)))))
    let tailFile = try writeFile(Array(tail.utf8), "tail.txt")
    let onTail = try evaluateTextModel(checkpoint: t.save, text: tailFile)
    #expect(abs(onTail.bitsPerCharacter - t.result.bestValidationBPC) < 1e-9, "\(onTail) vs \(t.result.bestValidationBPC)")
    // A symbol the model never saw is named with its position.
    let other = try writeFile(Array("the cat sat on the rug.".utf8), "other.txt")
    let failure = exitCode { _ = try evaluateTextModel(checkpoint: t.save, text: other) }
    #expect(failure?.code == 65)
    #expect(failure?.message.contains("'u' (U+0075) at position 20") == true, "\(failure?.message ?? "")")
  }

  @Test func evaluateCommandScoresATextModel() throws {
    let t = try Self.trained.get()
    let (result, text) = try DataCommandSupport.evaluate(["--model", t.save, "--text", t.textFile])
    let direct = try evaluateTextModel(checkpoint: t.save, text: t.textFile)
    #expect(result.figures.first?.name == "bits per character")
    #expect(result.figures.first.map { abs($0.number - direct.bitsPerCharacter) < 1e-12 } == true, "\(result.figures)")
    #expect(text.contains("bits per character"), "\(text)")
    // --text with another data kind is a usage error.
    #expect(throws: (any Error).self) { _ = try Evaluate.parse(["--model", t.save, "--text", t.textFile, "--task", "adding"]) }
  }

  @Test func aTerminalGetsAProgressBarAndALogGetsPlainLines() throws {
    let file = try writeFile(Array(Self.text.utf8.prefix(600)), "bar.txt")
    let args = ["--text", file, "--units", "4", "--epochs", "2", "--seq-length", "8", "--batch-size", "4", "--sample-length", "0"]
    var terminal = "", log = ""
    _ = try Train.parse(args).executeText(
      output: CommandOutput(sink: { _ in }), progress: ProgressReporter(verbose: 1, isTerminal: true, write: { terminal += $0 }))
    _ = try Train.parse(args).executeText(
      output: CommandOutput(sink: { _ in }), progress: ProgressReporter(verbose: 1, isTerminal: false, write: { log += $0 }))
    #expect(terminal.contains("\r") && terminal.contains("[==="), "\(terminal)")
    #expect(terminal.contains("val_bpc"))
    #expect(!log.contains("\r"))
    #expect(log.split(separator: "\n").filter { $0.hasPrefix("Epoch ") && $0.contains("val_bpc: ") }.count == 2, "\(log)")
  }

  // MARK: - Sampling

  @Test func sampleIsDeterministicForASeedAndStaysInTheVocabulary() throws {
    let t = try Self.trained.get()
    func sample(_ extra: [String]) throws -> String {
      try Sample.parse(["--model", t.save, "--length", "120"] + extra).generate()
    }
    let a = try sample(["--prime", "the ", "--seed", "7", "--temperature", "1.5"])
    let b = try sample(["--prime", "the ", "--seed", "7", "--temperature", "1.5"])
    #expect(a == b)
    #expect(a.unicodeScalars.count == 120)
    #expect(a.unicodeScalars.allSatisfy { t.result.vocabulary.id(of: $0.value) != nil })
    let others = try (1...4).map { try sample(["--prime", "the ", "--seed", "\($0)", "--temperature", "1.5"]) }
    #expect(others.contains { $0 != a }, "different seeds gave the same text")
    // Greedy continues the rotation exactly.
    let greedy = try sample(["--prime", "the cat sat on the mat.\n", "--greedy", "--length", "22"])
    #expect(greedy == "a dog ran to the log!\n")
  }

  @Test func sampleErrorsHaveClearMessagesAndExitCodes() throws {
    let t = try Self.trained.get()
    // A prime with characters outside the vocabulary: usage error naming them.
    let prime = exitCode { _ = try Sample.parse(["--model", t.save, "--prime", "the Zebra"]).generate() }
    #expect(prime?.code == 64)
    #expect(prime?.message.contains("'Z' (U+005A) at position 4") == true, "\(prime?.message ?? "")")
    #expect(prime?.message.contains("'b' (U+0062) at position 6") == true)
    // A missing file: I/O error.
    #expect(exitCode { _ = try Sample.parse(["--model", t.folder + "/missing.safetensors"]).generate() }?.code == 74)
    // A checkpoint of a model that is not a text model: data error.
    let sine = t.folder + "/sine.safetensors"
    let model = Sequential<Float>([LSTM(units: 2), Dense(units: 1)], seed: 1)
    try model.build(inputShape: [3, 1])
    try model.save(to: sine)
    let notText = exitCode { _ = try Sample.parse(["--model", sine]).generate() }
    #expect(notText?.code == 65)
    #expect(notText?.message.contains("not a text model") == true)
    // A file that is not a checkpoint at all.
    #expect(exitCode { _ = try Sample.parse(["--model", t.textFile]).generate() }?.code == 65)
    // Bad flags.
    for args in [["--temperature", "0"], ["--temperature", "-1"], ["--length", "-1"], ["--top-k", "0"], ["--temperature", "nan"]] {
      #expect(exitCode { _ = try Sample.parse(["--model", t.save] + args) }?.code == 64, "\(args)")
    }
  }

  // MARK: - Bad input

  @Test func badTextFilesGiveDataAndIOErrors() throws {
    let common = ["--units", "4", "--epochs", "1", "--sample-length", "0"]
    let empty = try writeFile([], "empty.txt")
    let e = exitCode { _ = try trainText(["--text", empty] + common) }
    #expect(e?.code == 65 && e?.message.contains("empty") == true, "\(e?.message ?? "")")

    var bytes = Array("hello world, hello world, hello world".utf8)
    bytes.insert(0xFF, at: 7)
    let invalid = try writeFile(bytes, "latin1.txt")
    let u = exitCode { _ = try trainText(["--text", invalid] + common) }
    #expect(u?.code == 65 && u?.message.contains("byte offset 7") == true, "\(u?.message ?? "")")
    // The same file trains with --unit bytes.
    let r = try trainText(["--text", invalid, "--unit", "bytes", "--seq-length", "8"] + common)
    #expect(r.vocabulary.unit == .bytes && r.vocabulary.id(of: 0xFF) != nil)

    let short = try writeFile(Array("abcabcabcabc".utf8), "short.txt")
    let s = exitCode { _ = try trainText(["--text", short, "--seq-length", "64"] + common) }
    #expect(s?.code == 65 && s?.message.contains("too short") == true, "\(s?.message ?? "")")

    let missing = exitCode { _ = try trainText(["--text", "/nonexistent/rnn-text.txt"] + common) }
    #expect(missing?.code == 74, "\(missing?.message ?? "")")
  }

  @Test func textFlagsAreCheckedWithUsageErrors() {
    for args in [
      ["--text", "a.txt", "--task", "adding"], ["--text", "a.txt", "--steps", "5"], ["--text", "a.txt", "--samples", "5"],
      ["--unit", "bytes", "--task", "adding"], ["--seq-length", "8", "--task", "adding"], ["--text", "a.txt", "--unit", "utf16"],
      ["--text", "a.txt", "--seq-length", "0"], ["--text", "a.txt", "--validation-fraction", "0"],
      ["--text", "a.txt", "--validation-fraction", "0.9"], ["--text", ""], ["--text", "a.txt", "--checkpoint-dir", ""],
    ] {
      #expect(exitCode { _ = try Train.parse(args) }?.code == 64, "\(args)")
    }
    #expect((try? Train.parse(["--text", "a.txt", "--unit", "bytes", "--seq-length", "16"])) != nil)
  }

  @Test func unigramReferenceIsTheSmoothedFrequencyCrossEntropy() {
    // Training "aab" -> counts a 2+1, b 1+1 of total 5; validation "ab" predicts only "b": -log2(2/5).
    let bits = Train.unigramBitsPerCharacter(training: [0, 0, 1], validation: [0, 1], vocabularySize: 2)
    #expect(abs(bits - -log2(2.0 / 5.0)) < 1e-12)
  }
}
