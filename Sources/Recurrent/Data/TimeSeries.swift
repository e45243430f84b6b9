import Foundation

/// What to do with missing cells (empty, NA, N/A, null) in the selected columns of a CSV.
/// There is no silent default: `.error` stops at the first one.
public enum MissingValuePolicy: String, Sendable, CaseIterable {
  /// Throw `invalidData` naming the line and column of the first missing cell.
  case error
  /// Drop every row with a missing cell in a selected column (the series then skips those
  /// time steps: windows may span the gap).
  case drop
  /// Carry the last value above forward (pandas `ffill`); a column that starts with a missing
  /// cell is an error (there is nothing to carry).
  case forwardFill = "ffill"
  /// Linear interpolation by row between the nearest known values above and below; missing
  /// cells before the first or after the last known value take that value (as `numpy.interp`).
  case interpolate
}

/// Numeric time series from a CSV: feature columns [L, F] and a target column [L], one row per
/// time step, in file order.
///
///     let table = try CSVTable(contentsOf: url)
///     let series = try TimeSeries(table: table, target: "load", features: ["load", "temp"], missing: .interpolate)
///     let (train, validation) = try series.split(validationFraction: 0.2)
///     let normalizer = ZScoreNormalizer(fitting: train)           // statistics of the training rows only
///     let windows = try TimeSeriesWindows(series: normalizer.normalized(train), window: 48, horizon: 6)
///     // windows.inputs [N, 48, 2], windows.targets [N, 6]; metadata[ZScoreNormalizer.metadataKey] = normalizer.json
public struct TimeSeries: Sendable, Equatable {
  /// Names the data in errors.
  public let source: String
  /// F feature column names, in input order.
  public let featureNames: [String]
  /// The target column's name (it may also be a feature).
  public let targetName: String
  /// Row-major [L, F] feature values.
  public let features: [Double]
  /// [L] target values.
  public let target: [Double]
  /// The file line of each row (for messages and forecast output).
  public let lineNumbers: [Int]

  /// L: time steps.
  public var count: Int { target.count }
  /// F: features per step.
  public var featureCount: Int { featureNames.count }

  /// A series from explicit values; `features` is [L, F] row-major. Throws `invalidData` for a
  /// non-finite value and `shapeMismatch` when the sizes disagree.
  public init(
    featureNames: [String], features: [Double], targetName: String, target: [Double], lineNumbers: [Int]? = nil,
    source: String = "<memory>"
  ) throws {
    guard !featureNames.isEmpty, features.count == featureNames.count * target.count else {
      throw RecurrentError.shapeMismatch(
        "time series: \(features.count) feature values for \(target.count) rows x \(featureNames.count) features")
    }
    if let lineNumbers, lineNumbers.count != target.count {
      throw RecurrentError.shapeMismatch("time series: \(lineNumbers.count) line numbers for \(target.count) rows")
    }
    if let bad = features.firstIndex(where: { !$0.isFinite }) {
      throw RecurrentError.invalidData(
        "\(source): row \(bad / featureNames.count), feature '\(featureNames[bad % featureNames.count])' is \(features[bad])")
    }
    if let bad = target.firstIndex(where: { !$0.isFinite }) {
      throw RecurrentError.invalidData("\(source): row \(bad), target '\(targetName)' is \(target[bad])")
    }
    self.source = source
    self.featureNames = featureNames
    self.features = features
    self.targetName = targetName
    self.target = target
    self.lineNumbers = lineNumbers ?? (0..<target.count).map { $0 + 1 }
  }

