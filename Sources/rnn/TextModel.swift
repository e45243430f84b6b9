import ArgumentParser
import Foundation
import Recurrent

/// What one "character" of a text model is (`rnn train --text --unit`).
enum TextUnit: String, CaseIterable, ExpressibleByArgument {
  /// Unicode scalars (code points) of the UTF-8 text: the default; the file must be valid UTF-8.
  case codepoints
  /// The raw bytes of the file: any file works; bits per character are then bits per byte.
  case bytes

  static var allNames: String { allCases.map(\.rawValue).joined(separator: ", ") }

  init(_ unit: Vocabulary.Unit) {
    self = unit == .bytes ? .bytes : .codepoints
  }

  var vocabularyUnit: Vocabulary.Unit { self == .bytes ? .bytes : .unicodeScalars }

  /// "code points" / "bytes", for messages.
  var plural: String { self == .bytes ? "bytes" : "code points" }
}

/// A character-level language model saved by `rnn train --text`: the network (token ids
/// [B, T] -> logits [B, T, V]) and the vocabulary stored in the checkpoint's metadata under
/// `Vocabulary.metadataKey` (its JSON holds the unit too), so `rnn sample` and
/// `evaluateTextModel` decode and encode exactly as training did.
struct TextModel {
  let path: String
  let model: Sequential<Float>
  let vocabulary: Vocabulary
  /// The checkpoint's user metadata (`task` = "text", `val_bpc`, `epoch`, ...).
  let metadata: [String: String]

  /// `metadata["task"]` of a text model (as built-in tasks store their name there).
  static let taskName = "text"

  /// Loads and checks a text checkpoint. Throws `RecurrentError.io` (exit 74) when the file
  /// cannot be read, and `invalidData` (exit 65) when it is not a Recurrent checkpoint, has no
  /// vocabulary (not a text model), or its network does not map ids of that vocabulary to
  /// logits over it.
  static func load(_ path: String) throws -> TextModel {
    let url = URL(fileURLWithPath: path)
    let file = try SafetensorsFile(contentsOf: url)
    let model = try Sequential<Float>.load(from: url)
    guard let json = file.metadata[Vocabulary.metadataKey] else {
      throw RecurrentError.invalidData(
        "\(path): not a text model: the checkpoint has no \"\(Vocabulary.metadataKey)\" metadata "
          + "(text models are written by rnn train --text)")
    }
    let vocabulary: Vocabulary
    do {
      vocabulary = try Vocabulary(json: json)
    } catch RecurrentError.invalidData(let message) {
      throw RecurrentError.invalidData("\(path): \(message)")
    }
    let V = vocabulary.count
    guard let embedding = model.layers.first as? EmbeddingLayer<Float>, embedding.vocabularySize == V else {
      throw RecurrentError.invalidData(
        "\(path): not a text model: its first layer must be an Embedding of the \(V)-symbol vocabulary")
    }
    let probe = try model.forward(Tensor(shape: [1, 1], scalars: [0]), context: LayerContext(training: false))
    guard probe.shape == [1, 1, V] else {
      throw RecurrentError.invalidData(
        "\(path): not a text model: it must output logits [batch, steps, \(V)], got \(probe.shape) for ids [1, 1]")
    }
    var user = file.metadata
    for key in Checkpoint.reservedMetadataKeys { user[key] = nil }
    return TextModel(path: path, model: model, vocabulary: vocabulary, metadata: user)
  }

  /// Chunks for measuring a model on held-out ids with the state carried: at most 32 parallel
  /// streams of at least 1000 symbols each (one stream for shorter texts), 128 steps per chunk.
  /// Each stream starts from a zero state, so fewer, longer streams measure closer to one
  /// pass over the whole text.
  static func evaluationBatches(_ ids: [Int]) throws -> TBPTTBatches {
    try TBPTTBatches(ids: ids, batchSize: max(1, min(32, (ids.count - 1) / 1000)), steps: 128)
  }
}

/// The figures of a text model on a text (`evaluateTextModel`).
struct TextEvaluation: Equatable {
  /// Mean cross-entropy of the next-symbol predictions, in bits (per byte for the bytes unit).
  var bitsPerCharacter: Double
  /// The same in nats (the training loss).
  var crossEntropy: Double
  /// Predicted positions (symbols of the text minus one, minus the few left over by the
  /// parallel streams).
  var positions: Int
  /// Symbols in the text.
  var symbols: Int
  var unit: TextUnit
  var vocabularySize: Int
  var seconds: Double
}

/// Bits per character of the text model in `checkpoint` on the text file `text`, read in the
/// checkpoint's unit and vocabulary, with the state carried over the whole file
/// (`TextModel.evaluationBatches`).
///
/// - Throws: `RecurrentError.io` if a file cannot be read; `invalidData` if the checkpoint is
///   not a text model, the text is empty, not valid UTF-8 (code points unit; naming the byte
///   offset), has fewer than 2 symbols, or contains a symbol outside the vocabulary (naming it
///   and its position).
func evaluateTextModel(checkpoint: String, text: String) throws -> TextEvaluation {
  let start = monotonicNow()
  let textModel = try TextModel.load(checkpoint)
  let corpus: TextCorpus
  do {
    corpus = try TextCorpus(contentsOf: URL(fileURLWithPath: text), vocabulary: textModel.vocabulary)
  } catch RecurrentError.invalidData(let message) where message.contains("not in the vocabulary") {
    throw RecurrentError.invalidData("\(message) of the model \(checkpoint)")
  }
  guard corpus.count >= 2 else {
    throw RecurrentError.invalidData("\(text): \(corpus.count) symbol; need at least 2 (one to read, one to predict)")
  }
  let batches = try TextModel.evaluationBatches(corpus.ids)
  let nats = try CharLanguageModel.meanCrossEntropy(textModel.model, on: batches)
  return TextEvaluation(
    bitsPerCharacter: CharLanguageModel.bitsPerCharacter(nats: nats), crossEntropy: nats,
    positions: batches.batchSize * batches.streamLength, symbols: corpus.count, unit: TextUnit(textModel.vocabulary.unit),
    vocabularySize: textModel.vocabulary.count, seconds: monotonicNow() - start)
}

/// A symbol for messages: "'é' (U+00E9)", "U+000A" for control characters, "byte 0xC3".
func describeSymbol(_ value: UInt32, unit: Vocabulary.Unit) -> String {
  let hex = String(value, radix: 16, uppercase: true)
  if unit == .bytes { return "byte 0x" + (hex.count < 2 ? "0" : "") + hex }
  let code = "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
  guard let scalar = Unicode.Scalar(value), value >= 0x20, value != 0x7F else { return code }
  return "'\(Character(scalar))' (\(code))"
}
