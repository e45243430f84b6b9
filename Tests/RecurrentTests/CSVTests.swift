import Foundation
import Testing

@testable import Recurrent

@Suite struct CSVTests {
  static func fixture(_ name: String) throws -> URL {
    try #require(Bundle.module.url(forResource: name, withExtension: "csv", subdirectory: "Fixtures"))
  }

  // MARK: - Parsing

  @Test func parsesAHeaderAndNumbers() throws {
    let table = try CSVTable(text: "a,b\n1,2\n3,4\n")
    #expect(table.hasHeader && table.columnNames == ["a", "b"])
    #expect(table.rows == [["1", "2"], ["3", "4"]])
    #expect(table.lineNumbers == [2, 3])
    #expect(table.delimiter == UInt8(ascii: ","))
  }

  @Test func headerDetection() throws {
    // All numeric: no header; columns are named by index.
    let numeric = try CSVTable(text: "1,2\n3,4")
    #expect(!numeric.hasHeader && numeric.columnNames == ["0", "1"] && numeric.rows.count == 2)
    // A text date column in the data does not make the first row a header...
    let dated = try CSVTable(text: "2024-01-01,5\n2024-01-02,6\n")
    #expect(!dated.hasHeader && dated.rows.count == 2)
    // ...but a text cell above a number does.
    let headed = try CSVTable(text: "date,value\n2024-01-01,5\n")
    #expect(headed.hasHeader && headed.columnNames == ["date", "value"] && headed.lineNumbers == [2])
    // A missing cell below a name is not evidence; another column decides.
    #expect(try CSVTable(text: "x,y\n,2\n").hasHeader)
    // A single all-text row is a header (with no data); explicit choices override.
    #expect(try CSVTable(text: "x,y").hasHeader)
    #expect(try !CSVTable(text: "a,b\n1,2", header: .absent).hasHeader)
    #expect(try CSVTable(text: "1,2\n3,4", header: .present).columnNames == ["1", "2"])
    // Empty header cells are named by their index.
    #expect(try CSVTable(text: ",v\n1,2").columnNames == ["0", "v"])
  }

  @Test func rfc4180Quoting() throws {
    let text = "name,quote,n\r\n\"Smith, J\",\"she said \"\"hi\"\"\",1\r\n\"multi\nline\",\"\",2\r\nplain,x\"y,3\r\n"
    let table = try CSVTable(text: text)
    #expect(table.rows[0] == ["Smith, J", "she said \"hi\"", "1"])
    #expect(table.rows[1] == ["multi\nline", "", "2"])
    #expect(table.rows[2] == ["plain", "x\"y", "3"])  // a quote inside an unquoted field is literal
    #expect(table.lineNumbers == [2, 3, 5])  // the quoted line break counts
  }

  @Test func delimiterDetectionAndBlankLines() throws {
    #expect(try CSVTable(text: "a;b;c\n1;2;3").delimiter == UInt8(ascii: ";"))
    #expect(try CSVTable(text: "a\tb\n1\t2").delimiter == UInt8(ascii: "\t"))
    #expect(try CSVTable(text: "\"a;b\",c\n1,2").delimiter == UInt8(ascii: ","))  // quoted ';' does not count
    #expect(try CSVTable(text: "a,b;c\n1,2;3", delimiter: .semicolon).columnNames == ["a,b", "c"])
    let single = try CSVTable(text: "v\n1\n\n2\n   \n3\n\n")
    #expect(single.rows == [["1"], ["2"], ["3"]] && single.lineNumbers == [2, 4, 6])
  }

  @Test func readsAFixtureWithBOMSemicolonsCRLFAndQuotedBreaks() throws {
    let url = try Self.fixture("csv_semicolon_quoted")
    let table = try CSVTable(contentsOf: url)
    #expect(table.delimiter == UInt8(ascii: ";"))
    #expect(table.columnNames == ["date", "load (kW)", "note"])
    #expect(table.rows.count == 4 && table.lineNumbers == [2, 3, 4, 6])
    #expect(table.rows[1][2] == "said \"hi\"" && table.rows[2][2] == "line one\nline two")
    // "1,5" (a decimal comma) is not a number: the error names the file, line, column and cell.
    let message = dataErrorText { _ = try TimeSeries(table: table, target: "load (kW)", missing: .drop) }
    #expect(message == "invalid data: \(url.path): line 2, column 'load (kW)' (index 1): '1,5' is not a number")
  }