  /// The selected columns of `table` as numbers.
  ///
  /// - Parameters:
  ///   - target: the column to forecast.
  ///   - features: the input columns (default: the target alone, a univariate series). List
  ///     the target too if its own past should be an input.
  ///   - missing: what to do with missing cells (see `MissingValuePolicy`).
  /// - Throws: `invalidArgument` for an unknown column; `invalidData` naming the line, the
  ///   column and the cell for text that is not a number, for NaN or infinity ("leave the cell
  ///   empty to mark it missing"), for missing cells under `.error`, and when no rows remain.
  public init(table: CSVTable, target: CSVColumn, features: [CSVColumn]? = nil, missing: MissingValuePolicy = .error)
    throws
  {
    let targetIndex = try table.columnIndex(target)
    let featureIndices = try (features ?? [target]).map { try table.columnIndex($0) }
    guard !featureIndices.isEmpty else { throw RecurrentError.invalidArgument("time series: no feature columns") }
    if let dup = featureIndices.enumerated().first(where: { featureIndices[..<$0.offset].contains($0.element) }) {
      throw RecurrentError.invalidArgument("time series: \(table.describeColumn(dup.element)) is selected twice")
    }
    // Parse each selected column once (target may also be a feature).
    var columns = [Int]()
    for c in featureIndices + [targetIndex] where !columns.contains(c) { columns.append(c) }
    let L = table.rows.count
    guard L > 0 else {
      throw RecurrentError.invalidData("\(table.source): no data rows (the file has only a header line)")
    }
    var values = [[Double?]](repeating: [], count: columns.count)
    for (k, c) in columns.enumerated() {
      values[k] = try (0..<L).map { r -> Double? in
        let cell = table.rows[r][c]
        if CSVNumber.isMissing(cell) { return nil }
        let at = "\(table.source): line \(table.lineNumbers[r]), \(table.describeColumn(c))"
        guard let v = CSVNumber.parse(cell) else {
          throw RecurrentError.invalidData("\(at): '\(cell)' is not a number")
        }
        guard v.isFinite else {
          throw RecurrentError.invalidData(
            "\(at): '\(cell.trimmingCharacters(in: .whitespaces))' is not a finite number "
              + "(leave the cell empty to mark a missing value)")
        }
        return v
      }
    }
    // Missing values.
    var keep = Array(0..<L)
    for (k, c) in columns.enumerated() {
      guard let firstMissing = values[k].firstIndex(where: { $0 == nil }) else { continue }
      let at = { (r: Int) in "\(table.source): line \(table.lineNumbers[r]), \(table.describeColumn(c))" }
      switch missing {
      case .error:
        throw RecurrentError.invalidData(
          "\(at(firstMissing)): missing value (choose how to handle missing values: drop, ffill or interpolate)")
      case .drop:
        break
      case .forwardFill:
        guard values[k][0] != nil else {
          throw RecurrentError.invalidData("\(at(0)): missing value with no value above it to carry forward")
        }
        for r in 1..<L where values[k][r] == nil { values[k][r] = values[k][r - 1] }
      case .interpolate:
        let known = values[k].indices.filter { values[k][$0] != nil }
        guard let lo = known.first, let hi = known.last else {
          throw RecurrentError.invalidData("\(table.source): \(table.describeColumn(c)) has no values to interpolate from")
        }
        var j = 0  // known[j] <= r < known[j + 1]
        for r in 0..<L where values[k][r] == nil {
          if r < lo { values[k][r] = values[k][lo]; continue }
          if r > hi { values[k][r] = values[k][hi]; continue }
          while known[j + 1] < r { j += 1 }
          let a = known[j], b = known[j + 1]
          let va = values[k][a]!, vb = values[k][b]!
          values[k][r] = va + (vb - va) * Double(r - a) / Double(b - a)
        }
      }
    }
    if missing == .drop {
      keep = keep.filter { r in values.allSatisfy { $0[r] != nil } }
    }
    guard !keep.isEmpty else {
      throw RecurrentError.invalidData("\(table.source): no rows left (every row has a missing value in a selected column)")
    }
    let slot = { (c: Int) in columns.firstIndex(of: c)! }
    var feats = [Double]()
    feats.reserveCapacity(keep.count * featureIndices.count)
    for r in keep { for c in featureIndices { feats.append(values[slot(c)][r]!) } }
    try self.init(
      featureNames: featureIndices.map { table.columnNames[$0] }, features: feats,
      targetName: table.columnNames[targetIndex], target: keep.map { values[slot(targetIndex)][$0]! },
      lineNumbers: keep.map { table.lineNumbers[$0] }, source: table.source)
  }

