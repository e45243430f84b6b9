import Foundation
import Testing

@testable import Recurrent

@Suite struct CheckpointTests {
  // MARK: - Round trips

  /// Saves `model` (weights randomised, biases included), loads it into a new object and checks
  /// that parameters, architecture and predictions on `x` are bit-identical.
  static func roundTrip<S: TensorScalar>(
    _ model: Sequential<S>, _ x: Tensor<S>, lengths: [Int]? = nil, planned: Bool = true,
    sourceLocation: SourceLocation = #_sourceLocation
  ) throws {
    try model.build(inputShape: Array(x.shape.dropFirst()))
    var rng = SeededGenerator(seed: 5)
    model.store.params = model.store.params.map { _ in S(rng.nextUnit() - 0.5) }
    let before = try model.predict(x, batchSize: 32, lengths: lengths)
    let dir = try IOFixtures.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let url = dir.appendingPathComponent("model.safetensors")
    try model.save(to: url, metadata: ["note": "round trip"])

    let file = try SafetensorsFile(contentsOf: url)
    #expect(file.metadata["format"] == "recurrent-checkpoint", sourceLocation: sourceLocation)
    #expect(file.metadata["dtype"] == (S.self == Float.self ? "F32" : "F64"), sourceLocation: sourceLocation)
    #expect(file.metadata["note"] == "round trip", sourceLocation: sourceLocation)
    #expect(Set(file.names) == Set(model.store.parameters.map(\.name)), sourceLocation: sourceLocation)
    for p in model.store.parameters {
      #expect(file[p.name]?.shape == p.shape, sourceLocation: sourceLocation)
      #expect(file[p.name]?.dtype == .of(S.self), sourceLocation: sourceLocation)
    }

    let loaded = try Sequential<S>.load(from: url)
    #expect(loaded !== model)
    #expect(loaded.seed == model.seed, sourceLocation: sourceLocation)
    #expect(loaded.layers.map(\.kind) == model.layers.map(\.kind), sourceLocation: sourceLocation)
    #expect(loaded.store.parameters == model.store.parameters, sourceLocation: sourceLocation)
    #expect(loaded.store.params == model.store.params, sourceLocation: sourceLocation)
    #expect(try ModelArchitecture(of: loaded) == ModelArchitecture(of: model), sourceLocation: sourceLocation)
    let after = try loaded.predict(x, batchSize: 32, lengths: lengths)
    #expect(after == before, sourceLocation: sourceLocation)
    // The plan used to vet files before building agrees with what building registers.
    let plan = try ModelArchitecture(of: model).parameterPlan()
    #expect(plan == (planned ? Dictionary(uniqueKeysWithValues: model.store.parameters.map { ($0.name, $0.shape) }) : nil), sourceLocation: sourceLocation)
    // Saving the loaded model writes the same bytes.
    let again = dir.appendingPathComponent("again.safetensors")
    try loaded.save(to: again, metadata: ["note": "round trip"])
    #expect(try AtomicFile.read(again) == AtomicFile.read(url), sourceLocation: sourceLocation)
  }

  static func sequences(_ shape: [Int], seed: UInt64 = 1) -> Tensor<Float> {
    var rng = SeededGenerator(seed: seed)
    return Tensor(shape: shape, normalMean: 0, stddev: 1, using: &rng)
  }

  @Test func simpleRNNWithEveryOption() throws {
    let model = Sequential(seed: 11) {
      SimpleRNN(units: 4, returnSequences: true, goBackwards: true, dropout: 0.2, recurrentDropout: 0.1, trainableInitialState: true)
      SimpleRNN(units: 3, activation: .relu, stateful: true)
      Dense(units: 2, activation: .tanh)
    }
    try Self.roundTrip(model, Self.sequences([4, 5, 3]), lengths: [5, 2, 4, 1])
  }

  @Test func lstmWithEveryOption() throws {
    let model = Sequential(seed: 12) {
      LSTM(units: 4, returnSequences: true, trainableInitialState: true, unitForgetBias: false)
      LSTM(units: 3, goBackwards: true, dropout: 0.5, stateful: true)
      Dense(units: 1, useBias: false)
    }
    try Self.roundTrip(model, Self.sequences([3, 6, 2]))
  }

