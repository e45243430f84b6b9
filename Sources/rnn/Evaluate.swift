import ArgumentParser
import Foundation
import Recurrent

/// `rnn evaluate`: a saved model's figures on held-out data, with the metric that fits it.
///
/// - `--csv FILE` (a model from `rnn train --csv`): every window of the file with its H
///   targets; MAE and RMSE in the target's units against the naive last-value and (with the
///   season stored at training, or `--season`) seasonal forecasts.
/// - `--x X.npy --y Y.npy` (an array model): loss and accuracy (sparse-ce, ce, bce) or MSE and
///   MAE (mse, mae); the loss is the one stored at training unless `--loss` says otherwise.
/// - `--text FILE` (a model from `rnn train --text`): bits per character (per byte for the
///   bytes unit) of the next-symbol predictions over the file, against the uniform reference.
/// - `--task` (a model from `rnn train --task`): that task's data generated afresh from
///   `--seed` with the task parameters stored in the checkpoint, and the task's own figures.
struct Evaluate: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Score a saved model on held-out data with the metric that fits it.",
    discussion: """
      The data kind follows the model: a forecaster (rnn train --csv) takes
      --csv, an array model (rnn train --x) takes --x/--y, a text model
      (rnn train --text) takes --text, a built-in task model
      (rnn train --task) takes --task or nothing (its data is generated again
      from --seed; the task's parameters come from the checkpoint). Figures:
        --csv    MAE and RMSE in the target's units, vs the last-value and
                 seasonal naive forecasts on the same windows
        --x/--y  accuracy and loss (sparse-ce, ce, bce) or MSE and MAE (mse,
                 mae), vs always the majority class or the mean of Y
        --text   bits per character (per byte with --unit bytes), vs uniform
        --task   the task's figures (MSE, accuracy, exact answers, ...)
      Exit codes: 64 bad usage, 65 bad or mismatched data, 74 file not
      readable/writable.

      Examples:
        rnn evaluate --model load.safetensors --csv examples/data/load_test.csv
        rnn evaluate --model clips.safetensors --x test_x.npy --y test_y.npy \\
          --lengths test_x_lengths.npy
        rnn evaluate --model adding.safetensors --task adding --samples 2000 --seed 7
        rnn evaluate --model lm.safetensors --text held_out.txt
      """)

  @Option(name: .long, help: "Checkpoint (.safetensors) from rnn train.")
  var model: String

  @Option(name: .long, help: "Held-out CSV for a forecaster (same columns as in training).")
  var csv: String?

  @Option(name: .long, help: "Season length P for the seasonal naive baseline (default: the one given at training).")
  var season: Int?

  @Option(name: .long, help: "Held-out inputs .npy for an array model.")
  var x: String?

  @Option(name: .long, help: "Held-out targets .npy for an array model.")
  var y: String?

  @Option(name: .long, help: "Optional int lengths [samples] of right-padded sequences.")
  var lengths: String?

  @Option(name: .long, help: "Loss of an array model: \(ArrayLoss.allNames) (default: the one it was trained with).")
  var loss: ArrayLoss?

  @Option(name: .long, help: "Held-out text file for a character-level language model.")
  var text: String?

  @Option(name: .long, help: "Built-in task to generate held-out data for (default: the one the model was trained on).")
  var task: BuiltInTask?

  @Option(name: .long, help: "Samples to generate for --task.")
  var samples: Int = 1000

  @Option(name: .long, help: "Seed of the generated data for --task (default: the training seed + 1, so none is seen in training).")
  var seed: UInt64?

  @Option(name: .long, help: "Samples per forward pass.")
  var batchSize: Int = 256

  @OptionGroup var compute: ComputeOptions

  func validate() throws {
    guard !model.isEmpty else { throw ValidationError("--model needs a file path") }
    let kinds = [csv != nil, x != nil || y != nil, task != nil, text != nil].filter { $0 }.count
    guard kinds <= 1 else { throw ValidationError("give one kind of data: --csv, --x/--y, --text or --task") }
    if x != nil || y != nil {
      guard x != nil, y != nil else { throw ValidationError("--x and --y go together (inputs and targets)") }
    } else if lengths != nil || loss != nil {
      throw ValidationError("\(lengths != nil ? "--lengths" : "--loss") applies to --x/--y only")
    }
    if csv == nil, season != nil { throw ValidationError("--season applies to --csv only") }
    if let season, season < 1 { throw ValidationError("--season must be >= 1, got \(season)") }
    guard (1...10_000_000).contains(samples) else { throw ValidationError("--samples must be 1...10000000, got \(samples)") }
    guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1, got \(batchSize)") }
  }

  struct Result {
    var figures: [TrainFigure]
    var notes: [String]
  }

  /// Loads, scores and prints; returns the figures.
  func execute(output: CommandOutput) throws -> Result {
    let result: Result
    if let csv {
      result = try forecast(csv: csv, output: output)
    } else if let x, let y {
      result = try arrays(x: x, y: y, output: output)
    } else if let text {
      result = try textModel(text: text, output: output)
    } else {
      result = try builtInTask(output: output)
    }
    output.line("")
    output.line(TextTable.render([["figure", "value", "reference"]] + result.figures.map { [$0.name, $0.value, $0.reference] }))
    for line in result.notes { output.line(line) }
    return result
  }

  func textModel(text: String, output: CommandOutput) throws -> Result {
    output.line("Evaluating \(model): next-symbol prediction over \(text)")
    let e = try evaluateTextModel(checkpoint: model, text: text)
    let per = e.unit == .bytes ? "byte" : "character"
    let uniform = log2(Double(e.vocabularySize))
    return Result(
      figures: [
        TrainFigure(
          name: "bits per \(per)", value: String(format: "%.4f", e.bitsPerCharacter),
          reference: String(format: "uniform over the %d symbols: %.3f", e.vocabularySize, uniform), number: e.bitsPerCharacter),
        TrainFigure(
          name: "cross-entropy", value: String(format: "%.4f", e.crossEntropy), reference: "nats per symbol",
          number: e.crossEntropy),
      ],
      notes: ["\(e.positions) predicted positions of \(e.symbols) symbols in \(String(format: "%.1f", e.seconds)) s"])
  }

  func forecast(csv: String, output: CommandOutput) throws -> Result {
    let checkpoint = try ForecastCheckpoint(path: model)
    let spec = checkpoint.spec
    let period = season ?? checkpoint.season
    if let period, !(1...spec.window).contains(period) {
      throw RecurrentError.invalidArgument("--season must be in 1...\(spec.window) (the model's window), got \(period)")
    }
    let (_, series) = try checkpoint.series(csv: csv)
    guard spec.window + spec.horizon <= series.count else {
      throw RecurrentError.invalidData(
        "\(csv): the model reads \(spec.window) rows and forecasts \(spec.horizon); the file's \(series.count) usable rows "
          + "are fewer than the \(spec.window + spec.horizon) one window needs")
    }
    output.line(
      "Evaluating \(model): forecast '\(spec.target)' \(spec.horizon) step\(spec.horizon == 1 ? "" : "s") ahead from "
        + "\(spec.window) steps, on \(csv) (\(series.count) rows)")
    let predictions = try checkpoint.forecasts(series, batchSize: batchSize, withTargets: true)
    let c = try ForecastComparison(predictions: predictions, raw: series, window: spec.window, horizon: spec.horizon, season: period)
    return Result(figures: c.figures, notes: c.notes)
  }

  func arrays(x: String, y: String, output: CommandOutput) throws -> Result {
    let saved = try SavedModel(path: model)
    let network = saved.model
    guard let kind = loss ?? saved.metadata["loss"].flatMap(ArrayLoss.init(rawValue:)) else {
      throw RecurrentError.invalidArgument(
        "\(model) does not say which loss it was trained with (no \"loss\" in its metadata): give --loss (\(ArrayLoss.allNames))")
    }
    let data = try ArrayData(
      x: x, y: y, lengths: lengths, loss: kind, tokenInputs: network.layers.first is EmbeddingLayer<Float>)
    guard let built = network.inputShape,
      built.count == data.inputShape.count, built.count < 2 || Array(built.dropFirst()) == Array(data.inputShape.dropFirst())
    else {
      throw RecurrentError.shapeMismatch(
        "\(x): samples of shape \(data.inputShape) do not fit \(model), built for \(network.inputShape ?? []) per sample "
          + "(the steps may differ, the features may not)")
    }
    try data.check(outputShape: network.layerOutputShapes.last ?? [], model: model)
    var probabilities = false
    if let last = network.layers.last as? DenseLayer<Float> {
      probabilities = (last.activation == .softmax && (kind == .ce || kind == .sparseCE)) || (last.activation == .sigmoid && kind == .bce)
    }
    network.compile(optimizer: SGD(learningRate: 0), loss: kind.make(probabilities: probabilities), metrics: kind.metrics)
    output.line("Evaluating \(model) (\(kind.rawValue)) on \(x) \(data.x.shape) -> \(y) \(data.yDescription)")
    let figures = try ArrayEvaluation.figures(network, on: data.dataset, loss: kind, reference: nil)
    return Result(figures: figures, notes: [])
  }

  func builtInTask(output: CommandOutput) throws -> Result {
    let saved = try SavedModel(path: model)
    let meta = saved.metadata
    guard let task = task ?? meta["task"].flatMap(BuiltInTask.init(rawValue:)) else {
      throw RecurrentError.invalidArgument(
        "say what to evaluate \(model) on: --csv FILE, --x X.npy --y Y.npy, or --task NAME (its metadata names no built-in task)")
    }
    if let trained = meta["task"], trained != task.rawValue {
      throw RecurrentError.invalidArgument("\(model) was trained on --task \(trained), not \(task.rawValue)")
    }
    let number = { (key: String) in meta[key].flatMap { Int($0) } }
    let source = BuiltInTaskSource(
      task: task, steps: task == .copy ? number("delay") : number("steps"), digits: number("digits"))
    let dataSeed = seed ?? (meta["seed"].flatMap { UInt64($0) }.map { $0 &+ 1 } ?? 2)
    let (_, data) = try source.data(samples: 1, validationSamples: samples, seed: dataSeed)
    output.line("Evaluating \(model) on \(data.count) fresh samples, seed \(dataSeed)")
    output.line(source.summary)
    return Result(figures: try source.evaluate(saved.model, on: data), notes: source.notes(saved.model, on: data))
  }

  func run() throws {
    compute.apply()
    _ = try ExitCodes.reporting("evaluate") { try execute(output: CommandOutput()) }
  }
}