  /// Rows `range` (e.g. a chronological split).
  public func rows(_ range: Range<Int>) -> TimeSeries {
    let F = featureCount
    return try! TimeSeries(
      featureNames: featureNames, features: Array(features[(range.lowerBound * F)..<(range.upperBound * F)]),
      targetName: targetName, target: Array(target[range]), lineNumbers: Array(lineNumbers[range]), source: source)
  }

  /// The first `1 - fraction` of the rows for training and the last `fraction` for validation
  /// (chronological: the model is judged on the future). Throws `invalidArgument` if `fraction`
  /// is outside (0, 1) or a part would be empty.
  public func split(validationFraction fraction: Double) throws -> (training: TimeSeries, validation: TimeSeries) {
    let nVal = Int((Double(count) * fraction).rounded(.down))
    guard fraction.isFinite, fraction > 0, fraction < 1, nVal >= 1, nVal < count else {
      throw RecurrentError.invalidArgument(
        "\(source): a validation fraction of \(fraction) of \(count) rows leaves \(count - nVal) for training and \(nVal) for validation; both need at least 1")
    }
    return (rows(0..<(count - nVal)), rows((count - nVal)..<count))
  }

  /// The features as a [L, F] tensor.
  public func featureTensor<S: TensorScalar>(as _: S.Type = S.self) -> Tensor<S> {
    Tensor(shape: [count, featureCount], scalars: features.map { S($0) })
  }

  /// The value of every column this series holds (features, then the target if it is not a
  /// feature), by name: used by the normalizer.
  var columns: [(name: String, values: [Double])] {
    var out = featureNames.enumerated().map { f, name in
      (name, stride(from: f, to: features.count, by: featureCount).map { features[$0] })
    }
    if !featureNames.contains(targetName) { out.append((targetName, target)) }
    return out
  }
}

/// How a forecasting model reads its CSV, kept in checkpoint metadata (`metadataKey`) beside the
/// normalisation statistics so that prediction rebuilds exactly the training inputs:
///
///     {"target":"load","features":["load","temp"],"window":48,"horizon":6,"missing":"interpolate"}
///
///     // training
///     let spec = try TimeSeriesSpec(target: "load", features: ["load", "temp"], window: 48, horizon: 6, missing: .interpolate)
///     let series = try spec.series(from: CSVTable(contentsOf: url))
///     metadata[TimeSeriesSpec.metadataKey] = spec.json
///     // prediction
///     let spec = try TimeSeriesSpec(json: checkpoint.metadata[TimeSeriesSpec.metadataKey]!)
///     let x = try TimeSeriesWindows<Float>.predictionInputs(series: normalizer.normalized(spec.series(from: table)), window: spec.window)
public struct TimeSeriesSpec: Equatable, Sendable {
  /// Checkpoint metadata key for `json`.
  public static let metadataKey = "time_series"

  /// The target column's name.
  public let target: String
  /// The input columns' names, in input order.
  public let features: [String]
  /// W: past steps per input window.
  public let window: Int
  /// H: future target steps per forecast.
  public let horizon: Int
  public let missing: MissingValuePolicy

  /// Throws `invalidArgument` for W or H < 1, no features or a feature listed twice.
  public init(target: String, features: [String], window: Int, horizon: Int, missing: MissingValuePolicy = .error) throws {
    guard window >= 1 else { throw RecurrentError.invalidArgument("window must be >= 1 step, got \(window)") }
    guard horizon >= 1 else { throw RecurrentError.invalidArgument("horizon must be >= 1 step, got \(horizon)") }
    guard !features.isEmpty else { throw RecurrentError.invalidArgument("time series: no feature columns") }
    guard Set(features).count == features.count else {
      throw RecurrentError.invalidArgument("time series: a feature column is listed twice in \(features)")
    }
    self.target = target
    self.features = features
    self.window = window
    self.horizon = horizon
    self.missing = missing
  }

  /// The series these columns select from `table` (by name).
  public func series(from table: CSVTable) throws -> TimeSeries {
    try TimeSeries(table: table, target: .name(target), features: features.map { .name($0) }, missing: missing)
  }

  /// Compact JSON text (see the type's documentation).
  public var json: String {
    JSONValue.object([
      "target": .string(target), "features": .array(features.map { .string($0) }), "window": .int(window),
      "horizon": .int(horizon), "missing": .string(missing.rawValue),
    ]).description
  }

