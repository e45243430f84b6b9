import ArgumentParser
import Foundation
import Recurrent

/// The flags of `rnn train` that train on the user's own files instead of a built-in task:
/// a CSV time series (`--csv`) or NPY arrays (`--x`, `--y`). `Train` holds them as one
/// `@OptionGroup` and asks `source()` for the data source they select.
struct DataOptions: ParsableArguments {
  @OptionGroup(title: "Time series (CSV)") var series: SeriesOptions
  @OptionGroup(title: "Arrays (NPY)") var arrays: ArrayOptions

  @Option(
    name: .long,
    help: "Fraction held out for validation (CSV: the last rows, chronologically; arrays: the last samples). Default 0.2 (CSV), 0.1 (arrays).")
  var validationSplit: Double?

  /// Whether any of these flags is given (then `--task` must not be).
  var isGiven: Bool { series.csv != nil || arrays.x != nil || arrays.y != nil }

  func validate() throws {
    if series.csv != nil && (arrays.x != nil || arrays.y != nil) {
      throw ValidationError("give one data source: --csv FILE or --x X.npy --y Y.npy, not both")
    }
    if let v = validationSplit, !(v > 0 && v < 1) {
      throw ValidationError("--validation-split must be a fraction in (0, 1), got \(v)")
    }
    if series.csv == nil, let flag = series.givenFlags.first {
      throw ValidationError("\(flag) applies to --csv only")
    }
    if arrays.x == nil && arrays.y == nil, let flag = arrays.givenFlags.first {
      throw ValidationError("\(flag) applies to --x/--y only")
    }
    if series.csv != nil { try series.check() }
    if arrays.x != nil || arrays.y != nil { try arrays.check() }
  }

  /// Checks the flags of `rnn train` that do not apply to file data.
  func checkTrainFlags(task: BuiltInTask?, steps: Int?, digits: Int?, samples: Int?, validationSamples: Int?, units: Int?) throws {
    guard isGiven else { return }
    if let task { throw ValidationError("--task \(task.rawValue) and \(series.csv != nil ? "--csv" : "--x/--y"): give one data source") }
    for (flag, given) in [
      ("--steps", steps != nil), ("--digits", digits != nil), ("--samples", samples != nil),
      ("--validation-samples", validationSamples != nil),
    ] where given {
      throw ValidationError("\(flag) applies to --task only\(flag.contains("samples") ? " (use --validation-split)" : "")")
    }
    if units != nil && arrays.x != nil && (arrays.layers != nil || arrays.modelJSON != nil) {
      throw ValidationError("--units does not apply with --layers/--model-json (the layers give the sizes)")
    }
  }

  /// The data source the flags select.
  func source(cell: CellKind) throws -> any TrainingSource {
    if series.csv != nil { return try TimeSeriesSource(options: series, validationSplit: validationSplit ?? 0.2) }
    return try ArraySource(options: arrays, validationSplit: validationSplit ?? 0.1, cell: cell)
  }
}

/// `--csv FILE --target COLUMN [--features a,b,c] --window W --horizon H [--missing ...] [--season P]`.
struct SeriesOptions: ParsableArguments {
  @Option(name: .long, help: "CSV file with one row per time step (a header row is detected).")
  var csv: String?

  @Option(name: .long, help: "The column to forecast (header name, or 0-based index).")
  var target: String?

  @Option(name: .long, help: "Input columns, comma-separated (default: the target alone). List the target too to use its past.")
  var features: String?

  @Option(name: .long, help: "Past steps the model reads per forecast.")
  var window: Int?

  @Option(name: .long, help: "Future steps of the target to forecast (default 1).")
  var horizon: Int?

  @Option(name: .long, help: "Missing cells (empty, NA, null): error (default), drop (the row), ffill or interpolate.")
  var missing: String?

  @Option(name: .long, help: "Season length P for the seasonal naive baseline (must be <= --window).")
  var season: Int?

  var givenFlags: [String] {
    [("--target", target != nil), ("--features", features != nil), ("--window", window != nil), ("--horizon", horizon != nil),
     ("--missing", missing != nil), ("--season", season != nil)].filter(\.1).map(\.0)
  }

  var missingPolicy: MissingValuePolicy { missing.flatMap(MissingValuePolicy.init(rawValue:)) ?? .error }

  var featureList: [String]? {
    features.map { $0.split(separator: ",", omittingEmptySubsequences: false).map { String($0).trimmed } }
  }

