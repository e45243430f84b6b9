import Foundation

/// Constants of the checkpoint format (docs/checkpoint-format.md).
public enum Checkpoint {
  /// `__metadata__["format"]` of every checkpoint.
  public static let format = "recurrent-checkpoint"
  /// `__metadata__["version"]` this build writes and reads.
  public static let version = "1"
  /// Metadata keys the format uses; user metadata may not use them.
  public static let reservedMetadataKeys: Set<String> = ["format", "version", "architecture", "dtype", "training"]
  /// Prefix of the optimizer-state tensors in a training checkpoint (`optimizer.momentum`, ...).
  public static let optimizerPrefix = "optimizer."
}

/// What `Sequential.loadTrainingCheckpoint` returns: the model with its weights, data order and
/// dropout counters restored, the optimizer with its state, and the number of epochs done.
public struct TrainingCheckpoint<Scalar: TensorScalar> {
  public let model: Sequential<Scalar>
  /// The optimizer, with `learningRate`, `iterations` and `stateBuffers` as saved.
  public let optimizer: any Optimizer
  /// Epochs completed when saved: pass it to `fit(initialEpoch:)`.
  public let epoch: Int
  /// The user metadata saved with the checkpoint (the reserved keys removed).
  public let metadata: [String: String]
}

extension Sequential {
  // MARK: - Saving

  /// Saves the weights and the architecture as a safetensors checkpoint (atomically: the old
  /// file survives any failure). Tensors are named as `store` names them (`layers.0.weight_ih`,
  /// ...), F32 for a Float model and F64 for a Double one; `metadata` is stored alongside
  /// (keys in `Checkpoint.reservedMetadataKeys` are not allowed). Throws `invalidArgument` if
  /// the model is not built, `io` if the file cannot be written.
  public func save(to url: URL, metadata: [String: String] = [:]) throws {
    try checkpointWriter(metadata: metadata).write(to: url)
  }

  public func save(to path: String, metadata: [String: String] = [:]) throws {
    try save(to: URL(fileURLWithPath: path), metadata: metadata)
  }

  /// Saves a training checkpoint: everything `save` writes, plus the optimizer's state buffers
  /// (F64 tensors `optimizer.<buffer>`), its configuration, learning rate and iteration count,
  /// `epoch` (epochs completed), the batch counter that seeds dropout and the shuffling RNG's
  /// state, so that loading it and continuing with `fit(initialEpoch: epoch)` gives bit-identical
  /// weights to never having stopped. The model must be compiled.
  public func saveTrainingCheckpoint(to url: URL, epoch: Int, metadata: [String: String] = [:]) throws {
    guard let optimizer else {
      throw RecurrentError.invalidArgument("saveTrainingCheckpoint: compile the model first (there is no optimizer state to save)")
    }
    guard epoch >= 0 else { throw RecurrentError.invalidArgument("saveTrainingCheckpoint: epoch must be >= 0, got \(epoch)") }
    var writer = try checkpointWriter(metadata: metadata)
    let buffers = optimizer.stateBuffers
    for name in buffers.keys.sorted() {
      let values = buffers[name]!
      guard values.count == store.count else {
        throw RecurrentError.invalidArgument(
          "saveTrainingCheckpoint: optimizer buffer '\(name)' has \(values.count) elements, the model \(store.count)")
      }
      try writer.add(Checkpoint.optimizerPrefix + name, doubles: values, shape: [values.count])
    }
    let generator = try JSONValue.parse(Array(JSONEncoder().encode(shuffleGenerator)))
    let training: JSONValue = .object([
      "epoch": .int(epoch),
      "trainingStep": .int(trainingStep),
      "shuffleGenerator": generator,
      "optimizer": .object(try OptimizerCodec.describe(optimizer)),
    ])
    writer.metadata["training"] = training.description
    try writer.write(to: url)
  }

