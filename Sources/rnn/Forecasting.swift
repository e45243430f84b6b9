import Foundation
import Recurrent

/// A forecasting model saved by `rnn train --csv`: the network plus what its checkpoint
/// metadata says about the data (`TimeSeriesSpec`: columns, window, horizon, missing-value
/// policy; `ZScoreNormalizer`: the training rows' statistics; the season of the seasonal
/// baseline). `rnn predict --csv` and `rnn evaluate --csv` rebuild the inputs from it.
struct ForecastCheckpoint {
  /// Metadata key of the seasonal baseline's period (absent when none was given).
  static let seasonKey = "season"

  let path: String
  let model: Sequential<Float>
  let spec: TimeSeriesSpec
  let normalizer: ZScoreNormalizer
  let season: Int?

  /// Loads `path`. Throws `invalidArgument` when the checkpoint was not trained on a CSV,
  /// `invalidData` when its time-series metadata is malformed, `io` when unreadable.
  init(path: String) throws {
    let saved = try SavedModel(path: path)
    guard let specText = saved.metadata[TimeSeriesSpec.metadataKey] else {
      throw RecurrentError.invalidArgument(
        "\(path) was not trained on a CSV time series (its metadata has no \"\(TimeSeriesSpec.metadataKey)\"); "
          + "use --x/--y or --task for it")
    }
    guard let statsText = saved.metadata[ZScoreNormalizer.metadataKey] else {
      throw RecurrentError.invalidData("\(path): the time-series metadata has no \"\(ZScoreNormalizer.metadataKey)\" statistics")
    }
    do {
      spec = try TimeSeriesSpec(json: specText)
      normalizer = try ZScoreNormalizer(json: statsText)
    } catch RecurrentError.invalidData(let message) {
      throw RecurrentError.invalidData("\(path): \(message)")
    }
    if let s = saved.metadata[Self.seasonKey] {
      guard let p = Int(s), (1...spec.window).contains(p) else {
        throw RecurrentError.invalidData("\(path): metadata \"season\" must be an integer in 1...\(spec.window), got '\(s)'")
      }
      season = p
    } else {
      season = nil
    }
    self.path = path
    self.model = saved.model
    guard model.layerOutputShapes.last == [spec.horizon] else {
      throw RecurrentError.invalidData(
        "\(path): the model outputs \(model.layerOutputShapes.last ?? []) per window but the metadata says horizon \(spec.horizon)")
    }
  }

  /// The series `spec` selects from the CSV at `csv` (same columns and missing-value policy).
  func series(csv: String) throws -> (CSVTable, TimeSeries) {
    let table = try CSVTable(contentsOf: URL(fileURLWithPath: csv))
    do {
      return (table, try spec.series(from: table))
    } catch RecurrentError.invalidArgument(let message) {
      // The columns come from the checkpoint, not from a flag: the CSV does not fit the model.
      var needed = [String]()
      for name in spec.features + [spec.target] where !needed.contains(name) { needed.append(name) }
      let list = needed.map { "'\($0)'" }.joined(separator: ", ")
      throw RecurrentError.invalidData("\(message); the model \(path) needs the columns \(list)")
    }
  }

  /// The model's forecasts [N, H] in the target's units for every window of `series` with
  /// `targets` (N = L - W - H + 1), or for every window ending at a row (N = L - W + 1).
  func forecasts(_ series: TimeSeries, batchSize: Int, withTargets: Bool) throws -> [Double] {
    let normalized = try normalizer.normalized(series)
    let x =
      withTargets
      ? try TimeSeriesWindows<Float>(series: normalized, window: spec.window, horizon: spec.horizon).inputs
      : try TimeSeriesWindows<Float>.predictionInputs(series: normalized, window: spec.window)
    let p = try model.predict(x, batchSize: batchSize)
    return try normalizer.denormalize(p.scalars.map { Double($0) }, column: spec.target)
  }
}

/// A saved model and its user metadata (read once from the file).
struct SavedModel {
  let model: Sequential<Float>
  let metadata: [String: String]

  init(path: String) throws {
    let url = URL(fileURLWithPath: path)
    let file = try SafetensorsFile(contentsOf: url)
    model = try Sequential<Float>.load(from: url)
    metadata = file.metadata
  }
}

