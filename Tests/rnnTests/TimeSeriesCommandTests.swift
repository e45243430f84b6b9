import ArgumentParser
import Foundation
import Recurrent
import Testing

@testable import rnn

/// `rnn train --csv`, `rnn predict --csv` and `rnn evaluate --csv` end to end on a clean sine.
@Suite struct TimeSeriesCommandTests {
  typealias S = DataCommandSupport

  /// One trained forecaster shared by the tests (training is the slow part).
  struct Trained {
    let dir: String
    let csv: String
    let model: String
    let result: Train.Result
    let text: String
    let args: [String]

    init() throws {
      dir = try S.temporaryDirectory("series")
      csv = dir + "/sine.csv"
      model = dir + "/sine.safetensors"
      try S.write(S.sineCSV(rows: 320), to: csv)
      args = [
        "--csv", csv, "--target", "value", "--window", "16", "--horizon", "2", "--season", "12", "--units", "12",
        "--epochs", "12", "--batch-size", "16", "--lr", "0.01", "--seed", "3",
      ]
      (result, text) = try S.train(args + ["--save", model])
    }
  }

  static let trained = Result { try Trained() }

  @Test func theModelBeatsTheLastValueBaselineOnACleanSine() throws {
    let t = try Self.trained.get()
    #expect(t.result.figures.map(\.name) == ["MAE", "RMSE"])
    let source = try TimeSeriesSource(options: Train.parse(t.args).data.series, validationSplit: 0.2)
    let last = try NaiveBaseline.lastValue.evaluate(series: source.validationSeries, window: 16, horizon: 2)
    // 64 held-out rows: windows with both targets in them.
    #expect(source.validationSeries.count == 16 + 64)
    #expect(t.text.contains("over 63 held-out windows"))
    let mae = t.result.figures[0].number
    #expect(mae < 0.4 * last.mae, "model MAE \(mae) vs last value \(last.mae)")
    #expect(t.text.contains("last value \(significant(last.mae))"))
    // Period 12 on a period-16 sine: a poor seasonal guess (period 16 would be exact on clean data).
    #expect(t.text.contains("seasonal naive (period 12)"))
    #expect(t.text.contains("The model beats every naive baseline"))
    #expect(t.text.contains("MAE by horizon step: +1"))
  }