  @Test func malformedCSVNamesTheLine() {
    let cases: [(String, String)] = [
      ("a,b\n1,2\n3\n", "<memory>: line 3: expected 2 fields (as on line 1), got 1"),
      ("a,b\n1,\"2\n3,4\n", "<memory>: line 2, field 2: the quoted field opened here is never closed"),
      ("a,b\n\"1\"x,2\n", "<memory>: line 2, field 1: unexpected character 'x' (U+0078) after the closing quote"),
      ("", "<memory>: no rows (the file is empty)"),
      ("\n\n  \n", "<memory>: no rows (the file is empty)"),
    ]
    for (text, expected) in cases {
      let message = dataErrorText { _ = try CSVTable(text: text) }
      #expect(message?.contains(expected) == true, "\(text.debugDescription): \(message ?? "no error")")
    }
    let utf8 = dataErrorText { _ = try CSVTable(bytes: Array("a,b\n1,2\n".utf8) + [0xFF], source: "x.csv") }
    #expect(utf8?.contains("x.csv: invalid UTF-8 at byte offset 8 (line 3)") == true, "\(utf8 ?? "")")
    #expect(dataError { _ = try CSVTable(text: "a", delimiter: .other(UInt8(ascii: "\""))) } != nil)
    let missing = URL(fileURLWithPath: "/nonexistent/in.csv")
    #expect(dataError { _ = try CSVTable(contentsOf: missing) } == .io("cannot open '/nonexistent/in.csv': No such file or directory"))
  }

  @Test func formatRoundTrips() throws {
    let rows = [["1", "plain"], ["2", "comma, inside"], ["3", "quote \" inside"], ["4", "line\nbreak"], ["5", " padded "],
                ["6", ""], ["7", "e\u{301}, accent"]]
    let text = CSVTable.format(header: ["id", "text"], rows: rows)
    #expect(text.hasPrefix("id,text\n1,plain\n2,\"comma, inside\"\n3,\"quote \"\" inside\"\n"))
    let table = try CSVTable(text: text, header: .present)
    #expect(table.columnNames == ["id", "text"] && table.rows == rows)
    let semicolons = CSVTable.format(header: nil, rows: [["a;b", "c,d"]], delimiter: .semicolon)
    #expect(semicolons == "\"a;b\";c,d\n")
    #expect(try CSVTable(text: semicolons, delimiter: .semicolon, header: .absent).rows == [["a;b", "c,d"]])
  }

  @Test func timeSeriesSpecRoundTripsAndSelects() throws {
    let spec = try TimeSeriesSpec(target: "temp", features: ["temp", "pressure"], window: 3, horizon: 1, missing: .interpolate)
    #expect(spec.json == "{\"target\":\"temp\",\"features\":[\"temp\",\"pressure\"],\"window\":3,\"horizon\":1,\"missing\":\"interpolate\"}")
    #expect(try TimeSeriesSpec(json: spec.json) == spec)
    let series = try spec.series(from: CSVTable(contentsOf: Self.fixture("csv_missing")))
    #expect(series.featureNames == ["temp", "pressure"] && series.target == [10, 11, 12, 13.5, 14.25, 15])
    #expect(dataError { _ = try TimeSeriesSpec(target: "t", features: ["t"], window: 0, horizon: 1) } != nil)
    #expect(dataError { _ = try TimeSeriesSpec(target: "t", features: [], window: 2, horizon: 1) } != nil)
    #expect(dataError { _ = try TimeSeriesSpec(target: "t", features: ["t", "t"], window: 2, horizon: 1) } != nil)
    for bad in ["{}", "[]", "{\"target\":\"t\",\"features\":[\"t\"],\"window\":2,\"horizon\":0,\"missing\":\"error\"}",
                "{\"target\":\"t\",\"features\":[1],\"window\":2,\"horizon\":1,\"missing\":\"error\"}",
                "{\"target\":\"t\",\"features\":[\"t\"],\"window\":2,\"horizon\":1,\"missing\":\"guess\"}"] {
      #expect(dataErrorText { _ = try TimeSeriesSpec(json: bad) }?.hasPrefix("invalid data: time series metadata:") == true, "\(bad)")
    }
  }

