#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a callback may see and change of the model being trained.
public protocol TrainingModel: AnyObject {
  /// Set to true to end training after the current epoch (or batch).
  var stopTraining: Bool { get set }
  /// The optimizer (its `learningRate` may be changed).
  var trainingOptimizer: (any Optimizer)? { get }
  /// A copy of every parameter, in Double.
  func parameterSnapshot() -> [Double]
  /// Restores a snapshot taken by `parameterSnapshot()`.
  func restoreParameters(_ snapshot: [Double])
}

/// Hooks called by `fit`. Every method has an empty default.
public protocol Callback: AnyObject {
  func trainingWillBegin(model: any TrainingModel)
  /// Called before the first batch of `epoch`, with the number of batches it will have.
  func epochWillBegin(_ epoch: Int, batches: Int, model: any TrainingModel)
  func batchDidEnd(_ batch: Int, logs: [String: Double], model: any TrainingModel)
  func epochDidEnd(_ epoch: Int, logs: [String: Double], model: any TrainingModel)
  func trainingDidEnd(model: any TrainingModel)
}

extension Callback {
  public func trainingWillBegin(model: any TrainingModel) {}
  public func epochWillBegin(_ epoch: Int, batches: Int, model: any TrainingModel) {}
  public func batchDidEnd(_ batch: Int, logs: [String: Double], model: any TrainingModel) {}
  public func epochDidEnd(_ epoch: Int, logs: [String: Double], model: any TrainingModel) {}
  public func trainingDidEnd(model: any TrainingModel) {}
}

/// Whether larger values of `monitor` are better ("acc" in the name), as Keras's mode "auto".
func higherIsBetter(_ monitor: String) -> Bool { monitor.contains("acc") }

/// Stops when `monitor` has not improved by `minDelta` for `patience` epochs; optionally
/// restores the best epoch's weights (Keras `EarlyStopping`).
public final class EarlyStopping: Callback {
  public let monitor: String, minDelta: Double, patience: Int, restoreBestWeights: Bool
  public private(set) var best: Double = .nan
  public private(set) var bestEpoch = -1
  public private(set) var stoppedEpoch: Int?
  private var wait = 0
  private var bestWeights: [Double]?

  public init(monitor: String = "val_loss", minDelta: Double = 0, patience: Int = 0, restoreBestWeights: Bool = false) {
    self.monitor = monitor
    self.minDelta = abs(minDelta)
    self.patience = patience
    self.restoreBestWeights = restoreBestWeights
  }

  public func trainingWillBegin(model: any TrainingModel) {
    best = .nan; bestEpoch = -1; stoppedEpoch = nil; wait = 0; bestWeights = nil
  }

  public func epochDidEnd(_ epoch: Int, logs: [String: Double], model: any TrainingModel) {
    guard let value = logs[monitor], !value.isNaN else { return }
    let improved = best.isNaN || (higherIsBetter(monitor) ? value > best + minDelta : value < best - minDelta)
    if improved {
      best = value; bestEpoch = epoch; wait = 0
      if restoreBestWeights { bestWeights = model.parameterSnapshot() }
    } else {
      wait += 1
      if wait >= patience {
        stoppedEpoch = epoch
        model.stopTraining = true
      }
    }
  }

  public func trainingDidEnd(model: any TrainingModel) {
    if restoreBestWeights, let w = bestWeights { model.restoreParameters(w) }
  }
}

/// Stops training as soon as a batch's loss is NaN or infinite (Keras `TerminateOnNaN`).
public final class TerminateOnNaN: Callback {
  public private(set) var stoppedAtBatch: Int?
  public init() {}
  public func batchDidEnd(_ batch: Int, logs: [String: Double], model: any TrainingModel) {
    if let loss = logs["loss"], !loss.isFinite {
      stoppedAtBatch = batch
      model.stopTraining = true
    }
  }
}

/// Multiplies the learning rate by `factor` when `monitor` stalls for `patience` epochs
/// (Keras `ReduceLROnPlateau`).
public final class ReduceLROnPlateau: Callback {
  public let monitor: String, factor: Double, patience: Int, minDelta: Double, cooldown: Int, minLearningRate: Double
  private var best = Double.nan, wait = 0, cooldownLeft = 0

  public init(
    monitor: String = "val_loss", factor: Double = 0.1, patience: Int = 10, minDelta: Double = 1e-4,
    cooldown: Int = 0, minLearningRate: Double = 0
  ) {
    precondition(factor > 0 && factor < 1, "ReduceLROnPlateau: factor must be in (0, 1)")
    self.monitor = monitor; self.factor = factor; self.patience = patience
    self.minDelta = minDelta; self.cooldown = cooldown; self.minLearningRate = minLearningRate
  }

  public func epochDidEnd(_ epoch: Int, logs: [String: Double], model: any TrainingModel) {
    guard let value = logs[monitor], !value.isNaN, let opt = model.trainingOptimizer else { return }
    if cooldownLeft > 0 { cooldownLeft -= 1; wait = 0 }
    if best.isNaN || (higherIsBetter(monitor) ? value > best + minDelta : value < best - minDelta) {
      best = value; wait = 0
    } else if cooldownLeft == 0 {
      wait += 1
      if wait >= patience {
        opt.learningRate = max(opt.learningRate * factor, minLearningRate)
        cooldownLeft = cooldown; wait = 0
      }
    }
  }
}

/// Writes one CSV row per epoch: epoch and every logged figure (Keras `CSVLogger`).
public final class CSVLogger: Callback {
  public let path: String
  public let append: Bool
  private var keys: [String]?
  private var file: UnsafeMutablePointer<FILE>?

  public init(path: String, append: Bool = false) {
    self.path = path
    self.append = append
  }

  public func trainingWillBegin(model: any TrainingModel) {
    file = fopen(path, append ? "a" : "w")
    keys = nil
  }

  public func epochDidEnd(_ epoch: Int, logs: [String: Double], model: any TrainingModel) {
    guard let file else { return }
    if keys == nil {
      keys = logs.keys.sorted()
      fputs((["epoch"] + keys!).joined(separator: ",") + "\n", file)
    }
    fputs(([String(epoch)] + keys!.map { logs[$0].map { "\($0)" } ?? "" }).joined(separator: ",") + "\n", file)
    fflush(file)
  }

  public func trainingDidEnd(model: any TrainingModel) {
    if let file { fclose(file) }
    file = nil
  }

  deinit { if let file { fclose(file) } }
}

/// Runs closures at the end of each epoch and/or batch (e.g. to save a checkpoint).
public final class LambdaCallback: Callback {
  let onEpochEnd: ((Int, [String: Double]) -> Void)?
  let onBatchEnd: ((Int, [String: Double]) -> Void)?

  public init(
    onEpochEnd: ((Int, [String: Double]) -> Void)? = nil, onBatchEnd: ((Int, [String: Double]) -> Void)? = nil
  ) {
    self.onEpochEnd = onEpochEnd
    self.onBatchEnd = onBatchEnd
  }

  public func epochDidEnd(_ epoch: Int, logs: [String: Double], model: any TrainingModel) { onEpochEnd?(epoch, logs) }
  public func batchDidEnd(_ batch: Int, logs: [String: Double], model: any TrainingModel) { onBatchEnd?(batch, logs) }
}