  public func saveTrainingCheckpoint(to path: String, epoch: Int, metadata: [String: String] = [:]) throws {
    try saveTrainingCheckpoint(to: URL(fileURLWithPath: path), epoch: epoch, metadata: metadata)
  }

  private func checkpointWriter(metadata: [String: String]) throws -> SafetensorsWriter {
    if let key = metadata.keys.sorted().first(where: { Checkpoint.reservedMetadataKeys.contains($0) }) {
      throw RecurrentError.invalidArgument(
        "checkpoint metadata key '\(key)' is reserved (reserved: \(Checkpoint.reservedMetadataKeys.sorted().joined(separator: ", ")))")
    }
    let architecture = try ModelArchitecture(of: self)
    var writer = SafetensorsWriter(metadata: metadata)
    writer.metadata["format"] = Checkpoint.format
    writer.metadata["version"] = Checkpoint.version
    writer.metadata["dtype"] = SafetensorsDType.of(Scalar.self).rawValue
    writer.metadata["architecture"] = architecture.json.description
    for p in store.parameters { try writer.add(p.name, store.value(of: p)) }
    return writer
  }

  // MARK: - Loading

  /// A new model built from a checkpoint's architecture, with its weights. Throws
  /// `invalidData` (naming the file and the tensor or layer) when the file is not a valid
  /// checkpoint, a tensor is missing or extra, or a shape differs; `io` when it cannot be read.
  /// A Float model loads F64 weights (rounded) and vice versa.
  public static func load(from url: URL) throws -> Sequential<Scalar> {
    let file = try SafetensorsFile(contentsOf: url)
    return try model(from: file)
  }

  public static func load(from path: String) throws -> Sequential<Scalar> {
    try load(from: URL(fileURLWithPath: path))
  }

  /// Copies the weights of a checkpoint (or any safetensors file with the same tensor names
  /// and shapes) into this model. Tensors named `optimizer.*` are ignored. An unbuilt model is
  /// first built for the file's architecture input shape, if it has one. Every tensor is
  /// checked before any weight changes: missing or extra tensors and shape mismatches throw,
  /// naming the tensor.
  public func loadWeights(from url: URL) throws {
    try loadWeights(from: SafetensorsFile(contentsOf: url))
  }

  public func loadWeights(from path: String) throws {
    try loadWeights(from: URL(fileURLWithPath: path))
  }

  /// Loads a training checkpoint written by `saveTrainingCheckpoint`: the model (architecture
  /// and weights), its data-order RNG and batch counter, and the optimizer. Without `optimizer`
  /// the saved configuration is rebuilt (SGD, Adam, AdamW, RMSprop, Adagrad with the built-in
  /// schedules); pass one of the same kind to use another (e.g. a custom schedule): its learning
  /// rate, iterations and state are overwritten. With `loss` the model is also compiled.
  ///
  ///     let ckpt = try Sequential<Float>.loadTrainingCheckpoint(from: url, loss: MeanSquaredError())
  ///     try ckpt.model.fit(x, y, epochs: 10, initialEpoch: ckpt.epoch)
  public static func loadTrainingCheckpoint(
    from url: URL, optimizer: (any Optimizer)? = nil, loss: (any Loss)? = nil, metrics: [Metric] = []
  ) throws -> TrainingCheckpoint<Scalar> {
    let file = try SafetensorsFile(contentsOf: url)
    let source = file.source
    func bad(_ s: String) -> RecurrentError { .invalidData("\(source): \(s)") }
    guard let text = file.metadata["training"] else {
      throw bad("not a training checkpoint (no \"training\" entry in __metadata__; it was saved with save(to:))")
    }
    let training: JSONObject
    do {
      guard let object = try JSONValue.parse(text).object else { throw bad("\"training\" metadata must be a JSON object") }
      training = object
    } catch let e as JSONParseError {
      throw bad("\"training\" metadata is not valid JSON: \(e)")
    }
    guard let epoch = training["epoch"]?.int, epoch >= 0 else { throw bad("training.epoch must be a non-negative integer") }
    guard let step = training["trainingStep"]?.uint64 else { throw bad("training.trainingStep must be an unsigned integer") }
    guard let generatorJSON = training["shuffleGenerator"],
      let generator = try? JSONDecoder().decode(SeededGenerator.self, from: Data(generatorJSON.description.utf8))
    else { throw bad("training.shuffleGenerator must be {\"state\": [4 unsigned 64-bit integers]}") }
    guard let config = training["optimizer"]?.object else { throw bad("training.optimizer must be an object") }

    let model = try model(from: file)
    var buffers = [String: [Double]]()
    for info in file.tensors where info.name.hasPrefix(Checkpoint.optimizerPrefix) {
      guard info.dtype.isFloatingPoint, info.shape == [model.store.count] else {
        throw bad(
          "optimizer tensor '\(info.name)' must be a floating-point vector [\(model.store.count)], "
            + "got \(info.dtype.rawValue) \(info.shape)")
      }
      buffers[String(info.name.dropFirst(Checkpoint.optimizerPrefix.count))] = try file.doubles(info.name)
    }
    let opt = try OptimizerCodec.restore(
      optimizer, config: config, buffers: buffers, parameterCount: model.store.count, source: source)
    model.trainingStep = step
    model.shuffleGenerator = generator
    if let loss { model.compile(optimizer: opt, loss: loss, metrics: metrics) }
    var user = file.metadata
    for key in Checkpoint.reservedMetadataKeys { user[key] = nil }
    return TrainingCheckpoint(model: model, optimizer: opt, epoch: epoch, metadata: user)
  }

