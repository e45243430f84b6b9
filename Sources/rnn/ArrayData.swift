import Foundation
import Recurrent

/// X, Y (and lengths) NPY files checked against each other and against the loss, with errors
/// that name the file, the sample and what was expected:
///
///     X  float [N, T, F]   ([N, T] -> [N, T, 1]; or integer ids [N, T] for an embedding model)
///     Y  sparse-ce  integer labels [N] (one per sequence) or [N, T] (one per step), >= 0
///        ce         one-hot / probability rows [N, C] or [N, T, C]
///        bce        0/1 (or probabilities) [N] -> [N, 1], or [N, K]
///        mse, mae   values [N] -> [N, 1], or [N, K], [N, T, K]
///     lengths       integer [N], each in 1...T
struct ArrayData {
  let x: Tensor<Float>
  let y: Tensor<Float>
  let lengths: [Int]?
  let loss: ArrayLoss
  let xPath: String
  let yPath: String

  var count: Int { x.shape[0] }
  var inputShape: [Int] { Array(x.shape.dropFirst()) }
  var dataset: TaskDataset<Float> { TaskDataset(x: x, y: y, lengths: lengths) }

  init(x xPath: String, y yPath: String, lengths lengthsPath: String?, loss: ArrayLoss, tokenInputs: Bool) throws {
    let xa = try NPYArray(contentsOf: URL(fileURLWithPath: xPath))
    let ya = try NPYArray(contentsOf: URL(fileURLWithPath: yPath))
    guard xa.shape.count == 2 || xa.shape.count == 3, xa.shape.allSatisfy({ $0 > 0 }) else {
      throw RecurrentError.shapeMismatch(
        "\(xPath): expected inputs [samples, steps, features] (or [samples, steps]), got \(xa.dtype.rawValue) \(xa.shape)")
    }
    let N = xa.shape[0], T = xa.shape[1]
    guard ya.shape.first == N else {
      throw RecurrentError.shapeMismatch(
        "\(xPath) has \(N) samples but \(yPath) has \(ya.shape.first.map(String.init) ?? "none") (shapes \(xa.shape) and \(ya.shape)); "
          + "they must match, one target per input row")
    }
    guard N >= 2 else { throw RecurrentError.invalidData("\(xPath): \(N) sample; need at least 2 (some are held out)") }
    if tokenInputs {
      guard xa.shape.count == 2 else {
        throw RecurrentError.shapeMismatch("\(xPath): an embedding model reads integer ids [samples, steps], got \(xa.shape)")
      }
      let ids = try xa.integers(source: xPath)
      if let i = ids.firstIndex(where: { $0 < 0 }) {
        throw RecurrentError.invalidData("\(xPath): sample \(i / T), step \(i % T): token id \(ids[i]) is negative")
      }
      x = Tensor(shape: xa.shape, scalars: ids.map { Float($0) })
    } else {
      var t = xa.tensor(as: Float.self)
      if t.rank == 2 { t = Tensor(shape: [N, T, 1], scalars: t.scalars) }
      if let i = t.scalars.firstIndex(where: { !$0.isFinite }) {
        let F = t.shape[2]
        throw RecurrentError.invalidData(
          "\(xPath): sample \(i / (T * F)), step \(i / F % T), feature \(i % F) is \(t.scalars[i]) (expected a finite number)")
      }
      x = t
    }

    var yt = ya.tensor(as: Float.self)
    switch loss {
    case .sparseCE:
      guard ya.shape.count == 1 || (ya.shape.count == 2 && ya.shape[1] == T) else {
        throw RecurrentError.shapeMismatch(
          "\(yPath): sparse-ce needs integer class labels [\(N)] (one per sequence) or [\(N), \(T)] (one per step), got \(ya.shape)")
      }
      let labels = try ya.integers(source: yPath)
      if let i = labels.firstIndex(where: { $0 < 0 }) {
        throw RecurrentError.invalidData("\(yPath): element \(i) is \(labels[i]); class labels must be >= 0")
      }
    case .ce:
      guard ya.shape.count >= 2 else {
        throw RecurrentError.shapeMismatch("\(yPath): ce needs one-hot rows [\(N), classes], got \(ya.shape) (for labels use --loss sparse-ce)")
      }
    case .bce, .mse, .mae:
      if ya.shape.count == 1 { yt = Tensor(shape: [N, 1], scalars: yt.scalars) }
    }
    if let i = yt.scalars.firstIndex(where: { !$0.isFinite }) {
      throw RecurrentError.invalidData("\(yPath): element \(i) is \(yt.scalars[i]) (expected a finite number)")
    }
    if loss == .bce || loss == .ce, let i = yt.scalars.firstIndex(where: { !(0...1).contains($0) }) {
      throw RecurrentError.invalidData(
        "\(yPath): element \(i) is \(yt.scalars[i]); \(loss.rawValue) targets must be in [0, 1] (\(loss == .bce ? "0/1 labels" : "one-hot rows"))")
    }
    y = yt

    if let lengthsPath {
      let la = try NPYArray(contentsOf: URL(fileURLWithPath: lengthsPath))
      guard la.shape == [N] else {
        throw RecurrentError.shapeMismatch("\(lengthsPath): expected integer lengths [\(N)] (one per sample of \(xPath)), got \(la.shape)")
      }
      let values = try la.integers(source: lengthsPath)
      if let i = values.firstIndex(where: { !(1...T).contains($0) }) {
        throw RecurrentError.invalidData("\(lengthsPath): lengths[\(i)] = \(values[i]) is outside 1...\(T) (the steps of \(xPath))")
      }
      lengths = values
    } else {
      lengths = nil
    }
    self.loss = loss
    self.xPath = xPath
    self.yPath = yPath
  }