  /// The spec stored by `json`. Throws `invalidData` explaining what is wrong.
  public init(json: String) throws {
    func bad(_ m: String) -> RecurrentError { .invalidData("time series metadata: \(m)") }
    let object = try DataSupport.jsonObject(json, what: "time series metadata")
    guard let target = object["target"]?.string else { throw bad("missing string key \"target\"") }
    guard let items = object["features"]?.array else { throw bad("missing array key \"features\"") }
    let features = try items.enumerated().map { i, item in
      guard let name = item.string else { throw bad("features[\(i)] is not a string") }
      return name
    }
    guard let window = object["window"]?.int, let horizon = object["horizon"]?.int else {
      throw bad("missing integer keys \"window\" and \"horizon\"")
    }
    guard let name = object["missing"]?.string, let missing = MissingValuePolicy(rawValue: name) else {
      throw bad("\"missing\" must be one of \(MissingValuePolicy.allCases.map(\.rawValue).joined(separator: ", "))")
    }
    do {
      try self.init(target: target, features: features, window: window, horizon: horizon, missing: missing)
    } catch RecurrentError.invalidArgument(let message) {
      throw bad(message)
    }
  }
}

/// Per-column z-score normalisation, z = (x - mean) / std, with statistics kept so they can be
/// stored in checkpoint metadata and applied again at prediction time.
///
/// `std` is the population standard deviation (divide by n, as NumPy's default and Keras's
/// `Normalization` layer); a constant column (std < 1e-12 of its scale) gets std = 1 so it
/// normalises to 0 instead of dividing by zero. Fit on the training rows only, so no
/// validation statistics leak into training.
///
///     {"columns":["load","temp"],"mean":[512.5,11.2],"std":[80.1,6.3]}      (json)
public struct ZScoreNormalizer: Equatable, Sendable {
  /// Checkpoint metadata key for `json`.
  public static let metadataKey = "normalization"

  public let columns: [String]
  public let means: [Double]
  public let stds: [Double]

  /// Explicit statistics; throws `invalidData` for mismatched counts, non-finite values or a
  /// std <= 0.
  public init(columns: [String], means: [Double], stds: [Double]) throws {
    guard columns.count == means.count, columns.count == stds.count, !columns.isEmpty else {
      throw RecurrentError.invalidData(
        "normalization: \(columns.count) columns, \(means.count) means and \(stds.count) standard deviations")
    }
    if let i = means.indices.first(where: { !means[$0].isFinite || !stds[$0].isFinite || stds[$0] <= 0 }) {
      throw RecurrentError.invalidData(
        "normalization: column '\(columns[i])' has mean \(means[i]) and std \(stds[i]) (need finite values and std > 0)")
    }
    self.columns = columns
    self.means = means
    self.stds = stds
  }

  /// Statistics of every column of `series` (features and target).
  public init(fitting series: TimeSeries) {
    var names = [String](), means = [Double](), stds = [Double]()
    for (name, values) in series.columns {
      let n = Double(values.count)
      let mean = values.reduce(0, +) / n
      let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / n
      let scale = values.reduce(0) { max($0, abs($1)) }
      var std = variance.squareRoot()
      if !(std > 1e-12 * max(1, scale)) { std = 1 }
      names.append(name)
      means.append(mean)
      stds.append(std)
    }
    try! self.init(columns: names, means: means, stds: stds)
  }

  /// (mean, std) of `column`; throws `invalidArgument` if it was not fitted.
  public func statistics(of column: String) throws -> (mean: Double, std: Double) {
    guard let i = columns.firstIndex(of: column) else {
      throw RecurrentError.invalidArgument(
        "normalization: no statistics for column '\(column)' (have \(columns.map { "'\($0)'" }.joined(separator: ", ")))")
    }
    return (means[i], stds[i])
  }

  /// `series` with every feature and the target normalised by their columns' statistics.
  public func normalized(_ series: TimeSeries) throws -> TimeSeries {
    let F = series.featureCount
    let stats = try series.featureNames.map { try statistics(of: $0) }
    var features = series.features
    for i in features.indices { features[i] = (features[i] - stats[i % F].mean) / stats[i % F].std }
    let t = try statistics(of: series.targetName)
    return try TimeSeries(
      featureNames: series.featureNames, features: features, targetName: series.targetName,
      target: series.target.map { ($0 - t.mean) / t.std }, lineNumbers: series.lineNumbers, source: series.source)
  }

