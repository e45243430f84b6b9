#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#elseif canImport(ucrt)
import ucrt
#endif

// Shared plumbing of the losses: shape checks, mask weights, the reduction over loss elements and a
// stable log-sum-exp. Every loss reduces the same way:
//
//     value = sum_e w_e * l_e / sum_e w_e        dL/dpred = w_e * dl_e/dpred / sum_e w_e
//
// over its *loss elements* e (every scalar for elementwise losses, every position [..., :] for
// the crossentropies), with w_e = 1 without a mask. A mask entry covers the loss elements that
// share its leading indices, so a [B, T] mask on a [B, T, F] regression weighs F elements each:
// this is Keras's sum(loss * mask) / sum(mask) over per-step losses that are means over F.

@inline(__always) func _log1p(_ x: Double) -> Double { log1p(x) }

/// Keras's `backend.epsilon()`: probabilities are clipped to [eps, 1 - eps] before a log.
let lossProbabilityEpsilon = 1e-7

/// Per-loss-element weights resolved from an optional mask.
struct LossWeights {
  /// The mask as Double, or nil when every element counts 1.
  let mask: [Double]?
  /// Consecutive loss elements covered by one mask entry.
  let span: Int
  /// sum_e w_e: the denominator of the mean.
  let total: Double

  @inline(__always) func weight(_ e: Int) -> Double {
    guard let mask else { return 1 }
    return mask[e / span]
  }
}

enum LossSupport {
  /// Throws unless `target` has exactly `prediction`'s shape.
  static func checkSameShape(_ loss: String, prediction: [Int], target: [Int]) throws {
    guard prediction == target else {
      throw RecurrentError.shapeMismatch(
        "\(loss) expects a target of the prediction's shape \(prediction), got \(target)")
    }
  }

  /// Resolves `mask` against the loss elements of shape `elementShape`.
  ///
  /// The mask's shape must be a non-empty leading part of `elementShape` ([B] or [B, T] for
  /// [B, T, ...]); its entries must be finite and >= 0.
  static func weights<S: TensorScalar>(
    _ loss: String, mask: Tensor<S>?, elementShape: [Int]
  ) throws -> LossWeights {
    let elements = elementShape.reduce(1, *)
    guard let mask else { return LossWeights(mask: nil, span: 1, total: Double(elements)) }
    guard mask.rank >= 1, mask.rank <= elementShape.count,
      Array(elementShape.prefix(mask.rank)) == mask.shape
    else {
      let options = (1...max(1, elementShape.count)).map { "\(Array(elementShape.prefix($0)))" }
      throw RecurrentError.shapeMismatch(
        "\(loss) expects a mask of shape \(options.joined(separator: " or ")), got \(mask.shape)")
    }
    let values = mask.scalars.map(Double.init)
    var sum = 0.0
    for (i, w) in values.enumerated() {
      guard w.isFinite, w >= 0 else {
        throw RecurrentError.invalidData(
          "\(loss): mask\(multiIndex(i, shape: mask.shape)) = \(w); mask entries must be finite and >= 0")
      }
      sum += w
    }
    let span = mask.count == 0 ? 1 : elements / mask.count
    return LossWeights(mask: values, span: span, total: sum * Double(span))
  }

  /// Throws unless `prediction` is [..., C] with a class axis C >= 1; returns C.
  static func classCount(_ loss: String, prediction: [Int]) throws -> Int {
    guard let classes = prediction.last, classes >= 1 else {
      throw RecurrentError.shapeMismatch(
        "\(loss) expects a prediction with a class axis last, [..., C] with C >= 1, got \(prediction)")
    }
    return classes
  }

  /// The weighted mean of per-element losses, where a loss element is a run of `width`
  /// consecutive prediction scalars (1 for elementwise losses, C for the class axis) and
  /// `elementShape` is the prediction's shape without that run. `row(e, x, dx, g)` returns the
  /// loss of element e, whose scalars start at `x`, and writes g * d(loss)/dx into `dx`.
  /// Masked elements (weight 0) are skipped: no value, gradient 0, even for non-finite inputs.
  static func reduce<S: TensorScalar>(
    _ loss: String, prediction: Tensor<S>, mask: Tensor<S>?, elementShape: [Int],
    _ row: (_ element: Int, _ x: UnsafePointer<S>, _ dx: UnsafeMutablePointer<S>, _ g: Double) -> Double
  ) throws -> (value: Double, gradient: Tensor<S>) {
    let w = try weights(loss, mask: mask, elementShape: elementShape)
    var gradient = Tensor<S>(shape: prediction.shape)
    guard w.total > 0 else { return (0, gradient) }
    let elements = elementShape.reduce(1, *), width = prediction.count / max(elements, 1)
    let scale = 1 / w.total
    var sum = 0.0
    prediction.withUnsafeBufferPointer { x in
      gradient.withUnsafeMutableBufferPointer { dx in
        for e in 0..<elements {
          let we = w.weight(e)
          if we == 0 { continue }
          sum += we * row(e, x.baseAddress! + e * width, dx.baseAddress! + e * width, we * scale)
        }
      }
    }
    return (sum * scale, gradient)
  }