  func check() throws {
    if let csv, csv.isEmpty { throw ValidationError("--csv needs a file name") }
    guard let target, !target.isEmpty else { throw ValidationError("--csv needs --target COLUMN (the column to forecast)") }
    guard let window else { throw ValidationError("--csv needs --window W (the past steps each forecast reads)") }
    guard (1...100_000).contains(window) else { throw ValidationError("--window must be 1...100000, got \(window)") }
    if let horizon, !(1...10_000).contains(horizon) { throw ValidationError("--horizon must be 1...10000, got \(horizon)") }
    if let missing, MissingValuePolicy(rawValue: missing) == nil {
      throw ValidationError(
        "--missing must be one of \(MissingValuePolicy.allCases.map(\.rawValue).joined(separator: ", ")), got '\(missing)'")
    }
    if let season, !(1...window).contains(season) {
      throw ValidationError("--season must be in 1...\(window) (the window: the baseline repeats the last season inside it), got \(season)")
    }
    if let list = featureList {
      if let i = list.firstIndex(where: \.isEmpty) { throw ValidationError("--features: name \(i + 1) is empty in '\(features!)'") }
      if Set(list).count != list.count { throw ValidationError("--features lists a column twice: '\(features!)'") }
    }
  }
}

/// `--x X.npy --y Y.npy [--lengths L.npy] (--layers SPEC | --model-json FILE) --loss LOSS`.
struct ArrayOptions: ParsableArguments {
  @Option(name: .long, help: "Inputs .npy: float [samples, steps, features], or integer ids [samples, steps] for an embedding model.")
  var x: String?

  @Option(name: .long, help: "Targets .npy: int labels [samples] (sparse-ce), one-hot [samples, classes] (ce), 0/1 (bce) or values (mse, mae).")
  var y: String?

  @Option(name: .long, help: "Optional int lengths [samples] of right-padded sequences (rnn features --stack writes them).")
  var lengths: String?

  @Option(name: .long, help: "The model as a layer list, e.g. \"conv1d:32:5:relu,lstm:64,dense:10\" (see the discussion).")
  var layers: String?

  @Option(name: .customLong("model-json"), help: "The model as an architecture JSON file (docs/checkpoint-format.md); inputShape and seed may be left out.")
  var modelJSON: String?

  @Option(name: .long, help: "Loss: sparse-ce (int labels), ce (one-hot), bce (0/1), mse or mae (values).")
  var loss: ArrayLoss?

  var givenFlags: [String] {
    [("--lengths", lengths != nil), ("--layers", layers != nil), ("--model-json", modelJSON != nil), ("--loss", loss != nil)]
      .filter(\.1).map(\.0)
  }

  func check() throws {
    guard let x, !x.isEmpty else { throw ValidationError("--y needs --x X.npy (the inputs)") }
    guard let y, !y.isEmpty else { throw ValidationError("--x needs --y Y.npy (the targets)") }
    if layers != nil && modelJSON != nil { throw ValidationError("give the model once: --layers SPEC or --model-json FILE") }
    if let layers {
      do {
        _ = try LayerFlagParser.parse(layers)
      } catch let RecurrentError.invalidArgument(message) {
        throw ValidationError(message)
      }
    }
    guard loss != nil else { throw ValidationError("--x/--y need --loss (\(ArrayLoss.allNames))") }
  }
}

/// The losses `rnn train --x` offers.
enum ArrayLoss: String, CaseIterable, ExpressibleByArgument {
  case sparseCE = "sparse-ce", ce, bce, mse, mae
  static var allNames: String { allCases.map(\.rawValue).joined(separator: ", ") }

  var isClassification: Bool { self == .sparseCE || self == .ce || self == .bce }

  /// The loss; `probabilities` when the model already ends in softmax / sigmoid.
  func make(probabilities: Bool) -> any Loss {
    switch self {
    case .sparseCE: SparseCategoricalCrossentropy(fromLogits: !probabilities)
    case .ce: CategoricalCrossentropy(fromLogits: !probabilities)
    case .bce: BinaryCrossentropy(fromLogits: !probabilities)
    case .mse: MeanSquaredError()
    case .mae: MeanAbsoluteError()
    }
  }

  var metrics: [Metric] { isClassification ? [.accuracy] : [.mse, .mae] }
}

extension String {
  var trimmed: String { trimmingCharacters(in: .whitespaces) }
}