  /// Values of `column` mapped back to its units: x = z * std + mean.
  public func denormalize(_ values: [Double], column: String) throws -> [Double] {
    let s = try statistics(of: column)
    return values.map { $0 * s.std + s.mean }
  }

  /// Compact JSON text (see the type's documentation); Doubles round-trip exactly.
  public var json: String {
    JSONValue.object([
      "columns": .array(columns.map { .string($0) }), "mean": .array(means.map { .double($0) }),
      "std": .array(stds.map { .double($0) }),
    ]).description
  }

  /// Statistics stored by `json`. Throws `invalidData` explaining what is wrong.
  public init(json: String) throws {
    func bad(_ m: String) -> RecurrentError { .invalidData("normalization metadata: \(m)") }
    let object = try DataSupport.jsonObject(json, what: "normalization metadata")
    func list<T>(_ key: String, _ what: String, _ convert: (JSONValue) -> T?) throws -> [T] {
      guard let items = object[key]?.array else { throw bad("missing array key \"\(key)\"") }
      return try items.enumerated().map { i, item in
        guard let v = convert(item) else { throw bad("\(key)[\(i)] is not \(what)") }
        return v
      }
    }
    try self.init(
      columns: list("columns", "a string", \.string), means: list("mean", "a finite number", \.double),
      stds: list("std", "a finite number", \.double))
  }
}

/// Sliding windows over a `TimeSeries` for sequence-to-vector forecasting:
///
///     inputs[n, w, f] = features[s_n + w, f]          w in 0..<W     [N, W, F]
///     targets[n, h]   = target[s_n + W + h]           h in 0..<H     [N, H]
///     s_n = n * stride,   N = floor((L - W - H) / stride) + 1
///
/// i.e. W past steps of every feature in, the next H values of the target out (horizon H).
/// `targetStart[n] = s_n + W` is the row of the first target of window n.
public struct TimeSeriesWindows<Scalar: TensorScalar>: Sendable {
  public let window: Int
  public let horizon: Int
  public let stride: Int
  /// [N, W, F]
  public let inputs: Tensor<Scalar>
  /// [N, H]
  public let targets: Tensor<Scalar>
  /// The series row of each window's first target.
  public let targetStart: [Int]

  /// N: number of windows.
  public var count: Int { targetStart.count }

  /// Throws `invalidArgument` naming the numbers when W or H < 1 or W + H > L.
  public init(series: TimeSeries, window: Int, horizon: Int, stride: Int = 1) throws {
    try Self.validate(window: window, horizon: horizon, stride: stride, rows: series.count, source: series.source)
    let L = series.count, W = window, H = horizon, F = series.featureCount
    let starts = Array(Swift.stride(from: 0, through: L - W - H, by: stride))
    var x = [Scalar](), y = [Scalar]()
    x.reserveCapacity(starts.count * W * F)
    y.reserveCapacity(starts.count * H)
    for s in starts {
      for v in series.features[(s * F)..<((s + W) * F)] { x.append(Scalar(v)) }
      for v in series.target[(s + W)..<(s + W + H)] { y.append(Scalar(v)) }
    }
    self.window = W
    self.horizon = H
    self.stride = stride
    self.inputs = Tensor(shape: [starts.count, W, F], scalars: x)
    self.targets = Tensor(shape: [starts.count, H], scalars: y)
    self.targetStart = starts.map { $0 + W }
  }

  /// Every window of W steps with no targets, for forecasting: [L - W + 1, W, F]; the last one
  /// ends at the last row, so its forecast is of the H steps after the data.
  public static func predictionInputs(series: TimeSeries, window: Int) throws -> Tensor<Scalar> {
    guard window >= 1 else { throw RecurrentError.invalidArgument("window must be >= 1, got \(window)") }
    guard window <= series.count else {
      throw RecurrentError.invalidArgument(
        "\(series.source): a window of \(window) steps is longer than the \(series.count) rows of data")
    }
    let L = series.count, W = window, F = series.featureCount
    return Tensor(
      shape: [L - W + 1, W, F],
      scalars: (0...(L - W)).flatMap { s in series.features[(s * F)..<((s + W) * F)].map { Scalar($0) } })
  }