  public static func loadTrainingCheckpoint(
    from path: String, optimizer: (any Optimizer)? = nil, loss: (any Loss)? = nil, metrics: [Metric] = []
  ) throws -> TrainingCheckpoint<Scalar> {
    try loadTrainingCheckpoint(from: URL(fileURLWithPath: path), optimizer: optimizer, loss: loss, metrics: metrics)
  }

  /// The model a validated checkpoint file describes, with its weights.
  static func model(from file: SafetensorsFile) throws -> Sequential<Scalar> {
    let architecture = try checkpointArchitecture(file)
    // Compare the planned parameters with the file before anything is allocated.
    let (plan, complete) = try architecture.partialParameterPlan(source: file.source)
    if complete {
      try checkWeights(file, expected: plan.map { ($0.key, $0.value) }.sorted { $0.0 < $1.0 })
    } else {
      // A layer the plan cannot work out (a registered kind, or shapes that do not chain):
      // building reports the problem, but the layers before it must fit in the file first.
      let needed = plan.values.reduce(0) { $0 &+ $1.reduce(1, &*) }
      let held = file.tensors.reduce(0) { $0 &+ $1.count }
      guard needed >= 0, needed <= held else {
        throw RecurrentError.invalidData(
          "\(file.source): the architecture needs at least \(needed) parameters, the file holds \(held) values")
      }
    }
    let model: Sequential<Scalar> = try architecture.makeModel(source: file.source)
    try model.loadWeights(from: file)
    return model
  }

