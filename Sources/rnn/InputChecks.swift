import Foundation
import Recurrent

/// Checks the commands apply to user arrays before a model sees them, with errors that name
/// the file and the element.
enum InputChecks {
  /// Throws `invalidData` naming `source` and the first non-finite element's index
  /// ([b, t, f] for a rank-3 array) unless every value of `tensor` is finite.
  static func requireFinite(_ tensor: Tensor<Float>, source: String) throws {
    guard let k = tensor.scalars.firstIndex(where: { !$0.isFinite }) else { return }
    throw RecurrentError.invalidData(
      "\(source): element \(multiIndex(k, shape: tensor.shape)) is \(tensor.scalars[k]); inputs must be finite numbers")
  }

  /// The row-major index of flat position `k` in `shape`, as "[i, j, ...]".
  static func multiIndex(_ k: Int, shape: [Int]) -> String {
    var rest = k
    var index = [Int](repeating: 0, count: shape.count)
    for axis in shape.indices.reversed() where shape[axis] > 0 {
      index[axis] = rest % shape[axis]
      rest /= shape[axis]
    }
    return "[" + index.map(String.init).joined(separator: ", ") + "]"
  }

  /// The integer lengths [batch] in the NPY file at `path`, each in 0...steps. Throws
  /// `shapeMismatch` or `invalidData` naming the file.
  static func lengths(at path: String, batch: Int, steps: Int) throws -> [Int] {
    let array = try NPYArray(contentsOf: URL(fileURLWithPath: path))
    guard array.shape == [batch] else {
      throw RecurrentError.shapeMismatch(
        "\(path): expected integer lengths [\(batch)] (one per input row), got \(array.dtype.rawValue) \(array.shape)")
    }
    let values = try array.integers(source: path)
    if let i = values.firstIndex(where: { !(0...steps).contains($0) }) {
      throw RecurrentError.invalidData(
        "\(path): lengths[\(i)] = \(values[i]) is outside 0...\(steps) (the input has \(steps) steps)")
    }
    return values
  }
}