  static func validate(window W: Int, horizon H: Int, stride: Int, rows L: Int, source: String) throws {
    guard W >= 1 else { throw RecurrentError.invalidArgument("window must be >= 1 step, got \(W)") }
    guard H >= 1 else { throw RecurrentError.invalidArgument("horizon must be >= 1 step, got \(H)") }
    guard stride >= 1 else { throw RecurrentError.invalidArgument("stride must be >= 1, got \(stride)") }
    guard W + H <= L else {
      throw RecurrentError.invalidArgument(
        "\(source): window \(W) + horizon \(H) = \(W + H) steps is longer than the \(L) rows of data "
          + "(need at least \(W + H) rows for one window)")
    }
  }
}

/// Forecast errors, in the target's units when given raw values.
public struct ForecastScores: Sendable, Equatable, CustomStringConvertible {
  public let name: String
  /// Mean squared error over every window and horizon step.
  public let mse: Double
  /// Mean absolute error over every window and horizon step.
  public let mae: Double

  /// MSE and MAE of `predictions` against `targets` (same count, > 0).
  public init(name: String, predictions: [Double], targets: [Double]) throws {
    guard predictions.count == targets.count, !targets.isEmpty else {
      throw RecurrentError.shapeMismatch("\(name): \(predictions.count) predictions for \(targets.count) targets")
    }
    var se = 0.0, ae = 0.0
    for (p, t) in zip(predictions, targets) {
      se += (p - t) * (p - t)
      ae += abs(p - t)
    }
    self.name = name
    self.mse = se / Double(targets.count)
    self.mae = ae / Double(targets.count)
  }

  public var description: String { "\(name): mse \(mse), mae \(mae)" }
}

/// Naive forecasts to compare a model against, on the same windows as `TimeSeriesWindows`
/// (only the target values inside each input window are used, as the model sees them):
///
///     last value:         yhat[n, h] = target[s_n + W - 1]
///     seasonal (period P): yhat[n, h] = target[s_n + W + h - P * (floor(h / P) + 1)]    1 <= P <= W
///
/// (the value one season before the forecast step, repeating the last observed season; P = 1
/// is the last value).
public enum NaiveBaseline: Sendable, Equatable, CustomStringConvertible {
  case lastValue
  case seasonal(period: Int)

  public var description: String {
    switch self {
    case .lastValue: "last value"
    case .seasonal(let p): "seasonal naive (period \(p))"
    }
  }

  /// Forecasts [N, H] row-major for the windows `TimeSeriesWindows(series:window:horizon:stride:)` makes.
  public func forecasts(series: TimeSeries, window: Int, horizon: Int, stride: Int = 1) throws -> [Double] {
    try TimeSeriesWindows<Double>.validate(
      window: window, horizon: horizon, stride: stride, rows: series.count, source: series.source)
    if case .seasonal(let p) = self, !(1...window).contains(p) {
      throw RecurrentError.invalidArgument(
        "seasonal period must be in 1...\(window) (the window), got \(p): the baseline uses only values inside the window")
    }
    let W = window, H = horizon, y = series.target
    var out = [Double]()
    for s in Swift.stride(from: 0, through: series.count - W - H, by: stride) {
      for h in 0..<H {
        switch self {
        case .lastValue: out.append(y[s + W - 1])
        case .seasonal(let P): out.append(y[s + W + h - P * (h / P + 1)])
        }
      }
    }
    return out
  }

  /// This baseline's MSE and MAE against the true targets of the same windows.
  public func evaluate(series: TimeSeries, window: Int, horizon: Int, stride: Int = 1) throws -> ForecastScores {
    let predictions = try forecasts(series: series, window: window, horizon: horizon, stride: stride)
    let truth = try TimeSeriesWindows<Double>(series: series, window: window, horizon: horizon, stride: stride)
    return try ForecastScores(name: description, predictions: predictions, targets: truth.targets.scalars)
  }
}
