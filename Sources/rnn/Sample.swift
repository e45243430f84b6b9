import ArgumentParser
import Foundation
import Recurrent

/// `rnn sample`: text from a character-level model trained with `rnn train --text`.
struct Sample: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Generate text from a character-level language model trained with rnn train --text.",
    discussion: """
      Reads the prime (with the state carried), then draws --length symbols one at a time from the
      model's next-symbol distribution with its logits divided by --temperature: below 1 the text
      is safer and more repetitive, above 1 more varied and more misspelled. The same --seed gives
      the same text. Prints the prime followed by the generated text. With an empty prime the
      first symbol is drawn uniformly from the vocabulary.

      Examples:
        rnn sample --model lm.safetensors --prime "The " --temperature 0.8 --length 500 --seed 1
        rnn sample --model ckpt/epoch10-val1.912.safetensors --greedy --length 200
      """)

  @Option(name: .long, help: "Checkpoint written by rnn train --text (.safetensors).")
  var model: String

  @Option(name: .long, help: "Text the generated text continues (every character must be in the model's vocabulary).")
  var prime: String = ""

  @Option(name: .long, help: "Divides the logits: > 0; lower is more conservative.")
  var temperature: Double = 0.8

  @Flag(name: .long, help: "Always take the most likely symbol (ignores --temperature).")
  var greedy = false

  @Option(name: .long, help: "Sample only among the k most likely symbols.")
  var topK: Int?

  @Option(name: .long, help: "Symbols (code points or bytes, as the model was trained) to generate.")
  var length: Int = 500

  @Option(name: .long, help: "Seed of the draws.")
  var seed: UInt64 = 1

  @OptionGroup var compute: ComputeOptions

  func validate() throws {
    if model.isEmpty { throw ValidationError("--model needs a file name") }
    guard temperature.isFinite, temperature > 0 else {
      throw ValidationError("--temperature must be a number > 0, got \(temperature) (for the most likely symbol every time, use --greedy)")
    }
    if let topK, topK < 1 { throw ValidationError("--top-k must be >= 1, got \(topK)") }
    guard (0...10_000_000).contains(length) else { throw ValidationError("--length must be 0...10000000, got \(length)") }
  }

  func run() throws {
    compute.apply()
    let text = try ExitCodes.reporting("sample") { try generate() }
    CommandOutput().line(prime + text)
  }

  /// The generated text (without the prime). Throws `invalidArgument` (exit 64) when the prime
  /// has symbols outside the vocabulary, naming them; the errors of `TextModel.load` otherwise.
  func generate() throws -> String {
    let textModel = try TextModel.load(model)
    let vocabulary = textModel.vocabulary
    try Self.checkPrime(prime, vocabulary: vocabulary, model: model)
    return try TextGenerator(model: textModel.model, vocabulary: vocabulary)
      .generate(prime: prime, length: length, temperature: greedy ? 0 : temperature, topK: topK, seed: seed)
  }

  /// Names every distinct symbol of `prime` the vocabulary lacks (with its first position).
  static func checkPrime(_ prime: String, vocabulary: Vocabulary, model: String) throws {
    var missing = [(value: UInt32, position: Int)]()
    for (position, v) in vocabulary.values(of: prime).enumerated()
    where vocabulary.id(of: v) == nil && !missing.contains(where: { $0.value == v }) {
      missing.append((v, position))
    }
    guard !missing.isEmpty else { return }
    let unit = vocabulary.unit
    let listed = missing.prefix(10).map { "\(describeSymbol($0.value, unit: unit)) at position \($0.position)" }
    throw RecurrentError.invalidArgument(
      "--prime has \(missing.count == 1 ? "a symbol" : "\(missing.count) symbols") the model \(model) never saw in training: "
        + listed.joined(separator: ", ") + (missing.count > 10 ? ", ..." : "")
        + " (its vocabulary: \(vocabulary.count) \(TextUnit(unit).plural))")
  }
}