  /// The architecture in a checkpoint's metadata, after checking its format and version.
  static func checkpointArchitecture(_ file: SafetensorsFile) throws -> ModelArchitecture {
    let meta = file.metadata
    guard meta["format"] == Checkpoint.format else {
      throw RecurrentError.invalidData(
        "\(file.source): not a Recurrent checkpoint (__metadata__ has no \"format\": \"\(Checkpoint.format)\"); "
          + "to read bare weights, build the model and call loadWeights(from:)")
    }
    guard meta["version"] == Checkpoint.version else {
      throw RecurrentError.invalidData(
        "\(file.source): checkpoint format version \(meta["version"].map { "\"\($0)\"" } ?? "(missing)") is not supported "
          + "(this build reads version \(Checkpoint.version))")
    }
    guard let text = meta["architecture"] else {
      throw RecurrentError.invalidData("\(file.source): the checkpoint has no \"architecture\" in __metadata__")
    }
    return try ModelArchitecture(json: text, source: file.source)
  }

  func loadWeights(from file: SafetensorsFile) throws {
    if inputShape == nil {
      guard file.metadata["architecture"] != nil else {
        throw RecurrentError.invalidArgument(
          "loadWeights: the model is not built and \(file.source) has no architecture to build it from; call build(inputShape:) first")
      }
      try build(inputShape: try Self.checkpointArchitecture(file).inputShape)
    }
    try Self.checkWeights(file, expected: store.parameters.map { ($0.name, $0.shape) })
    // Read and check every value before overwriting anything: a NaN or infinite weight is a
    // corrupt (or diverged) checkpoint.
    let values = try store.parameters.map { p in
      let t: Tensor<Scalar> = try file.tensor(p.name, as: Scalar.self)
      if let k = t.scalars.firstIndex(where: { !$0.isFinite }) {
        throw RecurrentError.invalidData(
          "\(file.source): tensor '\(p.name)' element \(k) is \(t.scalars[k]); weights must be finite")
      }
      return t
    }
    for (p, t) in zip(store.parameters, values) { store.setValue(t, for: p) }
  }

  /// Throws unless `file`'s tensors (except the optimizer's) are exactly `expected`, by name
  /// and shape, with floating-point dtypes.
  static func checkWeights(_ file: SafetensorsFile, expected: [(String, [Int])]) throws {
    let source = file.source
    var expectedNames = Set<String>()
    var missing = [String]()
    for (name, shape) in expected {
      expectedNames.insert(name)
      guard let info = file[name] else {
        missing.append("'\(name)' \(shape)")
        continue
      }
      guard info.shape == shape else {
        throw RecurrentError.shapeMismatch("\(source): tensor '\(name)' has shape \(info.shape), the model expects \(shape)")
      }
      guard info.dtype.isFloatingPoint, info.dtype != .f8E4M3, info.dtype != .f8E5M2 else {
        throw RecurrentError.invalidData("\(source): tensor '\(name)' has dtype \(info.dtype.rawValue); expected F32 or F64")
      }
    }
    if !missing.isEmpty {
      throw RecurrentError.invalidData(
        "\(source): missing tensor\(missing.count > 1 ? "s" : "") the model needs: "
          + missing.prefix(5).joined(separator: ", ") + (missing.count > 5 ? " and \(missing.count - 5) more" : ""))
    }
    let extra = file.names.filter { !expectedNames.contains($0) && !$0.hasPrefix(Checkpoint.optimizerPrefix) }.sorted()
    if !extra.isEmpty {
      throw RecurrentError.invalidData(
        "\(source): tensor\(extra.count > 1 ? "s" : "") not in the model: "
          + extra.prefix(5).map { "'\($0)' \(file[$0]!.shape)" }.joined(separator: ", ")
          + (extra.count > 5 ? " and \(extra.count - 5) more" : ""))
    }
  }
}

/// Saves a checkpoint at the end of every `every`-th epoch (Keras `ModelCheckpoint`), over the
/// same file (atomically). With `includeTrainingState` (default) it is a training checkpoint
/// that `Sequential.loadTrainingCheckpoint` resumes from. A failed save stops training and is
/// kept in `lastError`.
public final class ModelCheckpoint<Scalar: TensorScalar>: Callback {
  public let url: URL
  public let includeTrainingState: Bool
  public let every: Int
  public let metadata: [String: String]
  public private(set) var lastError: (any Error)?
  /// Epochs (1-based counts of completed epochs) saved so far.
  public private(set) var savedEpochs: [Int] = []

  public init(url: URL, includeTrainingState: Bool = true, every: Int = 1, metadata: [String: String] = [:]) {
    precondition(every >= 1, "ModelCheckpoint: every must be >= 1")
    self.url = url
    self.includeTrainingState = includeTrainingState
    self.every = every
    self.metadata = metadata
  }

