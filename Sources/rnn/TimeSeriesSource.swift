import Foundation
import Recurrent

/// `rnn train --csv FILE --target COLUMN --window W [--horizon H]`: forecasting a CSV column.
///
/// The rows are split chronologically: the first `1 - split` for training, the last `split`
/// held out. Training windows lie wholly in the training rows; validation windows have their
/// H targets in the held-out rows and read their W inputs from the rows just before them (which
/// may be training rows: the past is known when forecasting). Every feature and the target are
/// z-scored with the training rows' statistics, which the checkpoint keeps
/// (`ZScoreNormalizer.metadataKey`) with the columns, window and horizon
/// (`TimeSeriesSpec.metadataKey`), so `rnn predict` and `rnn evaluate` rebuild the same inputs.
///
/// Model: the recurrent `--cell` with `--units`, then Dense(H) (the H normalised future
/// values), trained with MSE. The report gives MAE and RMSE in the target's units against the
/// naive last-value forecast and, with `--season P`, the seasonal naive one.
final class TimeSeriesSource: TrainingSource {
  let path: String
  let spec: TimeSeriesSpec
  let season: Int?
  /// The whole series, raw units.
  let series: TimeSeries
  let trainingRows: Int
  let normalizer: ZScoreNormalizer
  let validationSplit: Double

  init(options o: SeriesOptions, validationSplit: Double) throws {
    let path = o.csv!
    let table = try CSVTable(contentsOf: URL(fileURLWithPath: path))
    // Store column names (not indices) so prediction finds them in another file.
    let name = { (c: String) in table.columnNames[try table.columnIndex(.name(c))] }
    let target = try name(o.target!)
    let features = try (o.featureList ?? [target]).map(name)
    let W = o.window!, H = o.horizon ?? 1
    spec = try TimeSeriesSpec(target: target, features: features, window: W, horizon: H, missing: o.missingPolicy)
    do {
      series = try spec.series(from: table)
    } catch RecurrentError.invalidData(let message) where message.contains("missing value (choose") {
      throw RecurrentError.invalidData(message + "; pass --missing drop, ffill or interpolate")
    }
    let L = series.count
    guard W + H <= L else {
      throw RecurrentError.invalidArgument(
        "\(path): --window \(W) + --horizon \(H) = \(W + H) rows is longer than the \(L) rows of data; lower --window")
    }
    let held = Int((Double(L) * validationSplit).rounded(.down))
    trainingRows = L - held
    guard held >= H else {
      throw RecurrentError.invalidArgument(
        "\(path): --validation-split \(validationSplit) holds out \(held) of \(L) rows, fewer than --horizon \(H); raise it")
    }
    guard trainingRows >= W + H else {
      throw RecurrentError.invalidArgument(
        "\(path): --validation-split \(validationSplit) leaves \(trainingRows) training rows, fewer than --window \(W) + "
          + "--horizon \(H) = \(W + H); lower --window or --validation-split")
    }
    normalizer = ZScoreNormalizer(fitting: series.rows(0..<trainingRows))
    self.path = path
    self.season = o.season
    self.validationSplit = validationSplit
  }

  /// Rows of the held-out windows: the W inputs before the first held-out row, then the rest.
  var validationSeries: TimeSeries { series.rows((trainingRows - spec.window)..<series.count) }

  var summary: String {
    let lines = series.lineNumbers
    return "Time series: \(path), \(series.count) rows; forecast '\(spec.target)' \(spec.horizon) step\(spec.horizon == 1 ? "" : "s") "
      + "ahead from \(spec.window) steps of [\(spec.features.map { "'\($0)'" }.joined(separator: ", "))]; "
      + "training rows on lines \(lines[0])-\(lines[trainingRows - 1]), held out \(lines[trainingRows])-\(lines[series.count - 1]) "
      + "(last \(fixedDigits(validationSplit * 100, 0))%); missing values: \(spec.missing.rawValue)"
  }

  var metadata: [String: String] {
    var m = [
      "data": "csv", "csv": path, TimeSeriesSpec.metadataKey: spec.json, ZScoreNormalizer.metadataKey: normalizer.json,
    ]
    if let season { m[ForecastCheckpoint.seasonKey] = "\(season)" }
    return m
  }

  func defaults(cell: CellKind) -> Train.Settings {
    Train.Settings(units: 32, epochs: 30, batchSize: 32, learningRate: 0.005, clipNorm: 1, samples: 0, validationSamples: 0)
  }

  func data(samples: Int, validationSamples: Int, seed: UInt64) throws -> (TaskDataset<Float>, TaskDataset<Float>) {
    func windows(_ s: TimeSeries) throws -> TaskDataset<Float> {
      let w = try TimeSeriesWindows<Float>(series: normalizer.normalized(s), window: spec.window, horizon: spec.horizon)
      return TaskDataset(x: w.inputs, y: w.targets)
    }
    return (try windows(series.rows(0..<trainingRows)), try windows(validationSeries))
  }

  func model(cell: CellKind, units: Int, seed: UInt64) throws -> Sequential<Float> {
    Sequential<Float>([cell.layer(units: units), Dense(units: spec.horizon)], seed: seed)
  }

  var loss: any Loss { MeanSquaredError() }
  var metrics: [Metric] { [.mae] }

  func comparison(_ model: Sequential<Float>, on v: TaskDataset<Float>) throws -> ForecastComparison {
    let p = try model.predict(v.x, batchSize: 256)
    let predictions = try normalizer.denormalize(p.scalars.map { Double($0) }, column: spec.target)
    return try ForecastComparison(
      predictions: predictions, raw: validationSeries, window: spec.window, horizon: spec.horizon, season: season)
  }

  func evaluate(_ model: Sequential<Float>, on v: TaskDataset<Float>) throws -> [TrainFigure] {
    try comparison(model, on: v).figures
  }

  func notes(_ model: Sequential<Float>, on v: TaskDataset<Float>) -> [String] {
    (try? comparison(model, on: v).notes) ?? []
  }
}
