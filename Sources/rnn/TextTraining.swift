import ArgumentParser
import Foundation
import Recurrent

/// The `rnn train --text FILE` options (a character-level language model, char-rnn style).
struct TextTrainingOptions: ParsableArguments {
  @Option(
    name: .long,
    help: """
      Train a character-level language model on this text file (instead of --task). Defaults: \
      \(TextDefaults.settings.units) units, \(TextDefaults.settings.epochs) epochs, \(TextDefaults.settings.batchSize) \
      parallel streams (--batch-size), lr \(TextDefaults.settings.learningRate), clip norm \(Int(TextDefaults.settings.clipNorm)); \
      --save keeps the epoch with the lowest validation bits per character.
      """)
  var text: String?

  @Option(
    name: .long,
    help: """
      What a character is (--text): codepoints (Unicode scalars; the default; the file must be valid \
      UTF-8) or bytes (any file; bits per character are then bits per byte).
      """)
  var unit: TextUnit?

  @Option(name: .long, help: "Steps per truncated-BPTT chunk (--text; default \(TextDefaults.seqLength)).")
  var seqLength: Int?

  @Option(
    name: .long, help: "Tail of the text held out for validation (--text; default \(TextDefaults.validationFraction)).")
  var validationFraction: Double?

  @Option(
    name: .long,
    help: "Folder for a checkpoint after every epoch, named with the validation bits per character (--text).")
  var checkpointDir: String?

  @Option(name: .long, help: "Symbols sampled after training, 0 for none (--text; default \(TextDefaults.sampleLength)).")
  var sampleLength: Int?

  func validate() throws {
    guard text != nil else {
      let given = [
        unit.map { _ in "--unit" }, seqLength.map { _ in "--seq-length" },
        validationFraction.map { _ in "--validation-fraction" }, checkpointDir.map { _ in "--checkpoint-dir" },
        sampleLength.map { _ in "--sample-length" },
      ].compactMap { $0 }
      if let first = given.first { throw ValidationError("\(first) applies to --text FILE only") }
      return
    }
    if let text, text.isEmpty { throw ValidationError("--text needs a file name") }
    if let seqLength, !(1...100_000).contains(seqLength) {
      throw ValidationError("--seq-length must be 1...100000, got \(seqLength)")
    }
    if let validationFraction, !(validationFraction > 0 && validationFraction <= 0.5) {
      throw ValidationError("--validation-fraction must be in (0, 0.5], got \(validationFraction)")
    }
    if let checkpointDir, checkpointDir.isEmpty { throw ValidationError("--checkpoint-dir needs a folder name") }
    if let sampleLength, !(0...100_000).contains(sampleLength) {
      throw ValidationError("--sample-length must be 0...100000, got \(sampleLength)")
    }
  }
}

/// Defaults of `rnn train --text` (char-rnn's, with one recurrent layer and an embedding).
enum TextDefaults {
  static let seqLength = 64
  static let validationFraction = 0.1
  static let sampleLength = 200
  static let settings = Train.Settings(
    units: 128, epochs: 10, batchSize: 32, learningRate: 0.002, clipNorm: 5, samples: 0, validationSamples: 0)
  /// Width of the embedding: the vocabulary size, at most 64.
  static func embeddingDimension(vocabularySize: Int) -> Int { min(64, vocabularySize) }
}

/// What `rnn train --text` did.
struct TextTrainingResult {
  struct Epoch: Equatable {
    var trainingBPC: Double
    var validationBPC: Double
    var seconds: Double
  }
  var settings: Train.Settings
  var vocabulary: Vocabulary
  /// B actually used (smaller than --batch-size when the text is too short for that many streams).
  var streams: Int
  var epochs: [Epoch]
  /// 1-based epoch with the lowest validation bits per character.
  var bestEpoch: Int
  var bestValidationBPC: Double { epochs[bestEpoch - 1].validationBPC }
  /// Bits per character of a smoothed unigram model of the training part on the validation part.
  var unigramBPC: Double
  var checkpoints: [String]
  var sample: String
  var seconds: Double
}

extension Train {
  /// Checks the flags that do not apply to --text (called by `validate` when --text is given).
  func validateTextFlags() throws {
    if task != nil { throw ValidationError("give either --task or --text, not both") }
    if steps != nil { throw ValidationError("--steps does not apply to --text (use --seq-length)") }
    if digits != nil { throw ValidationError("--digits applies to --task addition only") }
    if samples != nil || validationSamples != nil {
      throw ValidationError("--samples and --validation-samples do not apply to --text (use --validation-fraction)")
    }
  }