  public func epochDidEnd(_ epoch: Int, logs: [String: Double], model: any TrainingModel) {
    guard (epoch + 1) % every == 0, let model = model as? Sequential<Scalar> else { return }
    do {
      if includeTrainingState {
        try model.saveTrainingCheckpoint(to: url, epoch: epoch + 1, metadata: metadata)
      } else {
        try model.save(to: url, metadata: metadata)
      }
      savedEpochs.append(epoch + 1)
    } catch {
      lastError = error
      model.stopTraining = true
    }
  }
}

// MARK: - Optimizer configuration

/// Describes an optimizer's configuration as JSON and rebuilds it.
enum OptimizerCodec {
  static func describe(_ o: any Optimizer) throws -> JSONObject {
    guard o.learningRate.isFinite else {
      throw RecurrentError.invalidArgument("cannot save optimizer state: learning rate \(o.learningRate) is not finite")
    }
    var c: JSONObject = ["name": .string(o.name), "learningRate": .double(o.learningRate), "iterations": .int(o.iterations)]
    var known = true
    func adam(_ beta1: Double, _ beta2: Double, _ epsilon: Double, _ amsgrad: Bool) {
      c["beta1"] = .double(beta1)
      c["beta2"] = .double(beta2)
      c["epsilon"] = .double(epsilon)
      c["amsgrad"] = .bool(amsgrad)
    }
    switch o {
    case let s as SGD:
      c["momentum"] = .double(s.momentum)
      c["nesterov"] = .bool(s.nesterov)
    case let a as Adam: adam(a.beta1, a.beta2, a.epsilon, a.amsgrad)
    case let a as AdamW: adam(a.beta1, a.beta2, a.epsilon, a.amsgrad)
    case let r as RMSprop:
      c["rho"] = .double(r.rho)
      c["momentum"] = .double(r.momentum)
      c["epsilon"] = .double(r.epsilon)
      c["centered"] = .bool(r.centered)
    case let g as Adagrad:
      c["initialAccumulatorValue"] = .double(g.initialAccumulatorValue)
      c["epsilon"] = .double(g.epsilon)
    default:
      known = false
    }
    if let configurable = o as? any ConfigurableOptimizer {
      let options = configurable.options
      func optional(_ v: Double?) -> JSONValue { v.map { .double($0) } ?? .null }
      c["clipValue"] = optional(options.clipValue)
      c["clipNorm"] = optional(options.clipNorm)
      c["globalClipNorm"] = optional(options.globalClipNorm)
      c["weightDecay"] = .double(options.weightDecay)
      if let schedule = options.schedule {
        if let s = describe(schedule) { c["schedule"] = s } else { c["schedule"] = .object(["kind": .string("custom")]); known = false }
      } else {
        c["schedule"] = .null
      }
    }
    c["rebuildable"] = .bool(known)
    return c
  }

  static func describe(_ s: any LearningRateSchedule) -> JSONValue? {
    switch s {
    case let d as StepDecay:
      return .object(["kind": .string("step_decay"), "stepSize": .int(d.stepSize), "gamma": .double(d.gamma)])
    case let d as ExponentialDecay:
      return .object([
        "kind": .string("exponential_decay"), "decaySteps": .int(d.decaySteps), "decayRate": .double(d.decayRate),
        "staircase": .bool(d.staircase),
      ])
    case let d as CosineDecay:
      return .object(["kind": .string("cosine_decay"), "decaySteps": .int(d.decaySteps), "alpha": .double(d.alpha)])
    case let w as WarmUp:
      var then: JSONValue = .null
      if let inner = w.then {
        guard let described = describe(inner) else { return nil }
        then = described
      }
      return .object(["kind": .string("warm_up"), "steps": .int(w.steps), "then": then])
    default:
      return nil
    }
  }