  @Test func gruWithEveryOption() throws {
    let model = Sequential(seed: 13) {
      GRU(units: 5, returnSequences: true, goBackwards: true, recurrentDropout: 0.25, trainableInitialState: true)
      GRU(units: 2)
      Dense(units: 3, activation: .softmax)
    }
    try Self.roundTrip(model, Self.sequences([2, 4, 3]), lengths: [4, 3])
  }

  @Test func bidirectionalWithEveryMergeMode() throws {
    let model = Sequential(seed: 14) {
      Bidirectional(LSTM(units: 3, returnSequences: true, trainableInitialState: true))
      Bidirectional(GRU(units: 2, returnSequences: true), mergeMode: .sum)
      Bidirectional(SimpleRNN(units: 2, activation: .relu, returnSequences: true), mergeMode: .mul)
      Bidirectional(GRU(units: 2, goBackwards: true), mergeMode: .average)
      Dense(units: 1, activation: .sigmoid)
    }
    try Self.roundTrip(model, Self.sequences([3, 5, 2]), lengths: [5, 1, 3])
    #expect(model.store["layers.0.weight_hh_reverse"]?.shape == [12, 3])
    #expect(model.store["layers.0.c0_reverse"]?.shape == [3])
  }

  @Test func embeddingFrontEnds() throws {
    let masked = Sequential(seed: 15) {
      Embedding(vocabularySize: 7, dimension: 3, maskIndex: 0)
      LSTM(units: 4)
      Dense(units: 2)
    }
    let ids = Tensor<Float>(shape: [3, 5], scalars: [1, 2, 3, 0, 0, 6, 5, 4, 3, 2, 1, 0, 0, 0, 0])
    try Self.roundTrip(masked, ids)
    let plain = Sequential(seed: 16) {
      Embedding(vocabularySize: 9, dimension: 2)
      GRU(units: 3, returnSequences: true)
      GlobalAveragePooling1D()
    }
    try Self.roundTrip(plain, ids)
  }

  @Test func convolutionPoolingAndNormalisation() throws {
    let model = Sequential(seed: 17) {
      Conv1D(filters: 4, kernelSize: 3, padding: .same, dilation: 2, activation: .relu, useBias: false)
      MaxPool1D(poolSize: 2, strides: 1, padding: .same)
      LayerNorm(epsilon: 1e-5)
      Conv1D(filters: 3, kernelSize: 2, strides: 2, activation: .sigmoid)
      GlobalAveragePooling1D()
      Dense(units: 2)
    }
    try Self.roundTrip(model, Self.sequences([2, 9, 3]))
  }

  @Test func reshapingWrappersAndDropout() throws {
    let model = Sequential(seed: 18) {
      Conv1D(filters: 3, kernelSize: 2, padding: .causal, activation: .tanh)
      MaxPool1D(poolSize: 2)
      GlobalMaxPooling1D()
      RepeatVector(count: 4)
      GRU(units: 3, returnSequences: true)
      TimeDistributed(Dense(units: 2, activation: .relu))
      Flatten()
      Dropout(rate: 0.3)
      Dense(units: 1)
    }
    try Self.roundTrip(model, Self.sequences([2, 6, 2]))
  }

  @Test func doubleModels() throws {
    let model = Sequential<Double>(seed: 19) {
      RNN<LSTMCell, Double>(LSTMCell(), units: 3, returnSequences: true)
      Bidirectional(RNN<GRUCell, Double>(GRUCell(), units: 2), mergeMode: .concat)
      DenseLayer<Double>(units: 2)
    }
    try Self.roundTrip(model, Self.sequences([2, 4, 3]).converted(to: Double.self))
    // A Double checkpoint loads into a Float model (rounded), and the other way round.
    let dir = try IOFixtures.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let url = dir.appendingPathComponent("d.safetensors")
    try model.save(to: url)
    let float = try Sequential<Float>.load(from: url)
    #expect(float.store.params == model.store.params.map { Float($0) })
  }

  // MARK: - Custom layers