  /// Trains a character-level language model on `--text`: the first part of the file for
  /// training and its tail for validation, truncated BPTT over the whole training part with
  /// the state carried from chunk to chunk (`CharLanguageModel.trainEpoch`), validation bits
  /// per character after every epoch, checkpoints, the best model to `--save`, a sample.
  func executeText(output: CommandOutput, progress: ProgressReporter) throws -> TextTrainingResult {
    guard let path = textOptions.text else { throw RecurrentError.invalidArgument("--text FILE is missing") }
    let unit = textOptions.unit ?? .codepoints
    let seqLength = textOptions.seqLength ?? TextDefaults.seqLength
    let fraction = textOptions.validationFraction ?? TextDefaults.validationFraction
    let s = settings(defaults: TextDefaults.settings)

    let corpus = try TextCorpus(contentsOf: URL(fileURLWithPath: path), unit: unit.vocabularyUnit)
    let vocabulary = corpus.vocabulary
    let validationCount = Int((Double(corpus.count) * fraction).rounded(.down))
    guard corpus.count - validationCount >= seqLength + 1, validationCount >= 2 else {
      throw RecurrentError.invalidData(
        "\(path): \(corpus.count) \(unit.plural) is too short: the training part (the first \(fixedDigits((1 - fraction) * 100, 0))%) "
          + "needs at least --seq-length + 1 = \(seqLength + 1) and the validation part (the last "
          + "\(fixedDigits(fraction * 100, 0))%) at least 2; use a longer text or a smaller --seq-length")
    }
    let (trainIDs, validationIDs) = try corpus.split(validationFraction: fraction)
    // B streams of at least one full chunk each.
    let streams = max(1, min(s.batchSize, (trainIDs.count - 1) / seqLength))
    let batches = try TBPTTBatches(ids: trainIDs, batchSize: streams, steps: seqLength)
    let validation = try TextModel.evaluationBatches(validationIDs)

    let V = vocabulary.count
    let model = Sequential<Float>(
      [
        Embedding(vocabularySize: V, dimension: TextDefaults.embeddingDimension(vocabularySize: V)),
        cell.layer(units: s.units, returnSequences: true), Dense(units: V),
      ], seed: seed)
    try model.build(inputShape: [seqLength])
    let totalSteps = s.epochs * batches.count
    model.compile(
      optimizer: Adam(
        learningRate: s.learningRate, globalClipNorm: s.clipNorm > 0 ? s.clipNorm : nil,
        schedule: s.schedule == .cosine ? CosineDecay(decaySteps: totalSteps, alpha: 0.01) : nil),
      loss: SparseCategoricalCrossentropy(fromLogits: true))

    output.line(
      "Text: \(path), \(corpus.count) \(unit.plural), \(V) distinct; \(trainIDs.count) for training, the last "
        + "\(validationIDs.count) (\(fixedDigits(fraction * 100, 0))%) for validation")
    output.line(
      "\(cell.displayName) language model: embedding \(TextDefaults.embeddingDimension(vocabularySize: V)), \(s.units) units, "
        + "\(model.store.count) parameters; truncated BPTT: \(streams) streams x \(seqLength) steps, \(batches.count) chunks "
        + "per epoch, state carried; Adam lr \(s.learningRate)\(s.schedule == .cosine ? " (cosine decay)" : ""), clip norm "
        + "\(s.clipNorm == 0 ? "off" : "\(s.clipNorm)"), \(s.epochs) epochs, seed \(seed)")
    if streams < s.batchSize {
      output.line("(\(streams) streams instead of --batch-size \(s.batchSize): the training part holds \(streams) chunks of \(seqLength))")
    }
    let uniform = log2(Double(V))
    let unigram = Self.unigramBitsPerCharacter(training: trainIDs, validation: validationIDs, vocabularySize: V)
    output.line("Validation bits per character to beat: uniform \(fixedDigits(uniform, 3)), unigram \(fixedDigits(unigram, 3))")

    if let dir = textOptions.checkpointDir { try makeDirectory(dir) }
    var metadata = [
      "command": "rnn train --text", "task": TextModel.taskName, "text": path, "unit": unit.rawValue,
      "seq_length": "\(seqLength)", "cell": cell.rawValue, "units": "\(s.units)", "seed": "\(seed)",
      Vocabulary.metadataKey: vocabulary.json,
    ]
    let digits = max(2, String(s.epochs).count)
    var epochs = [TextTrainingResult.Epoch]()
    var checkpoints = [String]()
    var best = 0
    let start = monotonicNow()
    for epoch in 0..<s.epochs {
      progress.epochBegins(epoch, of: s.epochs)
      let epochStart = monotonicNow()
      var sum = 0.0
      let trainNats = try CharLanguageModel.trainEpoch(model, on: batches) { k, loss in
        sum += loss
        progress.batchEnds(k, of: batches.count, loss: sum / Double(k + 1), elapsed: monotonicNow() - epochStart)
      }
      let validationNats = try CharLanguageModel.meanCrossEntropy(model, on: validation)
      let record = TextTrainingResult.Epoch(
        trainingBPC: CharLanguageModel.bitsPerCharacter(nats: trainNats),
        validationBPC: CharLanguageModel.bitsPerCharacter(nats: validationNats), seconds: monotonicNow() - epochStart)
      epochs.append(record)
      progress.epochEnds(
        epoch, of: s.epochs,
        logs: ["loss": trainNats, "bpc": record.trainingBPC, "val_loss": validationNats, "val_bpc": record.validationBPC],
        elapsed: record.seconds)
      guard validationNats.isFinite else {
        throw RecurrentError.invalidData(
          "training diverged at epoch \(epoch + 1) (validation loss \(validationNats)); try a smaller --lr or --clip-norm")
      }
      metadata["epoch"] = "\(epoch + 1)"
      metadata["val_bpc"] = "\(record.validationBPC)"
      metadata["train_bpc"] = "\(record.trainingBPC)"
      if let dir = textOptions.checkpointDir {
        let name = "epoch\(String(epoch + 1).leftPadded(digits))-val\(fixedDigits(record.validationBPC, 3)).safetensors"
        let file = (dir.hasSuffix("/") ? dir : dir + "/") + name
        try model.save(to: file, metadata: metadata)
        checkpoints.append(file)
        output.line("  checkpoint \(file)")
      }
      if epochs.count == 1 || record.validationBPC < epochs[best].validationBPC {
        best = epoch
        if let save { try model.save(to: save, metadata: metadata) }
      }
    }
    let seconds = monotonicNow() - start

    output.line("")
    let b = epochs[best], last = epochs[epochs.count - 1]
    output.line(
      TextTable.render([
        ["validation figure", "value", "reference"],
        ["bits per character", fixedDigits(last.validationBPC, 3), "uniform \(fixedDigits(uniform, 3)), unigram \(fixedDigits(unigram, 3))"],
        ["best epoch", "\(best + 1)", "\(fixedDigits(b.validationBPC, 3)) bits per character"],
      ]))
    output.line("Trained in \(formatDuration(seconds)).")
    if let save { output.line("Saved the best model (epoch \(best + 1), \(fixedDigits(b.validationBPC, 3)) bpc) to \(save).") }

    var sample = ""
    let sampleLength = textOptions.sampleLength ?? TextDefaults.sampleLength
    if sampleLength > 0 {
      sample = try TextGenerator(model: model, vocabulary: vocabulary)
        .generate(prime: "", length: sampleLength, temperature: 0.8, seed: seed)
      output.line("")
      output.line("Sample (\(sampleLength) \(unit.plural), temperature 0.8, seed \(seed); more with rnn sample):")
      output.line(sample)
    }
    return TextTrainingResult(
      settings: s, vocabulary: vocabulary, streams: streams, epochs: epochs, bestEpoch: best + 1, unigramBPC: unigram,
      checkpoints: checkpoints, sample: sample, seconds: seconds)
  }

  /// Cross-entropy in bits of the validation symbols under the training part's symbol
  /// frequencies with add-one smoothing: what a model that ignores context achieves.
  static func unigramBitsPerCharacter(training: [Int], validation: [Int], vocabularySize V: Int) -> Double {
    var counts = [Double](repeating: 1, count: V)
    for id in training { counts[id] += 1 }
    let total = Double(training.count + V)
    var bits = 0.0
    for id in validation.dropFirst() { bits -= log2(counts[id] / total) }
    return bits / Double(max(1, validation.count - 1))
  }
}
