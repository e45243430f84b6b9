// libFuzzer entry: the CSV reader and the time-series conversion of every column.

func fuzzCSV(_ bytes: [UInt8]) {
  guard let table = try? CSVTable(bytes: bytes, source: "fuzz.csv") else { return }
  for policy in MissingValuePolicy.allCases {
    guard let series = try? TimeSeries(table: table, target: .index(table.columnCount - 1), missing: policy) else { continue }
    _ = series.featureTensor(as: Float.self)
    _ = try? series.split(validationFraction: 0.25)
  }
}