  @Test func theCheckpointKeepsTheSpecAndTheTrainingStatistics() throws {
    let t = try Self.trained.get()
    let meta = try SafetensorsFile(contentsOf: URL(fileURLWithPath: t.model)).metadata
    let spec = try TimeSeriesSpec(json: #require(meta[TimeSeriesSpec.metadataKey]))
    #expect(spec == (try TimeSeriesSpec(target: "value", features: ["value"], window: 16, horizon: 2, missing: .error)))
    let stats = try ZScoreNormalizer(json: #require(meta[ZScoreNormalizer.metadataKey]))
    // Fitted on the first 256 rows only (80%).
    let first = (0..<256).map { S.sineValue($0) }
    let mean = first.reduce(0, +) / 256
    #expect(abs(try stats.statistics(of: "value").mean - mean) < 1e-9)
    #expect(meta["season"] == "12" && meta["data"] == "csv")
    let checkpoint = try ForecastCheckpoint(path: t.model)
    #expect(checkpoint.season == 12 && checkpoint.spec.horizon == 2)
  }

  @Test func predictWritesOneRowPerWindowInTheTargetsUnits() throws {
    let t = try Self.trained.get()
    let future = t.dir + "/future.csv"
    try S.write(S.sineCSV(rows: 40, start: 400), to: future)
    let out = t.dir + "/forecasts.csv"
    try Predict.parse(["--model", t.model, "--csv", future, "--output", out, "--quiet"]).run()
    let table = try CSVTable(contentsOf: URL(fileURLWithPath: out))
    #expect(table.columnNames == ["line", "time", "value+1", "value+2"])
    #expect(table.rows.count == 40 - 16 + 1)
    // Row n read file lines n+2 ... n+17 (line 1 is the header) and forecasts t = 400+n+16, +17.
    #expect(table.rows[0][0] == "17" && table.rows[0][1] == "2024-01-18 07:00")
    for (n, row) in table.rows.enumerated() where n + 16 + 1 < 40 {
      for h in 0..<2 {
        let truth = S.sineValue(400 + n + 16 + h)
        #expect(abs(Double(row[2 + h])! - truth) < 2.5, "row \(n) +\(h + 1): \(row[2 + h]) vs \(truth)")
      }
    }
    let last = try Predict.parse(["--model", t.model, "--csv", future, "--last"]).forecasts()
    #expect(last.rows.count == 1 && last.rows[0][0] == "41")
    #expect(last.rows[0] == table.rows.last!)
    let bare = try Predict.parse(["--model", t.model, "--csv", future, "--time-column", "none"]).forecasts()
    #expect(bare.header == ["line", "value+1", "value+2"])
  }

  @Test func evaluateScoresAHeldOutFileAgainstTheBaselines() throws {
    let t = try Self.trained.get()
    let test = t.dir + "/test.csv"
    try S.write(S.sineCSV(rows: 60, start: 1000), to: test)
    let (r, text) = try S.evaluate(["--model", t.model, "--csv", test])
    #expect(r.figures.map(\.name) == ["MAE", "RMSE"])
    #expect(text.contains("over 43 held-out windows"))  // 60 - 16 - 2 + 1
    #expect(text.contains("last value") && text.contains("seasonal naive (period 12)"))
    #expect(r.figures[0].number < 1.5)
    // The exact period: the seasonal naive forecast is perfect on a clean sine, and the report says so.
    let (exact, exactText) = try S.evaluate(["--model", t.model, "--csv", test, "--season", "16"])
    #expect(exact.figures[0].reference.contains("period 16"))
    #expect(exactText.contains("does NOT beat the seasonal naive (period 16) baseline"))
  }

  @Test func badInputsExitWithTheRightCodeAndSayWhy() throws {
    let t = try Self.trained.get()
    let dir = t.dir
    // Unknown target column: usage (64), and the columns are listed.
    #expect(S.exitCode { _ = try S.train(["--csv", t.csv, "--target", "price", "--window", "4"]) } == 64)
    #expect(S.errorText { _ = try TimeSeriesSource(options: Train.parse(["--csv", t.csv, "--target", "price", "--window", "4"]).data.series, validationSplit: 0.2) }
      .contains("no column 'price' (columns: 'time', 'value')"))
    // A non-numeric cell: data (65), naming line and column.
    let bad = dir + "/bad.csv"
    try S.write("time,value\n1,2\n2,3\n3,abc\n4,5\n", to: bad)
    #expect(S.exitCode { _ = try S.train(["--csv", bad, "--target", "value", "--window", "1"]) } == 65)
    #expect(S.errorText { _ = try TimeSeriesSource(options: Train.parse(["--csv", bad, "--target", "value", "--window", "1"]).data.series, validationSplit: 0.5) }
      .contains("line 4, column 'value' (index 1): 'abc' is not a number"))
    // A missing cell without --missing: 65, and the flag is named.
    let gap = dir + "/gap.csv"
    try S.write("value\n1\n2\n\n3\nNA\n5\n6\n7\n", to: gap)
    #expect(S.errorText { _ = try TimeSeriesSource(options: Train.parse(["--csv", gap, "--target", "value", "--window", "2"]).data.series, validationSplit: 0.3) }
      .contains("--missing"))
    let filled = try TimeSeriesSource(
      options: Train.parse(["--csv", gap, "--target", "value", "--window", "2", "--missing", "interpolate"]).data.series, validationSplit: 0.3)
    #expect(filled.series.target == [1, 2, 3, 4, 5, 6, 7])  // the blank line is skipped; NA interpolated
    // Window longer than the data, or than the training rows: 64.
    #expect(S.exitCode { _ = try S.train(["--csv", t.csv, "--target", "value", "--window", "400"]) } == 64)
    #expect(S.exitCode { _ = try S.train(["--csv", t.csv, "--target", "value", "--window", "300"]) } == 64)
    // No such file: 74.
    #expect(S.exitCode { _ = try S.train(["--csv", dir + "/none.csv", "--target", "value", "--window", "4"]) } == 74)
    // Flag errors: 64.
    for args in [
      ["--csv", t.csv, "--window", "4"], ["--csv", t.csv, "--target", "value"], ["--csv", t.csv, "--target", "value", "--window", "0"],
      ["--csv", t.csv, "--target", "value", "--window", "4", "--season", "5"], ["--csv", t.csv, "--target", "value", "--window", "4", "--missing", "zero"],
      ["--csv", t.csv, "--target", "value", "--window", "4", "--task", "sine"], ["--csv", t.csv, "--target", "value", "--window", "4", "--steps", "3"],
      ["--target", "value"], ["--csv", t.csv, "--target", "value", "--window", "4", "--validation-split", "1"],
      ["--csv", t.csv, "--target", "value", "--window", "4", "--features", "value,value"],
    ] {
      #expect(S.exitCode { _ = try S.train(args) } == 64, "\(args)")
    }
    // predict / evaluate: a CSV too short for the model's window or without its columns is bad data (65, the
    // checkpoint fixes them, no flag), an array model given a CSV (64), no model file (74).
    let short = dir + "/short.csv"
    try S.write(S.sineCSV(rows: 10), to: short)
    #expect(S.exitCode { try Predict.parse(["--model", t.model, "--csv", short]).run() } == 65)
    #expect(S.exitCode { _ = try S.evaluate(["--model", t.model, "--csv", short]) } == 65)
    #expect(S.exitCode { try Predict.parse(["--model", dir + "/none.safetensors", "--csv", short]).run() } == 74)
    let other = dir + "/other.csv"
    try S.write("time,price\n1,2\n", to: other)
    #expect(S.exitCode { try Predict.parse(["--model", t.model, "--csv", other]).run() } == 65)
    #expect(S.exitCode { try Predict.parse(["--model", t.model]).run() } == 64)
  }
}