  // MARK: - Columns and values

  @Test func columnSelection() throws {
    let table = try CSVTable(text: "Time,Temp,temp2,dup,dup\n0,1,2,3,4")
    #expect(try table.columnIndex("Temp") == 1)
    #expect(try table.columnIndex("TIME") == 0)  // case-insensitive fallback
    #expect(try table.columnIndex(2) == 2)
    #expect(try table.columnIndex(.name("2")) == 2)  // a number names an index when no column has that name
    #expect(dataErrorText { _ = try table.columnIndex("nope") }?.contains("no column 'nope' (columns: 'Time', 'Temp'") == true)
    #expect(dataErrorText { _ = try table.columnIndex("dup") }?.contains("ambiguous") == true)
    #expect(dataErrorText { _ = try table.columnIndex(9) }?.contains("outside 0..<5") == true)
    let series = try TimeSeries(table: table, target: "Temp", features: ["Time", "Temp", 2])
    #expect(series.featureNames == ["Time", "Temp", "temp2"] && series.targetName == "Temp")
    #expect(series.features == [0, 1, 2] && series.target == [1])
    #expect(dataErrorText { _ = try TimeSeries(table: table, target: "Temp", features: ["Temp", 1]) }?.contains("selected twice") == true)
  }

  @Test func badValuesNameLineColumnAndCell() throws {
    let cases: [(String, String)] = [
      ("t,v\n0,1\n1,abc\n", "line 3, column 'v' (index 1): 'abc' is not a number"),
      ("t,v\n0,NaN\n", "line 2, column 'v' (index 1): 'NaN' is not a finite number (leave the cell empty to mark a missing value)"),
      ("t,v\n0,inf\n", "line 2, column 'v' (index 1): 'inf' is not a finite number"),
      ("t,v\n0,-Infinity\n", "line 2, column 'v' (index 1): '-Infinity' is not a finite number"),
      ("t,v\n0,1e999\n", "line 2, column 'v' (index 1): '1e999' is not a finite number"),
      ("t,v\n0,1\n1,\n", "line 3, column 'v' (index 1): missing value (choose how to handle missing values"),
      ("t,v\n0,1\n1, NA \n", "line 3, column 'v' (index 1): missing value"),
    ]
    for (text, expected) in cases {
      let message = dataErrorText { _ = try TimeSeries(table: CSVTable(text: text), target: "v") }
      #expect(message?.contains("<memory>: " + expected) == true, "\(text.debugDescription): \(message ?? "no error")")
    }
    // Unselected columns are never parsed.
    #expect(try TimeSeries(table: CSVTable(text: "label,v\nfoo,1\nbar,2"), target: "v").target == [1, 2])
  }

  @Test func everyMissingValuePolicy() throws {
    let table = try CSVTable(contentsOf: Self.fixture("csv_missing"))
    // t,temp,pressure: rows 0..5; temp missing at rows 1 and 4, pressure at row 2.
    let error = dataErrorText { _ = try TimeSeries(table: table, target: "temp", features: ["temp", "pressure"]) }
    #expect(error?.contains("csv_missing.csv: line 3, column 'temp' (index 1): missing value") == true, "\(error ?? "")")

    let dropped = try TimeSeries(table: table, target: "temp", features: ["temp", "pressure"], missing: .drop)
    #expect(dropped.target == [10, 13.5, 15] && dropped.lineNumbers == [2, 5, 7])
    #expect(dropped.features == [10, 1000, 13.5, 1003, 15, 1005])

    let filled = try TimeSeries(table: table, target: "temp", features: ["temp", "pressure"], missing: .forwardFill)
    #expect(filled.target == [10, 10, 12, 13.5, 13.5, 15])
    #expect(filled.features.enumerated().filter { $0.offset % 2 == 1 }.map(\.element) == [1000, 1001, 1001, 1003, 1004, 1005])

    let interpolated = try TimeSeries(table: table, target: "temp", features: ["temp", "pressure"], missing: .interpolate)
    #expect(interpolated.target == [10, 11, 12, 13.5, 14.25, 15])
    #expect(interpolated.features.enumerated().filter { $0.offset % 2 == 1 }.map(\.element) == [1000, 1001, 1002, 1003, 1004, 1005])

    // Edges: forward fill cannot fill a leading gap; interpolation holds the nearest value (numpy.interp).
    let edges = try CSVTable(text: "v\n\n1\n3\n\n")  // blank lines are skipped, so use NA
    #expect(edges.rows.count == 2)
    let gappy = try CSVTable(text: "v\nNA\n1\n3\nnull\n")
    #expect(dataErrorText { _ = try TimeSeries(table: gappy, target: "v", missing: .forwardFill) }?.contains("line 2, column 'v' (index 0): missing value with no value above it") == true)
    #expect(try TimeSeries(table: gappy, target: "v", missing: .interpolate).target == [1, 1, 3, 3])
    #expect(try TimeSeries(table: gappy, target: "v", missing: .drop).lineNumbers == [3, 4])
    let empty = try CSVTable(text: "v,w\nNA,1\n,2\n")
    #expect(dataErrorText { _ = try TimeSeries(table: empty, target: "v", missing: .interpolate) }?.contains("no values to interpolate") == true)
    #expect(dataErrorText { _ = try TimeSeries(table: empty, target: "v", missing: .drop) }?.contains("no rows left") == true)
  }