  /// A fresh optimizer with the saved configuration (no state), or nil when the configuration
  /// is not rebuildable (a custom optimizer or schedule).
  static func make(_ c: JSONObject, source: String) throws -> (any Optimizer)? {
    guard c["rebuildable"]?.bool == true, let name = c["name"]?.string else { return nil }
    var r = LayerConfigReader(LayerSpec(kind: name, config: c), path: "\(source): training.optimizer")
    _ = r.raw("name")
    _ = try r.double("learningRate")
    _ = try r.int("iterations", in: 0...Int.max)
    _ = try r.bool("rebuildable", default: true)
    func optional(_ key: String) throws -> Double? {
      guard let v = r.raw(key), !v.isNull else { return nil }
      guard let d = v.double, d > 0 else {
        throw RecurrentError.invalidData("\(source): training.optimizer: \"\(key)\" must be null or a positive number, got \(v)")
      }
      return d
    }
    let clipValue = try optional("clipValue"), clipNorm = try optional("clipNorm"), globalClipNorm = try optional("globalClipNorm")
    let weightDecay = try r.double("weightDecay", default: 0, expected: "a number >= 0") { $0 >= 0 }
    var schedule: (any LearningRateSchedule)?
    if let s = r.raw("schedule"), !s.isNull {
      schedule = try makeSchedule(s, path: "\(source): training.optimizer.schedule")
    }
    let unit: (Double) -> Bool = { $0 >= 0 && $0 < 1 }
    let optimizer: any Optimizer
    switch name {
    case "sgd":
      optimizer = SGD(
        learningRate: 0, momentum: try r.double("momentum", default: 0, expected: "a number in [0, 1]") { $0 >= 0 && $0 <= 1 },
        nesterov: try r.bool("nesterov", default: false), weightDecay: weightDecay, clipValue: clipValue, clipNorm: clipNorm,
        globalClipNorm: globalClipNorm, schedule: schedule)
    case "adam", "adamw":
      let b1 = try r.double("beta1", default: 0.9, expected: "a number in [0, 1)", where: unit)
      let b2 = try r.double("beta2", default: 0.999, expected: "a number in [0, 1)", where: unit)
      let eps = try r.double("epsilon", default: 1e-7)
      let ams = try r.bool("amsgrad", default: false)
      optimizer =
        name == "adam"
        ? Adam(
          learningRate: 0, beta1: b1, beta2: b2, epsilon: eps, amsgrad: ams, weightDecay: weightDecay, clipValue: clipValue,
          clipNorm: clipNorm, globalClipNorm: globalClipNorm, schedule: schedule)
        : AdamW(
          learningRate: 0, weightDecay: weightDecay, beta1: b1, beta2: b2, epsilon: eps, amsgrad: ams, clipValue: clipValue,
          clipNorm: clipNorm, globalClipNorm: globalClipNorm, schedule: schedule)
    case "rmsprop":
      optimizer = RMSprop(
        learningRate: 0, rho: try r.double("rho", default: 0.9, expected: "a number in [0, 1)", where: unit),
        momentum: try r.double("momentum", default: 0, expected: "a number >= 0") { $0 >= 0 },
        epsilon: try r.double("epsilon", default: 1e-7), centered: try r.bool("centered", default: false),
        weightDecay: weightDecay, clipValue: clipValue, clipNorm: clipNorm, globalClipNorm: globalClipNorm, schedule: schedule)
    case "adagrad":
      optimizer = Adagrad(
        learningRate: 0,
        initialAccumulatorValue: try r.double("initialAccumulatorValue", default: 0.1, expected: "a number >= 0") { $0 >= 0 },
        epsilon: try r.double("epsilon", default: 1e-7), weightDecay: weightDecay, clipValue: clipValue, clipNorm: clipNorm,
        globalClipNorm: globalClipNorm, schedule: schedule)
    default:
      return nil
    }
    try r.finish()
    return optimizer
  }