  /// `reduce` for an `ElementwiseLoss`: `f` gives one element's loss and derivative. A
  /// separate function so it can be specialised for Float and Double without the loss type.
  @_specialize(where S == Float)
  @_specialize(where S == Double)
  static func elementwise<S: TensorScalar>(
    _ loss: String, prediction: Tensor<S>, target: Tensor<S>, mask: Tensor<S>?,
    _ f: (_ prediction: Double, _ target: Double) -> (value: Double, derivative: Double)
  ) throws -> (value: Double, gradient: Tensor<S>) {
    try checkSameShape(loss, prediction: prediction.shape, target: target.shape)
    return try target.withUnsafeBufferPointer { y in
      try reduce(loss, prediction: prediction, mask: mask, elementShape: prediction.shape) { e, x, dx, g in
        let (value, derivative) = f(Double(x[0]), Double(y[e]))
        dx[0] = S(g * derivative)
        return value
      }
    }
  }

  /// For one row of `count` logits: writes exp(x[c] - max) into `e` (the caller turns it into
  /// the softmax, e[c] / sum, so each exp is taken once) and returns max_c x[c], the sum, and
  /// log(sum) (so log-sum-exp = max + logSum without overflow).
  @inline(__always)
  static func shiftedExp<S: TensorScalar>(
    _ x: UnsafePointer<S>, count: Int, into e: UnsafeMutablePointer<S>
  ) -> (max: Double, sum: Double, logSum: Double) {
    var m = -Double.infinity
    for c in 0..<count { m = Swift.max(m, Double(x[c])) }
    var sum = 0.0
    for c in 0..<count {
      let ec = _exp(Double(x[c]) - m)
      e[c] = S(ec)
      sum += ec
    }
    return (m, sum, _log(sum))
  }

  /// "[i, j, k]" for flat index `flat` of a row-major `shape`.
  static func multiIndex(_ flat: Int, shape: [Int]) -> String {
    var rest = flat
    var indices = [Int](repeating: 0, count: shape.count)
    for axis in stride(from: shape.count - 1, through: 0, by: -1) where shape[axis] > 0 {
      indices[axis] = rest % shape[axis]
      rest /= shape[axis]
    }
    return "\(indices)"
  }
}

/// A loss that is the mean of a function of each (prediction, target) element pair, with the
/// prediction and target of the same shape; conforming types only write that function.
public protocol ElementwiseLoss: Loss {
  /// One element's loss and its derivative with respect to the prediction.
  func elementLoss(prediction: Double, target: Double) -> (value: Double, derivative: Double)
}

extension ElementwiseLoss {
  /// The weighted mean of `elementLoss` over every element (see `Loss` for masks).
  /// (Specialised for the built-in losses: generic code would convert every scalar through
  /// protocol witnesses, ~4x slower.)
  @_specialize(where Self == MeanSquaredError, S == Float)
  @_specialize(where Self == MeanSquaredError, S == Double)
  @_specialize(where Self == MeanAbsoluteError, S == Float)
  @_specialize(where Self == MeanAbsoluteError, S == Double)
  @_specialize(where Self == Huber, S == Float)
  @_specialize(where Self == Huber, S == Double)
  @_specialize(where Self == BinaryCrossentropy, S == Float)
  @_specialize(where Self == BinaryCrossentropy, S == Double)
  public func compute<S: TensorScalar>(
    prediction: Tensor<S>, target: Tensor<S>, mask: Tensor<S>?
  ) throws -> (value: Double, gradient: Tensor<S>) {
    try LossSupport.elementwise(name, prediction: prediction, target: target, mask: mask) { x, y in
      elementLoss(prediction: x, target: y)
    }
  }
}

extension Loss {
  /// The loss without a mask: every element counts.
  public func compute<S: TensorScalar>(
    prediction: Tensor<S>, target: Tensor<S>
  ) throws -> (value: Double, gradient: Tensor<S>) {
    try compute(prediction: prediction, target: target, mask: nil)
  }
}