  // MARK: - Normalisation, windows, baselines

  static func series(_ y: [Double], second: Bool = true) throws -> TimeSeries {
    try TimeSeries(
      featureNames: second ? ["y", "x"] : ["y"], features: second ? y.flatMap { [$0, 10 * $0] } : y, targetName: "y",
      target: y)
  }

  @Test func windowShapesAndValues() throws {
    let s = try Self.series((0..<10).map(Double.init))
    let w = try TimeSeriesWindows<Float>(series: s, window: 3, horizon: 2)
    #expect(w.count == 6 && w.inputs.shape == [6, 3, 2] && w.targets.shape == [6, 2])
    #expect(Array(w.inputs.scalars[0..<6]) == [0, 0, 1, 10, 2, 20])
    #expect(Array(w.targets.scalars[0..<2]) == [3, 4])
    #expect(Array(w.inputs.scalars[30..<36]) == [5, 50, 6, 60, 7, 70] && Array(w.targets.scalars[10..<12]) == [8, 9])
    #expect(w.targetStart == [3, 4, 5, 6, 7, 8])
    let strided = try TimeSeriesWindows<Double>(series: s, window: 3, horizon: 2, stride: 2)
    #expect(strided.count == 3 && strided.targetStart == [3, 5, 7])
    let exact = try TimeSeriesWindows<Float>(series: s, window: 8, horizon: 2)
    #expect(exact.count == 1)
    let p = try TimeSeriesWindows<Float>.predictionInputs(series: s, window: 4)
    #expect(p.shape == [7, 4, 2] && Array(p.scalars.suffix(2)) == [9, 90])
  }

