import Foundation
import Recurrent

/// `rnn train --x X.npy --y Y.npy --loss LOSS [--layers SPEC | --model-json FILE]`: sequence
/// classification or regression on arrays (audio features from `rnn features --stack`,
/// per-frame video features, sensor windows...).
///
/// - X: float [N, T, F]; [N, T] is read as [N, T, 1], or as token ids when the model starts
///   with an embedding. `--lengths` (int [N]) masks the padded steps of each row.
/// - Y (see `ArrayTargets`): int labels [N] or [N, T] for sparse-ce, one-hot [N, C] for ce,
///   0/1 [N] for bce, values [N] or [N, K] for mse / mae.
/// - The model: `--layers` (`LayerFlagParser`), `--model-json` (a `ModelArchitecture`), or by
///   default the recurrent `--cell` with `--units` and a Dense layer sized from Y.
/// - The last `--validation-split` of the samples are held out (taken before shuffling, as
///   Keras does): shuffle the files first if they are ordered by class.
final class ArraySource: TrainingSource {
  let options: ArrayOptions
  let lossKind: ArrayLoss
  let all: ArrayData
  let validationCount: Int
  /// The layers from --layers / --model-json (nil: the default model).
  let architecture: ModelArchitecture?
  /// The seed a --model-json file gives (it wins over --seed).
  let explicitSeed: UInt64?
  private var built: Sequential<Float>?

  init(options: ArrayOptions, validationSplit: Double, cell: CellKind) throws {
    self.options = options
    lossKind = options.loss!
    var layers: [LayerSpec]?
    var seed: UInt64?
    var declaredInput: [Int]?
    if let text = options.layers {
      layers = try LayerFlagParser.parse(text)
    } else if let path = options.modelJSON {
      let (a, hasInputShape, hasSeed) = try Self.readArchitecture(path)
      layers = a.layers
      seed = hasSeed ? a.seed : nil
      declaredInput = hasInputShape ? a.inputShape : nil
    }
    let startsWithEmbedding = layers?.first?.kind == "embedding"
    all = try ArrayData(
      x: options.x!, y: options.y!, lengths: options.lengths, loss: lossKind, tokenInputs: startsWithEmbedding)
    if let declaredInput, declaredInput != all.inputShape {
      throw RecurrentError.shapeMismatch(
        "\(options.modelJSON!): inputShape \(declaredInput) does not match \(options.x!) (per sample \(all.inputShape))")
    }
    let inputShape = all.inputShape
    architecture = layers.map { ModelArchitecture(inputShape: inputShape, seed: seed ?? 0, layers: $0) }
    explicitSeed = seed
    let n = Int((Double(all.count) * validationSplit).rounded(.down))
    guard n >= 1, n < all.count else {
      throw RecurrentError.invalidArgument(
        "--validation-split \(validationSplit) of \(all.count) samples leaves \(all.count - n) for training and \(n) held out; "
          + "both need at least 1")
    }
    validationCount = n
  }

  /// An architecture JSON file; `inputShape` and `seed` may be left out (taken from X and
  /// --seed); the flags say whether they were given.
  static func readArchitecture(_ path: String) throws -> (ModelArchitecture, hasInputShape: Bool, hasSeed: Bool) {
    let bytes = try AtomicFile.read(URL(fileURLWithPath: path))
    var value: JSONValue
    do {
      value = try JSONValue.parse(bytes)
    } catch let e as JSONParseError {
      throw RecurrentError.invalidData("\(path): not valid JSON: \(e)")
    }
    guard var object = value.object else {
      throw RecurrentError.invalidData("\(path): expected an architecture object {\"layers\": [...]}, got \(value.typeDescription)")
    }
    let hasInputShape = object["inputShape"] != nil, hasSeed = object["seed"] != nil
    if !hasInputShape { object["inputShape"] = .array([.int(1)]) }  // replaced by X's shape
    if !hasSeed { object["seed"] = .int(0) }  // replaced by --seed
    value = .object(object)
    return (try ModelArchitecture(json: value, source: path), hasInputShape, hasSeed)
  }

  var summary: String {
    var s = "Arrays: \(options.x!) \(all.x.shape) -> \(options.y!) \(all.yDescription); \(lossKind.rawValue) loss"
      + (all.lengths != nil ? "; lengths from \(options.lengths!)" : "")
      + "; the last \(validationCount) samples held out"
    if let built { s += "\n" + built.summary() }
    return s
  }