/// A forecaster's errors on held-out windows against the naive baselines.
struct ForecastComparison {
  var model: ForecastScores
  var baselines: [ForecastScores]
  /// MAE of the model at each horizon step (+1 ... +H).
  var maeByStep: [Double]
  var windows: Int
  var targetName: String
  /// File lines of the first and last forecast target.
  var targetLines: ClosedRange<Int>

  /// Compares `predictions` [N, H] (target units) for the windows
  /// `TimeSeriesWindows(series: raw, window: W, horizon: H)` makes with the last-value baseline
  /// and, given `season`, the seasonal one.
  init(predictions: [Double], raw: TimeSeries, window W: Int, horizon H: Int, season: Int?) throws {
    let truth = try TimeSeriesWindows<Double>(series: raw, window: W, horizon: H)
    let targets = truth.targets.scalars
    model = try ForecastScores(name: "model", predictions: predictions, targets: targets)
    var list: [NaiveBaseline] = [.lastValue]
    if let season { list.append(.seasonal(period: season)) }
    baselines = try list.map { try $0.evaluate(series: raw, window: W, horizon: H) }
    maeByStep = (0..<H).map { h in
      var s = 0.0
      for n in 0..<truth.count { s += abs(predictions[n * H + h] - targets[n * H + h]) }
      return s / Double(truth.count)
    }
    windows = truth.count
    targetName = raw.targetName
    targetLines = raw.lineNumbers[truth.targetStart[0]]...raw.lineNumbers[raw.count - 1]
  }

  /// "MAE" and "RMSE" rows: the model's value, the baselines' as the reference.
  var figures: [TrainFigure] {
    func row(_ name: String, _ value: (ForecastScores) -> Double) -> TrainFigure {
      let m = value(model)
      let refs = baselines.map { b in
        let v = value(b)
        return "\(b.name) \(significant(v))\(v > 0 ? " (model \(percentChange(m, v)))" : "")"
      }
      return TrainFigure(name: name, value: significant(m), reference: refs.joined(separator: "; "), number: m)
    }
    return [row("MAE") { $0.mae }, row("RMSE") { $0.mse.squareRoot() }]
  }

  /// Lines after the table: what was compared, and the error per horizon step.
  var notes: [String] {
    let best = baselines.min { $0.mae < $1.mae }!
    var lines = [
      "Errors in '\(targetName)' units over \(windows) held-out window\(windows == 1 ? "" : "s") (forecast targets on lines "
        + "\(targetLines.lowerBound)-\(targetLines.upperBound)); naive baselines on the same windows.",
      model.mae < best.mae
        ? "The model beats every naive baseline: its MAE is \(fixedDigits((1 - model.mae / best.mae) * 100, 0))% below the best one's (\(best.name))."
        : "The model does NOT beat the \(best.name) baseline (MAE \(significant(model.mae)) vs \(significant(best.mae))): "
          + "train longer, widen the window or add features.",
    ]
    if maeByStep.count > 1 {
      lines.append("MAE by horizon step: " + maeByStep.enumerated().map { "+\($0 + 1) \(significant($1))" }.joined(separator: ", "))
    }
    return lines
  }
}

/// "-64%" / "+5%": how much `value` is below or above `reference` ("x1200" beyond +900%).
func percentChange(_ value: Double, _ reference: Double) -> String {
  let ratio = value / reference
  if ratio > 10 { return "x" + (ratio < 1e6 ? fixedDigits(ratio, 0) : formatScientific(ratio, digits: 1)) }
  let p = (ratio - 1) * 100
  return (p > 0 ? "+" : "") + fixedDigits(p, 0) + "%"
}

/// `x` with about `digits` significant digits, plain below a million ("0.01234", "812.3").
func significant(_ x: Double, _ digits: Int = 4) -> String {
  guard x.isFinite, x != 0 else { return x == 0 ? "0" : "\(x)" }
  let a = abs(x)
  if a >= 1e6 || a < 1e-4 { return formatScientific(x, digits: digits - 1) }
  let e = Int(log10(a).rounded(.down))
  return fixedDigits(x, max(0, digits - 1 - e))
}
