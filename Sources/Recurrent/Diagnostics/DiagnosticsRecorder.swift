/// The weight and gradient L2 norms of one parameter tensor (or of a layer's tensors together).
public struct ParameterNorm: Sendable, Equatable {
  /// "layers.0.weight_hh", or "layers.0" for a layer's total.
  public var name: String
  public var weight: Double
  public var gradient: Double
}

/// What `DiagnosticsRecorder` measured after one training step.
public struct DiagnosticsRecord: Sendable {
  /// The epoch (0-based) the step belongs to.
  public var epoch: Int
  /// Optimizer steps taken in this `fit` so far, 1-based (the step measured is this one).
  public var step: Int
  /// That step's batch loss.
  public var loss: Double
  /// Every recurrent layer (each direction of a bidirectional one): ||dL/dh_t|| for
  /// t = 0 ... T of the step's batch, gate statistics, state ranges and σ_max(W_hh).
  public var layers: [RecurrentLayerDiagnosis]
  /// Every parameter tensor's norm and its gradient's norm: the gradient the optimizer applied
  /// (after clipping, if the optimizer clips), the weight after the update.
  public var parameters: [ParameterNorm]

  /// The parameters summed by layer ("layers.0", "layers.1", ...): sqrt of the sum of squares.
  public var layerNorms: [ParameterNorm] {
    var order = [String](), sums = [String: (Double, Double)]()
    for p in parameters {
      let parts = p.name.split(separator: ".")
      let layer = parts.count >= 2 ? "\(parts[0]).\(parts[1])" : p.name
      if sums[layer] == nil { order.append(layer) }
      let s = sums[layer] ?? (0, 0)
      sums[layer] = (s.0 + p.weight * p.weight, s.1 + p.gradient * p.gradient)
    }
    return order.map { ParameterNorm(name: $0, weight: sums[$0]!.0.squareRoot(), gradient: sums[$0]!.1.squareRoot()) }
  }
}

/// A training callback that records, every N epochs or N steps, what the network does inside:
/// the gradient that reaches each time step (||dL/dh_t||), per-parameter weight and gradient
/// norms, the spectral norm of each recurrent matrix, gate statistics and state ranges; and,
/// every epoch and batch, the training curves.
///
///     let recorder = DiagnosticsRecorder(every: .epochs(1))
///     try model.fit(x, y, epochs: 20, callbacks: [recorder])
///     var report = TrainingReport(title: "adding, LSTM", recorder: recorder)
///     try report.write(to: "report")
///
/// It reads what the training step already computed (the forward tape and the backward
/// buffers of the step's batch), so it costs no extra forward or backward pass: a record is a
/// few passes over the step's gates, states and gradients plus a warm-started power iteration
/// per recurrent matrix (Benchmarks/BENCHMARKS.md, "Diagnostics overhead"). With `.epochs(n)`
/// the record is taken after the last step of every n-th epoch; with `.steps(n)` after every
/// n-th step. `recordsFirstStep` also records step 1 (how the untrained network looks).
public final class DiagnosticsRecorder: Callback {
  /// How often records are taken.
  public enum Schedule: Sendable, Equatable {
    case epochs(Int)
    case steps(Int)
  }

  public let schedule: Schedule
  public let recordsFirstStep: Bool
  /// Power iterations per record and recurrent matrix (warm-started from the previous record).
  public let powerIterations: Int
  /// The records, in training order.
  public private(set) var records: [DiagnosticsRecord] = []
  /// The logs `fit` reported at the end of each epoch (loss, val_loss, metrics, learning_rate).
  public private(set) var history = History()
  /// Every step's batch loss.
  public private(set) var stepLosses: [Double] = []
  /// Wall-clock seconds spent taking records.
  public private(set) var secondsMeasuring = 0.0

  private var epoch = 0
  private var batchesInEpoch = 0
  private var step = 0
  private var vectors = [String: [Double]]()

  public init(every schedule: Schedule = .epochs(1), recordsFirstStep: Bool = true, powerIterations: Int = 30) {
    switch schedule {
    case .epochs(let n), .steps(let n): precondition(n >= 1, "DiagnosticsRecorder: the interval must be >= 1, got \(n)")
    }
    precondition(powerIterations >= 1, "DiagnosticsRecorder: powerIterations must be >= 1")
    self.schedule = schedule
    self.recordsFirstStep = recordsFirstStep
    self.powerIterations = powerIterations
  }

  public func trainingWillBegin(model: any TrainingModel) {
    records = []
    history = History()
    stepLosses = []
    secondsMeasuring = 0
    step = 0
    vectors = [:]
  }

  public func epochWillBegin(_ epoch: Int, batches: Int, model: any TrainingModel) {
    self.epoch = epoch
    batchesInEpoch = batches
  }

  public func batchDidEnd(_ batch: Int, logs: [String: Double], model: any TrainingModel) {
    step += 1
    let loss = logs["loss"] ?? .nan
    stepLosses.append(loss)
    let due: Bool
    switch schedule {
    case .steps(let n): due = step % n == 0
    case .epochs(let n): due = batch == batchesInEpoch - 1 && (epoch + 1) % n == 0
    }
    if due || (recordsFirstStep && step == 1) { record(model: model, loss: loss) }
  }

  public func epochDidEnd(_ epoch: Int, logs: [String: Double], model: any TrainingModel) {
    history.epochs.append(logs)
  }

  /// Measures `model` now, from its last training step's buffers. `fit` calls it through the
  /// callback hooks; call it directly after your own training step to record one.
  public func record(model: any TrainingModel, loss: Double = .nan) {
    guard let m = model as? any RecurrentMeasurableModel else { return }
    let start = monotonicSeconds()
    let layers = m.measureRecurrentLayers(vectors: &vectors, powerIterations: powerIterations)
    let parameters = m.parameterNorms()
    records.append(DiagnosticsRecord(epoch: epoch, step: step, loss: loss, layers: layers, parameters: parameters))
    secondsMeasuring += monotonicSeconds() - start
  }
}

/// Models whose recurrent layers and parameters `DiagnosticsRecorder` can read.
protocol RecurrentMeasurableModel {
  func measureRecurrentLayers(vectors: inout [String: [Double]], powerIterations: Int) -> [RecurrentLayerDiagnosis]
  func parameterNorms() -> [ParameterNorm]
}

extension Sequential: RecurrentMeasurableModel {
  func measureRecurrentLayers(vectors: inout [String: [Double]], powerIterations: Int) -> [RecurrentLayerDiagnosis] {
    var out = [RecurrentLayerDiagnosis]()
    for (i, layer) in layers.enumerated() {
      if let r = layer as? RecurrentMeasurable {
        out += r.measure(name: "layers.\(i)", vectors: &vectors, powerIterations: powerIterations)
      }
    }
    return out
  }

  func parameterNorms() -> [ParameterNorm] {
    store.params.withUnsafeBufferPointer { w in
      store.grads.withUnsafeBufferPointer { g in
        store.parameters.map { p in
          func norm(_ base: UnsafePointer<Scalar>) -> Double {
            concretely(base + p.offset, { euclideanNorm($0, count: p.count) }, { euclideanNorm($0, count: p.count) })
          }
          return ParameterNorm(name: p.name, weight: norm(w.baseAddress!), gradient: norm(g.baseAddress!))
        }
      }
    }
  }
}