  @Test func windowValidation() throws {
    let s = try Self.series([1, 2, 3, 4, 5])
    #expect(dataError { _ = try TimeSeriesWindows<Float>(series: s, window: 0, horizon: 1) } == .invalidArgument("window must be >= 1 step, got 0"))
    #expect(dataError { _ = try TimeSeriesWindows<Float>(series: s, window: 2, horizon: 0) } == .invalidArgument("horizon must be >= 1 step, got 0"))
    #expect(
      dataErrorText { _ = try TimeSeriesWindows<Float>(series: s, window: 4, horizon: 2) }?
        .contains("window 4 + horizon 2 = 6 steps is longer than the 5 rows of data") == true)
    #expect(dataError { _ = try TimeSeriesWindows<Float>(series: s, window: 2, horizon: 1, stride: 0) } != nil)
    #expect(dataError { _ = try TimeSeriesWindows<Float>.predictionInputs(series: s, window: 6) } != nil)
  }

  @Test func zScoreStatisticsRoundTripThroughJSON() throws {
    let s = try Self.series([1, 2, 3, 4])
    let n = ZScoreNormalizer(fitting: s)
    #expect(n.columns == ["y", "x"])
    #expect(n.means == [2.5, 25])
    #expect(abs(n.stds[0] - 1.25.squareRoot()) < 1e-15 && abs(n.stds[1] - 125.0.squareRoot()) < 1e-12)  // population std
    let z = try n.normalized(s)
    #expect(abs(z.target.reduce(0, +)) < 1e-12)
    #expect(abs(z.target.map { $0 * $0 }.reduce(0, +) / 4 - 1) < 1e-12)
    let back = try n.denormalize(z.target, column: "y")
    #expect(zip(back, s.target).allSatisfy { abs($0 - $1) < 1e-12 })
    let restored = try ZScoreNormalizer(json: n.json)
    #expect(restored == n)  // Doubles round-trip exactly
    // A constant column normalises to 0 (std 1), and a target that is not a feature gets statistics too.
    let c = try TimeSeries(featureNames: ["k"], features: [5, 5, 5], targetName: "t", target: [1, 2, 3])
    let cn = ZScoreNormalizer(fitting: c)
    let cz = try cn.normalized(c)
    #expect(cn.columns == ["k", "t"] && cn.stds[0] == 1 && cz.features == [0, 0, 0])
    #expect(dataErrorText { _ = try cn.normalized(s) }?.contains("no statistics for column 'y'") == true)
    for bad in ["{}", "nope", "{\"columns\":[\"a\"],\"mean\":[1],\"std\":[0]}", "{\"columns\":[\"a\"],\"mean\":[1,2],\"std\":[1]}",
                "{\"columns\":[\"a\"],\"mean\":[\"1\"],\"std\":[1]}"] {
      #expect(dataError { _ = try ZScoreNormalizer(json: bad) } != nil, "\(bad)")
    }
    let quoted = try ZScoreNormalizer(columns: ["a \"b\"\n"], means: [1e-300], stds: [3.5])
    #expect(try ZScoreNormalizer(json: quoted.json) == quoted)
  }

  @Test func chronologicalSplit() throws {
    let s = try Self.series((0..<10).map(Double.init))
    let (train, val) = try s.split(validationFraction: 0.3)
    #expect(train.target == [0, 1, 2, 3, 4, 5, 6] && val.target == [7, 8, 9])
    #expect(val.features == [7, 70, 8, 80, 9, 90] && val.lineNumbers == [8, 9, 10])
    #expect(dataError { _ = try s.split(validationFraction: 0.05) } != nil)
    #expect(dataError { _ = try s.split(validationFraction: 0) } != nil)
  }

  @Test func naiveBaselinesOnAKnownSeries() throws {
    // y = 1, 2, ..., 8; W = 3, H = 2: windows start at 0...3, targets (4,5) (5,6) (6,7) (7,8).
    let s = try Self.series((1...8).map(Double.init), second: false)
    let last = try NaiveBaseline.lastValue.forecasts(series: s, window: 3, horizon: 2)
    #expect(last == [3, 3, 4, 4, 5, 5, 6, 6])
    let scores = try NaiveBaseline.lastValue.evaluate(series: s, window: 3, horizon: 2)
    #expect(scores.mse == 2.5 && scores.mae == 1.5)  // errors 1 and 2 per window: (1 + 4) / 2, (1 + 2) / 2
    let seasonal2 = try NaiveBaseline.seasonal(period: 2).forecasts(series: s, window: 3, horizon: 2)
    #expect(seasonal2 == [2, 3, 3, 4, 4, 5, 5, 6])
    #expect(try NaiveBaseline.seasonal(period: 1).forecasts(series: s, window: 3, horizon: 2) == last)

    // A period-4 pattern: seasonal naive with P = 4 is exact, last value is not.
    let pattern: [Double] = (0..<24).map { [0, 5, 1, -3][$0 % 4] }
    let p = try Self.series(pattern, second: false)
    let seasonal = try NaiveBaseline.seasonal(period: 4).evaluate(series: p, window: 4, horizon: 6)
    #expect(seasonal.mse == 0 && seasonal.mae == 0)
    #expect(try NaiveBaseline.lastValue.evaluate(series: p, window: 4, horizon: 6).mse > 1)
    #expect(dataErrorText { _ = try NaiveBaseline.seasonal(period: 5).forecasts(series: p, window: 4, horizon: 1) }?.contains("1...4") == true)
    #expect(dataError { _ = try NaiveBaseline.lastValue.forecasts(series: p, window: 20, horizon: 5) } != nil)
    #expect(dataError { _ = try ForecastScores(name: "m", predictions: [1], targets: [1, 2]) } != nil)
  }
}
