import ArgumentParser
import Foundation
import Recurrent

/// `rnn forward`: runs a saved model on an NPY input and writes its output as float32 NPY.
///
/// The contract other tools rely on:
/// - `--model`: a checkpoint written by `Sequential.save` / `saveTrainingCheckpoint`
///   (docs/checkpoint-format.md);
/// - `--input`: float [B, T, F] (float32 or float64; int arrays are converted) for a model
///   built for [T, F] inputs (T may differ from the saved one), or integer token ids [B, T]
///   (int32/int64, or whole-valued floats) for a model that starts with an Embedding;
/// - `--lengths`: optional integer [B], each row's real length for right-padded batches;
/// - `--output`: the model's output [B, ...] as little-endian float32 NPY, written atomically.
///
/// Exit codes (see `ExitCodes`): 64 usage, 65 malformed or mismatched data, 74 I/O.
struct Forward: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Run a saved model on an NPY input and write its output as float32 NPY.",
    discussion: """
      The input is float [batch, steps, features] (or whatever the model was built for, with a
      batch axis first), or integer token ids [batch, steps] when the model starts with an
      Embedding. --lengths gives each row's real length for right-padded batches.
      Exit codes: 64 bad usage, 65 bad or mismatched data, 74 file not readable/writable.

      Example:
        rnn forward --model model.safetensors --input x.npy --output y.npy --lengths lengths.npy
      """)

  @Option(name: .long, help: "Checkpoint (.safetensors) saved by Recurrent.")
  var model: String

  @Option(name: .long, help: "Input .npy: float [batch, steps, features] or integer token ids [batch, steps].")
  var input: String

  @Option(name: .long, help: "Where to write the output .npy (float32).")
  var output: String

  @Option(name: .long, help: "Optional .npy of integer sequence lengths [batch].")
  var lengths: String?

  @Option(name: .long, help: "Samples per forward pass.")
  var batchSize: Int = 32

  @Flag(name: .long, help: "Print nothing on success.")
  var quiet = false

  @OptionGroup var compute: ComputeOptions

  func validate() throws {
    guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1, got \(batchSize)") }
    for (flag, path) in [("--model", model), ("--input", input), ("--output", output)] where path.isEmpty {
      throw ValidationError("\(flag) needs a file path")
    }
  }

  /// Loads, checks, predicts and writes; returns the output's shape. Throws `RecurrentError`.
  func execute() throws -> [Int] {
    let network = try Sequential<Float>.load(from: model)
    let x = try Self.input(NPYArray(contentsOf: URL(fileURLWithPath: input)), for: network, source: input)
    let steps = x.rank >= 2 ? x.shape[1] : 1
    let rowLengths = try lengths.map { try InputChecks.lengths(at: $0, batch: x.shape[0], steps: steps) }
    let y: Tensor<Float>
    do {
      y = try network.predict(x, batchSize: batchSize, lengths: rowLengths)
    } catch RecurrentError.invalidData(let message) {
      throw RecurrentError.invalidData("\(input): \(message)")  // e.g. a token id out of range
    } catch RecurrentError.shapeMismatch(let message) {
      throw RecurrentError.shapeMismatch("\(input): \(message)")
    }
    try NPYArray(y, dtype: .float32).write(to: URL(fileURLWithPath: output))
    return y.shape
  }

  /// The model input from `array`, or a `shapeMismatch` naming `source` and what the model expects.
  static func input(_ array: NPYArray, for network: Sequential<Float>, source: String) throws -> Tensor<Float> {
    guard let built = network.inputShape else {
      throw RecurrentError.invalidData("the model has no input shape")
    }
    if network.layers.first is EmbeddingLayer<Float> {
      guard array.shape.count == 2, array.shape[0] > 0 else {
        throw RecurrentError.shapeMismatch(
          "\(source): expected integer token ids [batch, steps] (the model starts with an Embedding), "
            + "got \(array.dtype.rawValue) \(array.shape)")
      }
      let ids = try array.integers(source: source)
      return Tensor(shape: array.shape, scalars: ids.map { Float($0) })
    }
    let expected = "[batch, " + (built.count >= 2 ? "steps, " : "") + built.dropFirst(built.count >= 2 ? 1 : 0).map(String.init).joined(separator: ", ") + "]"
    let fits =
      array.shape.count == built.count + 1 && array.shape[0] > 0
      && (built.count >= 2 ? Array(array.shape.dropFirst(2)) == Array(built.dropFirst()) && array.shape[1] > 0 : Array(array.shape.dropFirst()) == built)
    guard fits else {
      throw RecurrentError.shapeMismatch("\(source): expected float input \(expected) for this model, got \(array.dtype.rawValue) \(array.shape)")
    }
    let x = array.tensor(as: Float.self)
    try InputChecks.requireFinite(x, source: source)
    return x
  }

  func run() throws {
    compute.apply()
    let shape = try ExitCodes.reporting("forward") { try execute() }
    if !quiet { print("wrote \(output): float32 \(shape)") }
  }
}
