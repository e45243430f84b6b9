/// Figures reported during training besides the loss.
public enum Metric: String, Sendable, CaseIterable {
  /// Fraction of correct predictions. Chosen by shapes: sparse (targets are class indices,
  /// one axis fewer than predictions: argmax == index), binary (one output unit: prediction > 0
  /// for logits, > 0.5 for probabilities), or categorical (argmax == argmax of the target).
  case accuracy
  /// Mean squared error.
  case mse
  /// Mean absolute error.
  case mae
  /// exp(mean cross-entropy in nats): the perplexity of a language model (from the loss).
  case perplexity
}

/// Accumulates metric sums over the batches of an epoch (masked positions excluded).
struct MetricAccumulator {
  var metrics: [Metric]
  var binaryThreshold: Double
  private var correct = 0.0, total = 0.0
  private var squared = 0.0, absolute = 0.0, elements = 0.0
  private var lossSum = 0.0, lossWeight = 0.0

  init(metrics: [Metric], binaryThreshold: Double) {
    self.metrics = metrics
    self.binaryThreshold = binaryThreshold
  }

  mutating func addLoss(_ value: Double, weight: Double) {
    lossSum += value * weight
    lossWeight += weight
  }

  var meanLoss: Double { lossWeight > 0 ? lossSum / lossWeight : .nan }

  mutating func add<S: TensorScalar>(prediction p: Tensor<S>, target y: Tensor<S>, mask: Tensor<S>?) {
    let P = p.scalars, Y = y.scalars
    let sparse = y.rank == p.rank - 1
    let classes = p.shape.last ?? 1
    let rows = p.count / max(1, classes)
    // A mask [B, T] applies to rows of [B, T, C] predictions.
    let rowMask: [S]? = mask.flatMap { $0.count == rows ? $0.scalars : nil }
    for r in 0..<rows {
      if let rowMask, rowMask[r] == 0 { continue }
      let base = r * classes
      if metrics.contains(.accuracy) {
        if sparse {
          correct += argmax(P, base, classes) == Int(Double(Y[r])) ? 1 : 0
        } else if classes == 1 {
          correct += (Double(P[base]) > binaryThreshold) == (Double(Y[base]) > 0.5) ? 1 : 0
        } else {
          correct += argmax(P, base, classes) == argmax(Y, base, classes) ? 1 : 0
        }
        total += 1
      }
      if !sparse && (metrics.contains(.mse) || metrics.contains(.mae)) {
        for k in 0..<classes {
          let d = Double(P[base + k]) - Double(Y[base + k])
          squared += d * d
          absolute += abs(d)
        }
        elements += Double(classes)
      }
    }
  }

  private func argmax<S: TensorScalar>(_ a: [S], _ base: Int, _ n: Int) -> Int {
    var best = 0
    for k in 1..<max(1, n) where a[base + k] > a[base + best] { best = k }
    return best
  }

  /// The epoch's figures, keyed like Keras ("loss", "accuracy", ...), each with `prefix`.
  func logs(prefix: String = "") -> [String: Double] {
    var out = [prefix + "loss": meanLoss]
    for m in metrics {
      switch m {
      case .accuracy: out[prefix + "accuracy"] = total > 0 ? correct / total : .nan
      case .mse: out[prefix + "mse"] = elements > 0 ? squared / elements : .nan
      case .mae: out[prefix + "mae"] = elements > 0 ? absolute / elements : .nan
      case .perplexity: out[prefix + "perplexity"] = _exp(meanLoss)
      }
    }
    return out
  }
}

/// Per-epoch figures from `fit`: `history["loss"]`, `history["val_accuracy"]`, ...
public struct History: Sendable, CustomStringConvertible {
  /// One dictionary per epoch, keyed like Keras.
  public var epochs: [[String: Double]] = []

  /// The values of `key` for every epoch (NaN where absent).
  public subscript(key: String) -> [Double] { epochs.map { $0[key] ?? .nan } }

  public var description: String {
    epochs.enumerated().map { i, logs in
      "epoch \(i + 1): " + logs.keys.sorted().map { "\($0)=\(logs[$0]!)" }.joined(separator: " ")
    }.joined(separator: "\n")
  }
}