  /// y = x * 2, a layer Recurrent does not know.
  final class Doubler<Scalar: TensorScalar>: Layer, ArchitectureDescribable {
    var kind: String { "test_doubler" }
    var layerSpec: LayerSpec { LayerSpec(kind: kind, config: ["factor": .int(2)]) }
    func build(inputShape: [Int], store: ParameterStore<Scalar>, name: String, generator: inout SeededGenerator) throws -> [Int] {
      inputShape
    }
    func forward(_ x: Tensor<Scalar>, context: LayerContext<Scalar>) -> Tensor<Scalar> {
      Tensor(shape: x.shape, scalars: x.scalars.map { $0 * 2 })
    }
    func backward(_ d: Tensor<Scalar>) -> Tensor<Scalar> { Tensor(shape: d.shape, scalars: d.scalars.map { $0 * 2 }) }
  }

  struct DoublerDecoder: LayerDecoder {
    func makeLayer<S: TensorScalar>(_ spec: LayerSpec, as: S.Type) throws -> any Layer<S> {
      var c = LayerConfigReader(spec, path: "test_doubler")
      _ = try c.int("factor", in: 2...2)
      try c.finish()
      return Doubler<S>()
    }
  }

  final class Opaque: Layer {
    var kind: String { "opaque" }
    func build(inputShape: [Int], store: ParameterStore<Float>, name: String, generator: inout SeededGenerator) throws -> [Int] {
      inputShape
    }
    func forward(_ x: Tensor<Float>, context: LayerContext<Float>) -> Tensor<Float> { x }
    func backward(_ d: Tensor<Float>) -> Tensor<Float> { d }
  }

  @Test func customLayersRegisterADecoder() throws {
    ModelArchitecture.register(DoublerDecoder(), forKind: "test_doubler")
    let model = Sequential<Float>([Doubler<Float>(), LSTM(units: 2), Dense(units: 1)], seed: 3)
    try Self.roundTrip(model, Self.sequences([2, 3, 2]), planned: false)
    let opaque = Sequential<Float>([Opaque(), Dense(units: 1)])
    try opaque.build(inputShape: [2])
    #expect(throws: RecurrentError.self) { try opaque.save(to: "/tmp/never-written.safetensors") }
    #expect(!FileManager.default.fileExists(atPath: "/tmp/never-written.safetensors"))
  }

  // MARK: - Bad checkpoints

  /// A saved LSTM(3) + Dense(2) model on [4, 2] inputs, and its file's bytes.
  static func savedModel(in dir: URL) throws -> (Sequential<Float>, URL, SafetensorsFile) {
    let model = Sequential(seed: 21) {
      LSTM(units: 3)
      Dense(units: 2)
    }
    try model.build(inputShape: [4, 2])
    let url = dir.appendingPathComponent("m.safetensors")
    try model.save(to: url)
    return (model, url, try SafetensorsFile(contentsOf: url))
  }

  /// `file` with its tensors edited by `edit` (name -> replacement, nil to drop) plus `extra`,
  /// and its metadata edited by `meta`, written to `name` in `dir`.
  static func rewrite(
    _ file: SafetensorsFile, in dir: URL, _ name: String, drop: Set<String> = [],
    replace: [String: Tensor<Float>] = [:], extra: [String: Tensor<Float>] = [:],
    meta: (inout [String: String]) -> Void = { _ in }
  ) throws -> URL {
    var m = file.metadata
    meta(&m)
    var w = SafetensorsWriter(metadata: m)
    for t in file.names where !drop.contains(t) { try w.add(t, replace[t] ?? file.tensor(t, as: Float.self)) }
    for (t, v) in extra { try w.add(t, v) }
    let url = dir.appendingPathComponent(name)
    try w.write(to: url)
    return url
  }