  /// Class labels (sparse-ce), else nil.
  var labels: [Int]? { loss == .sparseCE ? y.scalars.map { Int($0) } : nil }

  /// Classes the targets imply: the largest label + 1 (at least 2) for sparse-ce, the row
  /// width for ce, 2 for bce.
  var classCount: Int? {
    switch loss {
    case .sparseCE: max(2, (labels!.max() ?? 0) + 1)
    case .ce: y.shape.last
    case .bce: 2
    case .mse, .mae: nil
    }
  }

  /// The Dense size of the default model, or nil when Y has a time axis (per-step targets).
  var defaultOutputs: Int? {
    switch loss {
    case .sparseCE: y.rank == 1 ? classCount : nil
    case .ce, .bce, .mse, .mae: y.rank == 2 ? y.shape[1] : nil
    }
  }

  var yDescription: String {
    switch loss {
    case .sparseCE: "labels \(y.shape) in 0..<\(classCount!)"
    case .ce: "one-hot \(y.shape)"
    case .bce: "0/1 \(y.shape)"
    case .mse, .mae: "values \(y.shape)"
    }
  }

  /// Throws unless a model with per-sample output `out` fits Y: for sparse-ce the output is
  /// Y's shape plus a class axis as wide as every label needs; otherwise Y's shape.
  func check(outputShape out: [Int], model: String) throws {
    let yShape = Array(y.shape.dropFirst())
    if loss == .sparseCE {
      guard out.count == yShape.count + 1, Array(out.dropLast()) == yShape, let classes = out.last else {
        let need = yShape.map(String.init) + ["classes"]
        throw RecurrentError.shapeMismatch(
          "\(model) outputs \(out) per sample, but the labels \(yPath) \(y.shape) need [\(need.joined(separator: ", "))] per sample"
            + (yShape.isEmpty
              ? " (end with dense:CLASSES after a recurrent layer without :seq)" : " (a :seq recurrent layer, then dense:CLASSES)"))
      }
      let labels = labels!
      if let i = labels.firstIndex(where: { $0 >= classes }) {
        let where_ = yShape.isEmpty ? "sample \(i)" : "sample \(i / yShape[0]), step \(i % yShape[0])"
        throw RecurrentError.invalidData(
          "\(yPath): label \(labels[i]) (\(where_)) is out of range for the last layer's \(classes) outputs (labels must be in "
            + "0..<\(classes)); the labels need at least \(labels.max()! + 1) outputs")
      }
    } else {
      guard out == yShape else {
        throw RecurrentError.shapeMismatch("\(model) outputs \(out) per sample, but \(yPath) has \(yShape) per sample (\(yDescription))")
      }
    }
  }

  /// The class of every counted target (argmax of one-hot rows, 0/1 for bce; steps past a
  /// row's length skipped).
  static func classes(_ d: TaskDataset<Float>, loss: ArrayLoss) -> [Int] {
    let y = d.y
    let width = loss == .sparseCE ? 1 : (y.shape.last ?? 1)
    let rows = y.count / max(1, width)
    let perSample = rows / max(1, d.count)
    var out = [Int]()
    for r in 0..<rows {
      if let lengths = d.lengths, perSample == d.steps, r % perSample >= lengths[r / perSample] { continue }
      let row = y.scalars[(r * width)..<((r + 1) * width)]
      switch loss {
      case .sparseCE: out.append(Int(row.first!))
      case .bce: out.append(contentsOf: row.map { $0 > 0.5 ? 1 : 0 })
      default: out.append(row.indices.max { row[$0] < row[$1] }! - r * width)
      }
    }
    return out
  }

  /// The fraction of `v`'s targets equal to the most frequent class of `reference`.
  static func majorityFraction(_ reference: TaskDataset<Float>, loss: ArrayLoss, on v: TaskDataset<Float>) -> Double {
    var counts = [Int: Int]()
    for c in classes(reference, loss: loss) { counts[c, default: 0] += 1 }
    guard let majority = counts.max(by: { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) })?.key else { return .nan }
    let vc = classes(v, loss: loss)
    return Double(vc.filter { $0 == majority }.count) / Double(max(1, vc.count))
  }

  /// MSE and MAE on `v` of always predicting the mean target of `reference` (per output).
  static func meanPredictionErrors(reference: TaskDataset<Float>, on v: TaskDataset<Float>) -> (mse: Double, mae: Double) {
    let width = reference.y.count / max(1, reference.count)
    var mean = [Double](repeating: 0, count: width)
    for (i, value) in reference.y.scalars.enumerated() { mean[i % width] += Double(value) / Double(reference.count) }
    var se = 0.0, ae = 0.0
    for (i, value) in v.y.scalars.enumerated() {
      let d = Double(value) - mean[i % width]
      se += d * d
      ae += abs(d)
    }
    let n = Double(max(1, v.y.count))
    return (se / n, ae / n)
  }
}