  static func makeSchedule(_ v: JSONValue, path: String) throws -> any LearningRateSchedule {
    guard let o = v.object, let kind = o["kind"]?.string else { throw RecurrentError.invalidData("\(path): expected {\"kind\": ...}") }
    var r = LayerConfigReader(LayerSpec(kind: kind, config: o), path: path)
    _ = r.raw("kind")
    let positive = 1...Int.max
    let schedule: any LearningRateSchedule
    switch kind {
    case "step_decay":
      schedule = StepDecay(stepSize: try r.int("stepSize", in: positive), gamma: try r.double("gamma"))
    case "exponential_decay":
      schedule = ExponentialDecay(
        decaySteps: try r.int("decaySteps", in: positive), decayRate: try r.double("decayRate"),
        staircase: try r.bool("staircase", default: false))
    case "cosine_decay":
      schedule = CosineDecay(decaySteps: try r.int("decaySteps", in: positive), alpha: try r.double("alpha", default: 0))
    case "warm_up":
      let steps = try r.int("steps", in: 0...Int.max)
      var then: (any LearningRateSchedule)?
      if let t = r.raw("then"), !t.isNull { then = try makeSchedule(t, path: "\(path).then") }
      schedule = WarmUp(steps: steps, then: then)
    default:
      throw RecurrentError.invalidData("\(path): unknown schedule kind \"\(kind)\"")
    }
    try r.finish()
    return schedule
  }

  /// The optimizer to continue with: `given` (which must have the saved name) or a rebuilt one,
  /// with the saved learning rate, iteration count and state buffers.
  static func restore(
    _ given: (any Optimizer)?, config c: JSONObject, buffers: [String: [Double]], parameterCount n: Int, source: String
  ) throws -> any Optimizer {
    func bad(_ s: String) -> RecurrentError { .invalidData("\(source): training.optimizer: \(s)") }
    guard let name = c["name"]?.string else { throw bad("\"name\" must be a string") }
    guard let learningRate = c["learningRate"]?.double else { throw bad("\"learningRate\" must be a finite number") }
    guard let iterations = c["iterations"]?.int, iterations >= 0 else { throw bad("\"iterations\" must be an integer >= 0") }
    let rebuilt = try make(c, source: source)
    let optimizer: any Optimizer
    if let given {
      guard given.name == name else {
        throw RecurrentError.invalidArgument(
          "\(source): the checkpoint holds \(name) optimizer state; the optimizer passed is \(given.name)")
      }
      optimizer = given
    } else if let rebuilt {
      optimizer = rebuilt
    } else {
      throw RecurrentError.invalidArgument(
        "\(source): the saved \(name) optimizer (or its schedule) cannot be rebuilt from its configuration; "
          + "pass an optimizer of that kind to loadTrainingCheckpoint(from:optimizer:)")
    }
    // Which buffers the optimizer keeps: step a fresh copy of the saved configuration on one
    // parameter (or, for a custom one, trust the optimizer's own once it has state).
    var expected: Set<String>?
    if let probe = try make(c, source: source) {
      let store = ParameterStore<Double>()
      store.add("p", shape: [1])
      probe.step(store)
      expected = Set(probe.stateBuffers.keys)
    } else if !optimizer.stateBuffers.isEmpty {
      expected = Set(optimizer.stateBuffers.keys)
    }
    if let expected {
      if buffers.isEmpty {
        guard iterations == 0 || expected.isEmpty else {
          throw bad("the optimizer has taken \(iterations) steps but the file has no state tensors (expected \(expected.sorted()))")
        }
      } else {
        guard Set(buffers.keys) == expected else {
          throw bad("state tensors \(buffers.keys.sorted()) do not match the \(name) optimizer's buffers \(expected.sorted())")
        }
      }
    }
    guard buffers.values.allSatisfy({ $0.count == n }) else { throw bad("every state tensor must have \(n) elements") }
    optimizer.learningRate = learningRate
    optimizer.iterations = iterations
    optimizer.stateBuffers = buffers
    return optimizer
  }
}
