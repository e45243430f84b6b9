extension Sequential: TrainingModel {
  public var trainingOptimizer: (any Optimizer)? { optimizer }

  public func parameterSnapshot() -> [Double] { store.params.map { Double($0) } }

  public func restoreParameters(_ snapshot: [Double]) {
    precondition(snapshot.count == store.count, "restoreParameters: snapshot size \(snapshot.count) != \(store.count)")
    store.params = snapshot.map { Scalar($0) }
  }

  /// Sets the optimizer, the loss and the metrics `fit` and `evaluate` report.
  public func compile(optimizer: any Optimizer, loss: any Loss, metrics: [Metric] = []) {
    self.optimizer = optimizer
    self.loss = loss
    self.metrics = metrics
  }

  /// Trains on `x` [N, ...] and targets `y` [N, ...] for `epochs` passes in batches of
  /// `batchSize`, shuffled each epoch with the model's seed.
  ///
  /// - Parameters:
  ///   - lengths: per-sample sequence lengths for right-padded batches (masks the padded steps
  ///     in recurrent layers and in per-step losses and metrics).
  ///   - validationSplit: the last fraction of the samples held out (before shuffling, as Keras).
  ///   - validationData: explicit held-out (x, y) (takes precedence over `validationSplit`).
  ///   - truncatedBPTT: if set, each batch's sequences are cut into chunks of this many steps;
  ///     recurrent layers carry their (detached) state from chunk to chunk and the optimizer
  ///     steps after every chunk (k1 = k2 truncated BPTT). Targets need the time axis.
  ///   - verbose: 0 silent, 1 progress bar (plain lines when not a terminal), 2 a line per epoch.
  ///   - initialEpoch: the epoch to start at (Keras `initial_epoch`): trains epochs
  ///     `initialEpoch..<epochs`, e.g. to resume from `Sequential.loadTrainingCheckpoint`.
  /// - Returns: the loss and metrics of every epoch.
  @discardableResult
  public func fit(
    _ x: Tensor<Scalar>, _ y: Tensor<Scalar>, epochs: Int = 1, batchSize: Int = 32, shuffle: Bool = true,
    lengths: [Int]? = nil, validationSplit: Double = 0,
    validationData: (x: Tensor<Scalar>, y: Tensor<Scalar>, lengths: [Int]?)? = nil,
    truncatedBPTT: Int? = nil, callbacks: [any Callback] = [], verbose: Int = 1,
    progress: ProgressReporter? = nil, initialEpoch: Int = 0
  ) throws -> History {
    guard let optimizer, let loss else {
      throw RecurrentError.invalidArgument("call compile(optimizer:loss:) before fit")
    }
    guard epochs >= 0 else { throw RecurrentError.invalidArgument("epochs must be >= 0, got \(epochs)") }
    guard (0...max(epochs, 0)).contains(initialEpoch) else {
      throw RecurrentError.invalidArgument("initialEpoch must be in 0...epochs (\(epochs)), got \(initialEpoch)")
    }
    guard batchSize >= 1 else { throw RecurrentError.invalidArgument("batchSize must be >= 1, got \(batchSize)") }
    guard (0..<1).contains(validationSplit) else {
      throw RecurrentError.invalidArgument("validationSplit must be in [0, 1), got \(validationSplit)")
    }
    if let k = truncatedBPTT {
      guard k >= 1 else { throw RecurrentError.invalidArgument("truncatedBPTT must be >= 1, got \(k)") }
      guard x.rank >= 3, y.rank >= 2, y.shape.count > 1, y.shape[1] == x.shape[1] else {
        throw RecurrentError.shapeMismatch(
          "truncatedBPTT needs sequence inputs [N, T, ...] and per-step targets [N, T, ...], got \(x.shape) and \(y.shape)")
      }
      if layers.contains(where: { $0 is any BidirectionalLayer }) {
        throw RecurrentError.invalidArgument("truncatedBPTT cannot carry state through a Bidirectional layer")
      }
    }
    var data = try TrainingData(x: x, y: y, lengths: lengths, name: "fit")
    var validation: TrainingData<Scalar>?
    if let v = validationData {
      validation = try TrainingData(x: v.x, y: v.y, lengths: v.lengths, name: "validation data")
    } else if validationSplit > 0 {
      (data, validation) = try data.split(validationFraction: validationSplit)
    }
    try build(inputShape: Array(x.shape.dropFirst()))

    let reporter = progress ?? ProgressReporter(verbose: verbose)
    var history = History()
    stopTraining = false
    for c in callbacks { c.trainingWillBegin(model: self) }
    let batchCount = (data.count + batchSize - 1) / batchSize
    for epoch in initialEpoch..<epochs {
      reporter.epochBegins(epoch, of: epochs)
      for c in callbacks { c.epochWillBegin(epoch, batches: batchCount, model: self) }
      let start = monotonicSeconds()
      var order = Array(0..<data.count)
      if shuffle { order.shuffle(using: &shuffleGenerator) }
      var acc = MetricAccumulator(metrics: metrics, binaryThreshold: binaryThreshold)
      for (b, batch) in data.batches(order: order, size: batchSize).enumerated() {
        let batchLoss: Double
        do {
          batchLoss = try trainBatch(batch, loss: loss, optimizer: optimizer, truncatedBPTT: truncatedBPTT, into: &acc)
        } catch let divergence as TrainingDivergence {
          // The step was not applied: the weights and the optimizer state are the last finite
          // ones, and no epoch-end callback (e.g. ModelCheckpoint) runs for this epoch.
          for c in callbacks { c.batchDidEnd(b, logs: ["loss": divergence.loss], model: self) }
          throw RecurrentError.invalidData(
            "training stopped at epoch \(epoch + 1)/\(epochs), batch \(b + 1)/\(batchCount) (optimizer step "
              + "\(divergence.step)): \(divergence.what); the model keeps the weights of the last finite step and "
              + "no checkpoint of this epoch is written (lower the learning rate, clip gradients or check the data)")
        }
        reporter.batchEnds(b, of: batchCount, loss: acc.meanLoss, elapsed: monotonicSeconds() - start)
        for c in callbacks { c.batchDidEnd(b, logs: ["loss": batchLoss], model: self) }
        if stopTraining { break }
      }
      var logs = acc.logs()
      if let validation { logs.merge(try evaluate(validation, loss: loss).logs(prefix: "val_")) { $1 } }
      // The scheduled rate (what the next step uses, as Keras logs it), not the base rate.
      logs["learning_rate"] = (optimizer as? any ConfigurableOptimizer)?.currentLearningRate ?? optimizer.learningRate
      history.epochs.append(logs)
      reporter.epochEnds(epoch, of: epochs, logs: logs, elapsed: monotonicSeconds() - start)
      for c in callbacks { c.epochDidEnd(epoch, logs: logs, model: self) }
      if stopTraining { break }
    }
    for c in callbacks { c.trainingDidEnd(model: self) }
    return history
  }

  /// Loss and metrics on `x`, `y` in inference mode.
  public func evaluate(_ x: Tensor<Scalar>, _ y: Tensor<Scalar>, batchSize: Int = 32, lengths: [Int]? = nil) throws -> [String: Double] {
    guard let loss else { throw RecurrentError.invalidArgument("call compile(optimizer:loss:) before evaluate") }
    return try evaluate(TrainingData(x: x, y: y, lengths: lengths, name: "evaluate"), loss: loss, batchSize: batchSize).logs()
  }

  func evaluate(_ data: TrainingData<Scalar>, loss: any Loss, batchSize: Int = 32) throws -> MetricAccumulator {
    var acc = MetricAccumulator(metrics: metrics, binaryThreshold: binaryThreshold)
    for batch in data.batches(order: Array(0..<data.count), size: batchSize) {
      let context = LayerContext<Scalar>(training: false, mask: batch.mask)
      let out = try forward(batch.x, context: context)
      let mask = lossMask(context.mask, output: out)
      let (value, _) = try loss.compute(prediction: out, target: batch.y!, mask: mask)
      acc.addLoss(value, weight: Double(batch.indices.count))
      acc.add(prediction: out, target: batch.y!, mask: mask)
    }
    return acc
  }

  /// One optimizer step (or one per chunk with truncated BPTT); returns the batch's loss.
  private func trainBatch(
    _ batch: TrainingData<Scalar>.Batch, loss: any Loss, optimizer: any Optimizer, truncatedBPTT: Int?,
    into acc: inout MetricAccumulator
  ) throws -> Double {
    let T = batch.x.rank >= 3 ? batch.x.shape[1] : 1
    let chunk = truncatedBPTT.map { min($0, T) } ?? T
    var savedStateful: [(StatefulLayer, Bool)] = []
    if truncatedBPTT != nil {
      for case let l as StatefulLayer in layers {
        savedStateful.append((l, l.stateful))
        l.stateful = true
        l.resetStates()
      }
    }
    defer {
      for (l, was) in savedStateful {
        l.resetStates()
        l.stateful = was
      }
    }
    var total = 0.0, pieces = 0.0
    for start in stride(from: 0, to: T, by: chunk) {
      let len = min(chunk, T - start)
      let xs = truncatedBPTT == nil ? batch.x : Self.timeSlice(batch.x, start, len)
      let ys = truncatedBPTT == nil ? batch.y! : Self.timeSlice(batch.y!, start, len)
      let ms = truncatedBPTT == nil ? batch.mask : batch.mask.map { Self.timeSlice($0, start, len) }
      trainingStep &+= 1
      let context = LayerContext<Scalar>(training: true, seed: seed &* 0x9E37_79B9 &+ trainingStep, mask: ms)
      store.zeroGradients()
      let out = try forward(xs, context: context)
      let mask = lossMask(context.mask, output: out)
      let (value, dOut) = try loss.compute(prediction: out, target: ys, mask: mask)
      guard value.isFinite else { throw TrainingDivergence(step: trainingStep, loss: value, what: "the loss is \(value)") }
      backward(dOut)
      if let k = store.grads.firstIndex(where: { !$0.isFinite }) {
        let name = store.parameters.first { $0.range.contains(k) }.map { "'\($0.name)'" } ?? "#\(k)"
        throw TrainingDivergence(
          step: trainingStep, loss: value, what: "the gradient of \(name) is \(store.grads[k]) (the loss is \(value))")
      }
      optimizer.step(store)
      acc.addLoss(value, weight: Double(batch.indices.count) * Double(len) / Double(T))
      acc.add(prediction: out, target: ys, mask: mask)
      total += value
      pieces += 1
    }
    return total / max(1, pieces)
  }

  /// The context's mask applies to the loss only when the output still has its time axis.
  private func lossMask(_ mask: Tensor<Scalar>?, output: Tensor<Scalar>) -> Tensor<Scalar>? {
    guard let mask, output.rank >= 2, mask.shape == [output.shape[0], output.shape[1]] else { return nil }
    return mask
  }

  /// Binary accuracy threshold: 0 for logits, 0.5 for probabilities.
  var binaryThreshold: Double {
    if let bce = loss as? BinaryCrossentropy, !bce.fromLogits { return 0.5 }
    return 0
  }

  /// Steps start..<start+len of a [N, T, ...] tensor.
  static func timeSlice(_ t: Tensor<Scalar>, _ start: Int, _ len: Int) -> Tensor<Scalar> {
    let N = t.shape[0], T = t.shape[1], inner = t.count / max(1, N * T)
    var out = [Scalar]()
    out.reserveCapacity(N * len * inner)
    for n in 0..<N {
      let base = (n * T + start) * inner
      out.append(contentsOf: t.scalars[base..<(base + len * inner)])
    }
    var shape = t.shape
    shape[1] = len
    return Tensor(shape: shape, scalars: out)
  }
}

/// A step whose loss or gradient is not finite; `fit` turns it into an error naming the epoch.
struct TrainingDivergence: Error {
  var step: UInt64
  var loss: Double
  var what: String
}