  @Test func missingExtraAndMisshapenTensorsAreNamed() throws {
    let dir = try IOFixtures.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let (model, _, file) = try Self.savedModel(in: dir)
    let missing = try Self.rewrite(file, in: dir, "missing.safetensors", drop: ["layers.1.bias", "layers.0.bias_hh"])
    expectInvalidData("missing.safetensors", "missing tensors the model needs", "'layers.0.bias_hh' [12]", "'layers.1.bias' [2]") {
      _ = try Sequential<Float>.load(from: missing)
    }
    let extra = try Self.rewrite(file, in: dir, "extra.safetensors", extra: ["layers.9.weight": Tensor(shape: [1, 2])])
    expectInvalidData("extra.safetensors", "tensor not in the model: 'layers.9.weight' [1, 2]") {
      _ = try Sequential<Float>.load(from: extra)
    }
    let misshapen = try Self.rewrite(file, in: dir, "shape.safetensors", replace: ["layers.1.weight": Tensor(shape: [3, 2])])
    #expect(throws: RecurrentError.shapeMismatch("\(misshapen.path): tensor 'layers.1.weight' has shape [3, 2], the model expects [2, 3]")) {
      _ = try Sequential<Float>.load(from: misshapen)
    }
    // loadWeights checks everything before changing anything.
    let other = Sequential(seed: 22) {
      LSTM(units: 3)
      Dense(units: 2)
    }
    try other.build(inputShape: [4, 2])
    let before = other.store.params
    #expect(throws: RecurrentError.self) { try other.loadWeights(from: misshapen) }
    #expect(throws: RecurrentError.self) { try other.loadWeights(from: missing) }
    #expect(other.store.params == before)
    try other.loadWeights(from: dir.appendingPathComponent("m.safetensors"))
    #expect(other.store.params == model.store.params)
    let wider = Sequential(seed: 22) {
      LSTM(units: 4)
      Dense(units: 2)
    }
    try wider.build(inputShape: [4, 2])
    #expect(throws: RecurrentError.shapeMismatch(
      "\(dir.appendingPathComponent("m.safetensors").path): tensor 'layers.0.weight_ih' has shape [12, 2], the model expects [16, 2]")) {
      try wider.loadWeights(from: dir.appendingPathComponent("m.safetensors"))
    }
  }

  @Test func bareWeightFilesLoadIntoABuiltModelOnly() throws {
    let dir = try IOFixtures.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let (model, _, file) = try Self.savedModel(in: dir)
    let bare = try Self.rewrite(file, in: dir, "bare.safetensors") { $0 = [:] }
    expectInvalidData("not a Recurrent checkpoint", "loadWeights(from:)") { _ = try Sequential<Float>.load(from: bare) }
    let fresh = Sequential(seed: 1) {
      LSTM(units: 3)
      Dense(units: 2)
    }
    #expect(throws: RecurrentError.self) { try fresh.loadWeights(from: bare) }  // not built, nothing to build from
    try fresh.build(inputShape: [4, 2])
    try fresh.loadWeights(from: bare)
    #expect(fresh.store.params == model.store.params)
    // The Python-written fixture is not a checkpoint either.
    expectInvalidData("st_python.safetensors", "not a Recurrent checkpoint") {
      _ = try Sequential<Float>.load(from: IOFixtures.url("st_python.safetensors"))
    }
    // An unbuilt model builds itself from a checkpoint's architecture.
    let unbuilt = Sequential(seed: 1) {
      LSTM(units: 3)
      Dense(units: 2)
    }
    try unbuilt.loadWeights(from: dir.appendingPathComponent("m.safetensors"))
    #expect(unbuilt.inputShape == [4, 2] && unbuilt.store.params == model.store.params)
  }

  @Test func badMetadataAndArchitecturesAreNamed() throws {
    let dir = try IOFixtures.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let (_, _, file) = try Self.savedModel(in: dir)
    func expectArchitecture(_ json: String, _ fragments: String..., sourceLocation: SourceLocation = #_sourceLocation) throws {
      let url = try Self.rewrite(file, in: dir, "arch.safetensors") { $0["architecture"] = json }
      do {
        _ = try Sequential<Float>.load(from: url)
        Issue.record("loading \(json) succeeded", sourceLocation: sourceLocation)
      } catch let error as RecurrentError {
        for f in fragments where !error.description.contains(f) {
          Issue.record("\(error) lacks \"\(f)\"", sourceLocation: sourceLocation)
        }
      }
    }
    let lstm = #"{"kind":"lstm","config":{"units":3}}"#, dense = #"{"kind":"dense","config":{"units":2}}"#
    try expectArchitecture("{", "architecture is not valid JSON")
    try expectArchitecture("[]", "expected a JSON object")
    try expectArchitecture(#"{"seed":1,"layers":[\#(lstm)]}"#, "\"inputShape\" must be an array")
    try expectArchitecture(#"{"inputShape":[4,0],"seed":1,"layers":[\#(lstm)]}"#, "positive integers")
    try expectArchitecture(#"{"inputShape":[4,2],"seed":-1,"layers":[\#(lstm)]}"#, "\"seed\"")
    try expectArchitecture(#"{"inputShape":[4,2],"seed":1,"layers":[]}"#, "non-empty array")
    try expectArchitecture(
      #"{"inputShape":[4,2],"seed":1,"layers":[{"kind":"transformer","config":{}},\#(dense)]}"#,
      "layers[0]", "unknown layer kind \"transformer\"")
    try expectArchitecture(
      #"{"inputShape":[4,2],"seed":1,"layers":[{"kind":"lstm","config":{"units":-3}},\#(dense)]}"#,
      "layers[0] (lstm)", "config \"units\" must be an integer")
    try expectArchitecture(
      #"{"inputShape":[4,2],"seed":1,"layers":[{"kind":"lstm","config":{"units":3,"unitz":3}},\#(dense)]}"#,
      "unknown config key \"unitz\"")
    try expectArchitecture(
      #"{"inputShape":[4,2],"seed":1,"layers":[{"kind":"lstm","config":{"units":3,"dropout":1.5}},\#(dense)]}"#,
      "\"dropout\" must be a rate in [0, 1)")
    try expectArchitecture(
      #"{"inputShape":[4,2],"seed":1,"layers":[{"kind":"lstm","config":{"units":3}},{"kind":"dense","config":{"units":2,"activation":"gelu"}}]}"#,
      "\"activation\" must be one of")
    // A hostile architecture asking for a huge layer is refused before anything is allocated.
    try expectArchitecture(
      #"{"inputShape":[4,2],"seed":1,"layers":[{"kind":"lstm","config":{"units":16000000}},\#(dense)]}"#,
      "tensor 'layers.0.", "the model expects [64000000")
    try expectArchitecture(
      #"{"inputShape":[4,2],"seed":1,"layers":[{"kind":"lstm","config":{"units":1073741824}},\#(dense)]}"#,
      "config \"units\" must be an integer in 1...16777216")
    try expectArchitecture(
      #"{"inputShape":[16777216,2],"seed":1,"layers":[{"kind":"conv1d","config":{"filters":16777216,"kernelSize":1}},\#(dense)]}"#,
      "layers[0] (conv1d) would output [16777216, 16777216] per sample, which is implausibly large")
    // A layer that does not fit its input.
    try expectArchitecture(
      #"{"inputShape":[4],"seed":1,"layers":[\#(lstm),\#(dense)]}"#, "architecture does not build", "lstm")

    let noFormat = try Self.rewrite(file, in: dir, "f.safetensors") { $0["format"] = nil }
    expectInvalidData("not a Recurrent checkpoint") { _ = try Sequential<Float>.load(from: noFormat) }
    let future = try Self.rewrite(file, in: dir, "v.safetensors") { $0["version"] = "2" }
    expectInvalidData("checkpoint format version \"2\" is not supported") { _ = try Sequential<Float>.load(from: future) }
    var w = SafetensorsWriter(metadata: file.metadata)
    for t in file.names { try w.add(t, integers: Array(repeating: 1, count: file[t]!.count), shape: file[t]!.shape) }
    let ints = dir.appendingPathComponent("ints.safetensors")
    try w.write(to: ints)
    expectInvalidData("has dtype I64; expected F32 or F64") { _ = try Sequential<Float>.load(from: ints) }
  }

  @Test func saveChecksItsArguments() throws {
    let unbuilt = Sequential { Dense(units: 1) }
    #expect(throws: RecurrentError.self) { try unbuilt.save(to: "/tmp/unbuilt.safetensors") }
    let model = Sequential { Dense(units: 1) }
    try model.build(inputShape: [2])
    #expect(throws: RecurrentError.invalidArgument(
      "checkpoint metadata key 'format' is reserved (reserved: architecture, dtype, format, training, version)")) {
      try model.save(to: "/tmp/reserved.safetensors", metadata: ["format": "mine"])
    }
    #expect(throws: RecurrentError.self) { try model.saveTrainingCheckpoint(to: "/tmp/x.safetensors", epoch: 1) }  // not compiled
  }

  // MARK: - Atomic saves

  @Test func aFailedSaveLeavesTheOldCheckpoint() throws {
    let dir = try IOFixtures.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let (model, url, _) = try Self.savedModel(in: dir)
    let bytes = try AtomicFile.read(url)
    // A model that cannot be saved (not built) does not touch the file.
    let unbuilt = Sequential { Dense(units: 1) }
    #expect(throws: RecurrentError.self) { try unbuilt.save(to: url) }
    #expect(try AtomicFile.read(url) == bytes)
    // A write that fails at the last moment leaves the old checkpoint whole and loadable.
    var w = SafetensorsWriter()
    try w.add("junk", Tensor<Float>(shape: [1000]))
    struct Crash: Error {}
    #expect(throws: Crash.self) { try AtomicFile.write(w.serialized(), to: url, beforeRename: { throw Crash() }) }
    #expect(try AtomicFile.read(url) == bytes)
    #expect(try Sequential<Float>.load(from: url).store.params == model.store.params)
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["m.safetensors"])
  }

  @Test func savingIntoAReadOnlyDirectoryNamesThePath() throws {
    let model = Sequential { Dense(units: 1) }
    try model.build(inputShape: [2])
    try IOFixtures.withReadOnlyDirectory { directory in
      let target = directory.appendingPathComponent("model.safetensors")
      do {
        try model.save(to: target)
        Issue.record("saving into a read-only directory succeeded")
      } catch let RecurrentError.io(message) {
        #expect(message.hasPrefix("cannot save '\(target.path)'"))
      }
    }
  }

  // MARK: - Exact resume

  static func resumeData() -> (Tensor<Float>, Tensor<Float>) {
    (sequences([22, 6, 3], seed: 31), sequences([22, 2], seed: 32))
  }

  /// Dropout everywhere it exists: input and recurrent dropout in the LSTM, a Dropout layer,
  /// recurrent dropout in the GRU.
  static func resumeModel() -> Sequential<Float> {
    Sequential(seed: 33) {
      LSTM(units: 5, returnSequences: true, dropout: 0.2, recurrentDropout: 0.2)
      Dropout(rate: 0.3)
      GRU(units: 4, recurrentDropout: 0.1)
      Dense(units: 2)
    }
  }

  static func optimizer(_ name: String) -> any Optimizer {
    switch name {
    case "sgd": SGD(learningRate: 0.05, momentum: 0.9)
    case "sgd-nesterov": SGD(learningRate: 0.05, momentum: 0.5, nesterov: true, clipValue: 0.5)
    case "adam": Adam(learningRate: 0.01)
    case "adamw-schedule": AdamW(learningRate: 0.01, amsgrad: true, globalClipNorm: 1, schedule: WarmUp(steps: 3, then: CosineDecay(decaySteps: 20, alpha: 0.1)))
    case "rmsprop": RMSprop(learningRate: 0.01, momentum: 0.5, centered: true, clipNorm: 2, schedule: ExponentialDecay(decaySteps: 4, decayRate: 0.9, staircase: true))
    default: Adagrad(learningRate: 0.05, weightDecay: 0.01, schedule: StepDecay(stepSize: 5, gamma: 0.5))
    }
  }

  /// N epochs straight == k epochs, save, load into a new model object, N - k more: bit for bit,
  /// with shuffling and dropout on and an uneven last batch.
  @Test(arguments: ["sgd", "adam", "sgd-nesterov", "adamw-schedule", "rmsprop", "adagrad"])
  func resumingIsBitIdentical(_ name: String) throws {
    let (x, y) = Self.resumeData()
    let n = 4, k = 2
    let straight = Self.resumeModel()
    straight.compile(optimizer: Self.optimizer(name), loss: MeanSquaredError())
    let full = try straight.fit(x, y, epochs: n, batchSize: 5, verbose: 0)

    let dir = try IOFixtures.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let url = dir.appendingPathComponent("train.safetensors")
    let first = Self.resumeModel()
    first.compile(optimizer: Self.optimizer(name), loss: MeanSquaredError())
    let checkpointer = ModelCheckpoint<Float>(url: url, metadata: ["run": name])
    try first.fit(x, y, epochs: k, batchSize: 5, callbacks: [checkpointer], verbose: 0)
    #expect(checkpointer.savedEpochs == [1, 2] && checkpointer.lastError == nil)

    let resumed = try Sequential<Float>.loadTrainingCheckpoint(from: url, loss: MeanSquaredError())
    #expect(resumed.epoch == k)
    #expect(resumed.metadata == ["run": name])
    #expect(resumed.optimizer.name == straight.optimizer!.name)
    let rest = try resumed.model.fit(x, y, epochs: n, batchSize: 5, verbose: 0, initialEpoch: resumed.epoch)
    #expect(rest["loss"] == Array(full["loss"].suffix(n - k)))
    #expect(resumed.model.store.params == straight.store.params)
    #expect(resumed.optimizer.iterations == straight.optimizer!.iterations)
    #expect(resumed.optimizer.stateBuffers == straight.optimizer!.stateBuffers)

    // The same with the caller's own optimizer object.
    let own = try Sequential<Float>.loadTrainingCheckpoint(from: url, optimizer: Self.optimizer(name), loss: MeanSquaredError())
    try own.model.fit(x, y, epochs: n, batchSize: 5, verbose: 0, initialEpoch: own.epoch)
    #expect(own.model.store.params == straight.store.params)

    // Sensitivity: weights alone (fresh optimizer, RNG and counters) do not reproduce the run.
    let weightsOnly = try Sequential<Float>.load(from: url)
    weightsOnly.compile(optimizer: Self.optimizer(name), loss: MeanSquaredError())
    try weightsOnly.fit(x, y, epochs: n - k, batchSize: 5, verbose: 0)
    #expect(weightsOnly.store.params != straight.store.params)
  }

  @Test func trainingCheckpointErrors() throws {
    let dir = try IOFixtures.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let (x, y) = Self.resumeData()
    let model = Self.resumeModel()
    model.compile(optimizer: Adam(learningRate: 0.01), loss: MeanSquaredError())
    try model.fit(x, y, epochs: 1, batchSize: 11, verbose: 0)
    let url = dir.appendingPathComponent("t.safetensors")
    try model.saveTrainingCheckpoint(to: url, epoch: 1)
    let file = try SafetensorsFile(contentsOf: url)
    #expect(file["optimizer.momentum"]?.dtype == .f64 && file["optimizer.momentum"]?.shape == [model.store.count])
    let trainingText = try #require(file.metadata["training"])
    let training = try #require(try JSONValue.parse(trainingText).object)
    #expect(training.keys == ["epoch", "trainingStep", "shuffleGenerator", "optimizer"])
    #expect(training["epoch"]?.int == 1 && training["trainingStep"]?.int == 2)
    #expect(training["shuffleGenerator"]?.object?["state"]?.array?.compactMap(\.uint64) == {
      let s = model.shuffleGenerator.state
      return [s.0, s.1, s.2, s.3]
    }())
    #expect(training["optimizer"]?.object?["name"]?.string == "adam")
    #expect(training["optimizer"]?.object?["iterations"]?.int == 2)
    // The wrong kind of optimizer.
    #expect(throws: RecurrentError.self) { _ = try Sequential<Float>.loadTrainingCheckpoint(from: url, optimizer: SGD()) }
    // A plain checkpoint is not a training checkpoint.
    let plain = dir.appendingPathComponent("p.safetensors")
    try model.save(to: plain)
    expectInvalidData("not a training checkpoint") { _ = try Sequential<Float>.loadTrainingCheckpoint(from: plain) }
    // State tensors that do not match the optimizer.
    var w = SafetensorsWriter(metadata: file.metadata)
    for t in file.names where t != "optimizer.velocity" { try w.add(t, file.tensor(t, as: Double.self), as: file[t]!.dtype) }
    let partial = dir.appendingPathComponent("partial.safetensors")
    try w.write(to: partial)
    expectInvalidData("state tensors [\"momentum\"] do not match the adam optimizer's buffers [\"momentum\", \"velocity\"]") {
      _ = try Sequential<Float>.loadTrainingCheckpoint(from: partial)
    }
    // initialEpoch outside 0...epochs.
    #expect(throws: RecurrentError.self) { try model.fit(x, y, epochs: 2, verbose: 0, initialEpoch: 3) }
  }
}