  var metadata: [String: String] {
    var m = ["data": "arrays", "x": options.x!, "y": options.y!, "loss": lossKind.rawValue]
    if let c = all.classCount { m["classes"] = "\(c)" }
    return m
  }

  func modelDescription(cell: CellKind, units: Int) -> String {
    architecture == nil ? "\(cell.displayName), \(units) units" : "layers \(options.layers ?? options.modelJSON!)"
  }

  func defaults(cell: CellKind) -> Train.Settings {
    Train.Settings(units: 32, epochs: 20, batchSize: 32, learningRate: 0.003, clipNorm: 1, samples: 0, validationSamples: 0)
  }

  func data(samples: Int, validationSamples: Int, seed: UInt64) throws -> (TaskDataset<Float>, TaskDataset<Float>) {
    all.dataset.split(validation: validationCount)
  }

  func model(cell: CellKind, units: Int, seed: UInt64) throws -> Sequential<Float> {
    let model: Sequential<Float>
    if var architecture {
      if explicitSeed == nil { architecture.seed = seed }
      model = try architecture.makeModel(Float.self, source: options.layers != nil ? "--layers" : options.modelJSON!)
    } else {
      guard let outputs = all.defaultOutputs else {
        throw RecurrentError.invalidArgument(
          "\(options.y!) has per-step targets \(all.y.shape); give a model that returns sequences with --layers "
            + "(e.g. \"lstm:32:seq,dense:C\")")
      }
      model = Sequential<Float>([cell.layer(units: units), Dense(units: outputs)], seed: seed)
      try model.build(inputShape: all.inputShape)
    }
    try all.check(outputShape: model.layerOutputShapes.last ?? [], model: options.layers ?? options.modelJSON ?? "the model")
    built = model
    return model
  }

  /// Whether the model ends in softmax (ce) or sigmoid (bce): the loss then reads probabilities.
  var endsInProbabilities: Bool {
    guard let last = architecture?.layers.last, last.kind == "dense", let a = last.config["activation"]?.string else { return false }
    return (a == "softmax" && (lossKind == .ce || lossKind == .sparseCE)) || (a == "sigmoid" && lossKind == .bce)
  }

  var loss: any Loss { lossKind.make(probabilities: endsInProbabilities) }
  var metrics: [Metric] { lossKind.metrics }

  func evaluate(_ model: Sequential<Float>, on v: TaskDataset<Float>) throws -> [TrainFigure] {
    let train = all.dataset.split(validation: validationCount).train
    return try ArrayEvaluation.figures(model, on: v, loss: lossKind, reference: train)
  }
}

/// The figures of an array model on held-out samples: loss and accuracy for classification,
/// MSE and MAE for regression, each with the reference a model must beat.
enum ArrayEvaluation {
  /// `model` must be compiled (with the loss and metrics of `loss`). `reference` supplies the
  /// majority class / mean target (the training samples; the evaluated ones when nil).
  static func figures(
    _ model: Sequential<Float>, on v: TaskDataset<Float>, loss: ArrayLoss, reference: TaskDataset<Float>?
  ) throws -> [TrainFigure] {
    let logs = try model.evaluate(v.x, v.y, batchSize: 64, lengths: v.lengths)
    let ref = reference ?? v
    let from = reference == nil ? "of these samples" : "of the training samples"
    var figures = [TrainFigure]()
    if loss.isClassification {
      let acc = logs["accuracy"] ?? .nan
      let majority = ArrayData.majorityFraction(ref, loss: loss, on: v)
      figures.append(
        TrainFigure(
          name: "accuracy", value: "\(fixedDigits(acc * 100, 2))%",
          reference: "always the majority class \(from): \(fixedDigits(majority * 100, 2))%", number: acc))
    } else {
      let mse = logs["mse"] ?? .nan, mae = logs["mae"] ?? .nan
      let base = ArrayData.meanPredictionErrors(reference: ref, on: v)
      figures.append(TrainFigure(name: "MSE", value: significant(mse), reference: "predict the mean \(from): \(significant(base.mse))", number: mse))
      figures.append(TrainFigure(name: "MAE", value: significant(mae), reference: "predict the mean \(from): \(significant(base.mae))", number: mae))
    }
    let l = logs["loss"] ?? .nan
    figures.append(TrainFigure(name: "loss", value: significant(l), reference: loss.rawValue, number: l))
    return figures
  }
}
