import ArgumentParser
import Foundation
import Recurrent

/// `rnn predict`: forecasts from a CSV with a model trained by `rnn train --csv`, or the
/// outputs of an array model on an NPY input (the `rnn forward` contract).
///
/// Forecast CSV (one row per forecast, horizon steps as columns):
///
///     line,date,load+1,load+2,load+3
///     49,2024-01-03 00:00,512.3,518.9,530.2
///
/// - `line`: the file line of the last row the forecast read (its window ends there);
/// - the time column, if the file has one (`--time-column`, else the first unused column
///   named date/time/timestamp/datetime/ds, else the first unused column that is not numeric),
///   with that row's value;
/// - `<target>+h`: the forecast of the target h steps after that row, in the target's units
///   (de-normalised with the statistics stored at training).
/// Every row from the W-th on gets a forecast (L - W + 1 rows; rows dropped for missing values
/// do not count); `--last` keeps only the forecast after the last row.
struct Predict: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Forecast from a CSV with a model from rnn train --csv (or run an array model on NPY).",
    discussion: """
      --csv: the window, horizon, columns, missing-value policy and normalisation
      statistics come from the checkpoint; the file needs the model's columns
      (by name, the target included). Output CSV, one row per forecast, the
      horizon steps as columns:
        line,<time column>,<target>+1,...,<target>+H
      line: the file line of the last row the window read; <target>+h: the
      forecast h steps after that row, in the target's units. The window slides
      one row at a time, so rows from the window-th on each get a forecast;
      --last keeps only the forecast after the last row. Without --output the
      CSV goes to stdout.
      --x: float [samples, steps, features] (or integer ids) -> the model's
      outputs as float32 NPY, as `rnn forward --input` (which this runs).
      Exit codes: 64 bad usage, 65 bad or mismatched data, 74 file not
      readable/writable.

      Examples:
        rnn predict --model load.safetensors \\
          --csv examples/data/load_test.csv --output forecasts.csv
        rnn predict --model load.safetensors --csv recent.csv --last
        rnn predict --model clips.safetensors --x x.npy --lengths x_lengths.npy \\
          --output y.npy
      """)

  @Option(name: .long, help: "Checkpoint (.safetensors) from rnn train.")
  var model: String

  @Option(name: .long, help: "CSV with the columns the model was trained on (at least --window rows).")
  var csv: String?

  @Option(name: .long, help: "Input .npy for an array model (as rnn forward --input).")
  var x: String?

  @Option(name: .long, help: "Optional .npy of integer sequence lengths [samples] (with --x).")
  var lengths: String?

  @Option(name: .long, help: "Where to write: forecasts .csv (default: stdout) or, with --x, outputs .npy (required).")
  var output: String?

  @Flag(name: .long, help: "Only the forecast after the last row (with --csv).")
  var last = false

  @Option(name: .customLong("time-column"), help: "Column copied into each forecast row (default: detected; 'none' for none).")
  var timeColumn: String?

  @Option(name: .long, help: "Windows per forward pass.")
  var batchSize: Int = 256

  @Flag(name: .long, help: "Print nothing but the forecasts.")
  var quiet = false

  @OptionGroup var compute: ComputeOptions

  func validate() throws {
    guard !model.isEmpty else { throw ValidationError("--model needs a file path") }
    guard (csv == nil) != (x == nil) else { throw ValidationError("give the data: --csv FILE (a forecaster) or --x X.npy (an array model)") }
    guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1, got \(batchSize)") }
    if x != nil {
      guard output != nil else { throw ValidationError("--x needs --output Y.npy") }
      if last || timeColumn != nil { throw ValidationError("\(last ? "--last" : "--time-column") applies to --csv only") }
    }
    if csv != nil, lengths != nil { throw ValidationError("--lengths applies to --x only") }
    if let output, output.isEmpty { throw ValidationError("--output needs a file path") }
  }

  /// What was forecast.
  struct Forecasts {
    var header: [String]
    var rows: [[String]]
    var horizon: Int
    var text: String { CSVTable.format(header: header, rows: rows) }
  }

  /// Reads the checkpoint and the CSV and makes the forecast table.
  func forecasts() throws -> Forecasts {
    let checkpoint = try ForecastCheckpoint(path: model)
    let (table, series) = try checkpoint.series(csv: csv!)
    let spec = checkpoint.spec
    guard spec.window <= series.count else {
      throw RecurrentError.invalidData(
        "\(csv!): the model reads windows of \(spec.window) rows but the file has \(series.count) usable rows; give at least \(spec.window)")
    }
    let values = try checkpoint.forecasts(series, batchSize: batchSize, withTargets: false)
    let time = try timeColumnIndex(table, spec: spec)
    var rowOfLine = [Int: Int]()
    for (r, line) in table.lineNumbers.enumerated() { rowOfLine[line] = r }
    let H = spec.horizon, W = spec.window
    let origins = last ? [series.count - W] : Array(0...(series.count - W))
    let rows = origins.map { s -> [String] in
      let line = series.lineNumbers[s + W - 1]
      var row = [String(line)]
      if let time { row.append(table.rows[rowOfLine[line]!][time].trimmed) }
      for h in 0..<H { row.append("\(Float(values[s * H + h]))") }
      return row
    }
    let header = ["line"] + (time.map { [table.columnNames[$0]] } ?? []) + (1...H).map { "\(spec.target)+\($0)" }
    return Forecasts(header: header, rows: rows, horizon: H)
  }

  /// The column copied into each forecast row, or nil.
  func timeColumnIndex(_ table: CSVTable, spec: TimeSeriesSpec) throws -> Int? {
    if let timeColumn {
      if timeColumn.lowercased() == "none" { return nil }
      return try table.columnIndex(.name(timeColumn))
    }
    let used = Set(spec.features + [spec.target])
    let candidates = table.columnNames.indices.filter { !used.contains(table.columnNames[$0]) }
    let named = ["date", "time", "timestamp", "datetime", "ds"]
    if let c = candidates.first(where: { named.contains(table.columnNames[$0].lowercased()) }) { return c }
    return candidates.first { c in table.rows.first.map { Double($0[c].trimmed) == nil } ?? false }
  }

  func run() throws {
    compute.apply()
    try ExitCodes.reporting("predict") {
      if x != nil {
        var args = ["--model", model, "--input", x!, "--output", output!, "--batch-size", "\(batchSize)"]
        if let lengths { args += ["--lengths", lengths] }
        let shape = try Forward.parse(args).execute()
        if !quiet { print("wrote \(output!): float32 \(shape)") }
        return
      }
      let f = try forecasts()
      if let output {
        try AtomicFile.write(Array(f.text.utf8), to: URL(fileURLWithPath: output))
        if !quiet {
          print("wrote \(output): \(f.rows.count) forecast\(f.rows.count == 1 ? "" : "s") x \(f.horizon) step\(f.horizon == 1 ? "" : "s") (\(f.header.joined(separator: ",")))")
        }
      } else {
        print(f.text, terminator: "")
      }
    }
  }
}
