import Foundation

/// A `Sequential` model's architecture as data: the input shape, the seed and one `LayerSpec`
/// (kind + configuration) per layer. Checkpoints store it as JSON in the safetensors
/// `__metadata__` under "architecture" (see docs/checkpoint-format.md), and `makeModel()` builds
/// the model back from it.
///
///     {"inputShape": [20, 3], "seed": 7, "layers": [
///       {"kind": "lstm", "config": {"units": 16, "returnSequences": true, ...}},
///       {"kind": "dense", "config": {"units": 1, "activation": "linear", "useBias": true}}]}
///
/// Config keys are the Swift initialisers' argument labels. Every built-in layer is supported:
/// `rnn` / `rnn_relu` / `lstm` / `gru` (RNN with the built-in cells), `bidirectional` (wrapping
/// one of those), `dense`, `embedding`, `dropout`, `conv1d`, `max_pooling1d`,
/// `global_average_pooling1d`, `global_max_pooling1d`, `layer_normalization`, `flatten`,
/// `repeat_vector` and `time_distributed` (wrapping any supported layer). Other layers take part
/// by conforming to `ArchitectureDescribable` and registering a `LayerDecoder` for their kind.
/// Initialisers are not part of the architecture (a checkpoint carries the weights).
public struct ModelArchitecture: Equatable, Sendable {
  /// The model's input shape without the batch axis ([steps, features], or [steps] of token ids).
  public var inputShape: [Int]
  /// `Sequential.seed` (weight initialisation, shuffling and dropout).
  public var seed: UInt64
  public var layers: [LayerSpec]

  /// Largest size (units, filters, input dimension, ...) an architecture may name, and largest
  /// element count of an input or a layer output per sample: keeps the arithmetic of building
  /// far from overflow for hostile files.
  static let maxSize = 1 << 24
  static let maxElements = 1 << 40

  public init(inputShape: [Int], seed: UInt64, layers: [LayerSpec]) {
    self.inputShape = inputShape
    self.seed = seed
    self.layers = layers
  }

  /// The architecture of a built `model`. Throws `invalidArgument` if the model is not built
  /// or has a layer that cannot describe itself.
  public init<S: TensorScalar>(of model: Sequential<S>) throws {
    guard let shape = model.inputShape else {
      throw RecurrentError.invalidArgument(
        "the model is not built yet: call build(inputShape:) or run it once before describing or saving it")
    }
    var specs = [LayerSpec]()
    for (i, layer) in model.layers.enumerated() {
      guard let describable = layer as? any ArchitectureDescribable else {
        throw RecurrentError.invalidArgument(
          "layer \(i) (\(layer.kind), \(type(of: layer))) cannot describe itself in a checkpoint; "
            + "conform it to ArchitectureDescribable and register a LayerDecoder for its kind")
      }
      specs.append(try describable.layerSpec)
    }
    self.init(inputShape: shape, seed: model.seed, layers: specs)
  }

  /// The JSON form.
  public var json: JSONValue {
    .object([
      "inputShape": .array(inputShape.map { .int($0) }),
      "seed": .int(seed),
      "layers": .array(layers.map(\.json)),
    ])
  }

  /// Parses the JSON form; `source` names it in errors (`RecurrentError.invalidData`).
  public init(json text: String, source: String = "architecture") throws {
    let value: JSONValue
    do {
      value = try JSONValue.parse(text)
    } catch let e as JSONParseError {
      throw RecurrentError.invalidData("\(source): architecture is not valid JSON: \(e)")
    }
    try self.init(json: value, source: source)
  }

  public init(json value: JSONValue, source: String = "architecture") throws {
    func bad(_ s: String) -> RecurrentError { .invalidData("\(source): architecture: \(s)") }
    guard let object = value.object else { throw bad("expected a JSON object, got \(value.typeDescription)") }
    for key in object.keys where !["inputShape", "seed", "layers"].contains(key) {
      throw bad("unexpected key \"\(key)\" (expected inputShape, seed, layers)")
    }
    guard let dims = object["inputShape"]?.array, (1...4).contains(dims.count) else {
      throw bad("\"inputShape\" must be an array of 1 to 4 positive integers, got \(object["inputShape"]?.description ?? "nothing")")
    }
    var shape = [Int]()
    var product = 1
    for d in dims {
      guard let v = d.int, v >= 1, v <= Self.maxSize else {
        throw bad("\"inputShape\" must hold positive integers up to \(Self.maxSize), got \(JSONValue.array(dims))")
      }
      shape.append(v)
      product = product.multipliedReportingOverflow(by: v).partialValue
      guard product <= Self.maxElements else { throw bad("\"inputShape\" \(shape) is implausibly large") }
    }
    guard let seed = object["seed"]?.uint64 else {
      throw bad("\"seed\" must be an unsigned 64-bit integer, got \(object["seed"]?.description ?? "nothing")")
    }
    guard let list = object["layers"]?.array, !list.isEmpty else {
      throw bad("\"layers\" must be a non-empty array of layer specs")
    }
    let specs = try list.enumerated().map { i, item in try LayerSpec(json: item, path: "\(source): architecture: layers[\(i)]") }
    self.init(inputShape: shape, seed: seed, layers: specs)
  }

  /// A new model with these layers and seed, built for `inputShape` (freshly initialised
  /// weights). Throws `invalidData` for an unknown kind or a bad configuration, naming the layer.
  public func makeModel<S: TensorScalar>(_: S.Type = S.self, source: String = "architecture") throws -> Sequential<S> {
    let made = try layers.enumerated().map { i, spec in
      try Self.makeLayer(spec, as: S.self, path: "\(source): architecture: layers[\(i)] (\(spec.kind))")
    }
    let model = Sequential<S>(made, seed: seed)
    do {
      try model.build(inputShape: inputShape)
    } catch let e as RecurrentError {
      throw RecurrentError.invalidData("\(source): architecture does not build: \(e)")
    }
    return model
  }

  // MARK: - Registry

  nonisolated(unsafe) private static var registry: [String: any LayerDecoder] = [:]
  private static let registryLock = NSLock()

  /// Makes `decoder` responsible for layers of `kind` (replacing any earlier registration; the
  /// built-in kinds cannot be replaced).
  public static func register(_ decoder: any LayerDecoder, forKind kind: String) {
    registryLock.lock()
    defer { registryLock.unlock() }
    registry[kind] = decoder
  }

  private static func registered(_ kind: String) -> (any LayerDecoder)? {
    registryLock.lock()
    defer { registryLock.unlock() }
    return registry[kind]
  }

  /// The layer for `spec`: a built-in kind, else a registered decoder.
  public static func makeLayer<S: TensorScalar>(_ spec: LayerSpec, as _: S.Type, path: String) throws -> any Layer<S> {
    if let layer = try BuiltinLayers.make(spec, as: S.self, path: path) { return layer }
    if let decoder = registered(spec.kind) {
      return try decoder.makeLayer(spec, as: S.self)
    }
    throw RecurrentError.invalidData(
      "\(path): unknown layer kind \"\(spec.kind)\" (known: \(BuiltinLayers.kinds.joined(separator: ", ")))")
  }

  // MARK: - Parameter plan

  /// The name and shape of every parameter the model will register, worked out from the specs
  /// without building anything; nil if a layer is not a built-in kind or its shapes do not
  /// work out (building then reports the problem). Loading compares this plan with a file's
  /// tensors before allocating, so a hostile architecture cannot request huge weights; a layer
  /// output of more than 2^40 elements per sample throws `invalidData`.
  func parameterPlan(source: String = "architecture") throws -> [String: [Int]]? {
    let (plan, complete) = try partialParameterPlan(source: source)
    return complete ? plan : nil
  }

  /// The parameters of the layers before the first one `parameterPlan` cannot work out, and
  /// whether that covers every layer. Building allocates at least these.
  func partialParameterPlan(source: String = "architecture") throws -> (plan: [String: [Int]], complete: Bool) {
    var plan = [String: [Int]]()
    var shape = inputShape
    for (i, spec) in layers.enumerated() {
      var attempt = plan
      guard let out = BuiltinLayers.plan(spec, input: shape, name: "layers.\(i)", into: &attempt) else { return (plan, false) }
      plan = attempt
      var count = 1
      for d in out {
        let (p, overflow) = count.multipliedReportingOverflow(by: d)
        guard !overflow, p <= Self.maxElements else {
          throw RecurrentError.invalidData(
            "\(source): architecture: layers[\(i)] (\(spec.kind)) would output \(out) per sample, which is implausibly large")
        }
        count = p
      }
      shape = out
    }
    return (plan, true)
  }
}

/// One layer of an architecture: its kind ("lstm", "dense", ...) and its configuration.
public struct LayerSpec: Equatable, Sendable {
  public var kind: String
  public var config: JSONObject

  public init(kind: String, config: JSONObject = [:]) {
    self.kind = kind
    self.config = config
  }

  /// `{"kind": ..., "config": {...}}`.
  public var json: JSONValue { .object(["kind": .string(kind), "config": .object(config)]) }

  /// Parses `{"kind": ..., "config": {...}}`; `path` names it in errors.
  public init(json value: JSONValue, path: String) throws {
    guard let object = value.object, let kind = object["kind"]?.string else {
      throw RecurrentError.invalidData("\(path): expected {\"kind\": string, \"config\": object}, got \(value)")
    }
    for key in object.keys where key != "kind" && key != "config" {
      throw RecurrentError.invalidData("\(path) (\(kind)): unexpected key \"\(key)\" (expected kind, config)")
    }
    let config = object["config"] ?? .object([:])
    guard let map = config.object else {
      throw RecurrentError.invalidData("\(path) (\(kind)): \"config\" must be an object, got \(config.typeDescription)")
    }
    self.init(kind: kind, config: map)
  }
}

/// A layer that can describe itself as a `LayerSpec` (for checkpoints).
public protocol ArchitectureDescribable {
  /// The kind and configuration that rebuild this layer (without its weights).
  var layerSpec: LayerSpec { get throws }
}

/// Makes layers of a custom kind from their spec; see `ModelArchitecture.register`.
public protocol LayerDecoder: Sendable {
  func makeLayer<S: TensorScalar>(_ spec: LayerSpec, as: S.Type) throws -> any Layer<S>
}

/// Reads a layer config with typed accessors, defaults and errors naming the layer and key;
/// `finish()` rejects keys nobody read (a typo, or a newer version's option).
public struct LayerConfigReader {
  public let config: JSONObject
  public let path: String
  private var used = Set<String>()

  public init(_ spec: LayerSpec, path: String) {
    config = spec.config
    self.path = path
  }

  private func bad(_ key: String, _ expected: String, _ got: JSONValue?) -> RecurrentError {
    .invalidData("\(path): config \"\(key)\" must be \(expected), got \(got?.description ?? "nothing")")
  }

  private mutating func value(_ key: String) -> JSONValue? {
    used.insert(key)
    return config[key]
  }

  /// The raw value of `key` (nil when absent), marked as read.
  public mutating func raw(_ key: String) -> JSONValue? { value(key) }

  /// An integer in `range`; `defaultValue` when absent (required when nil).
  public mutating func int(_ key: String, in range: ClosedRange<Int>, default defaultValue: Int? = nil) throws -> Int {
    guard let v = value(key) else {
      if let defaultValue { return defaultValue }
      throw bad(key, "an integer in \(range)", nil)
    }
    guard let i = v.int, range.contains(i) else { throw bad(key, "an integer in \(range)", v) }
    return i
  }

  /// An integer in `range` or null; nil when absent or null.
  public mutating func optionalInt(_ key: String, in range: ClosedRange<Int>) throws -> Int? {
    guard let v = value(key), !v.isNull else { return nil }
    guard let i = v.int, range.contains(i) else { throw bad(key, "null or an integer in \(range)", v) }
    return i
  }

  /// A finite number satisfying `valid` (described by `expected`).
  public mutating func double(
    _ key: String, default defaultValue: Double? = nil, expected: String = "a number",
    where valid: (Double) -> Bool = { _ in true }
  ) throws -> Double {
    guard let v = value(key) else {
      if let defaultValue { return defaultValue }
      throw bad(key, expected, nil)
    }
    guard let d = v.double, valid(d) else { throw bad(key, expected, v) }
    return d
  }

  public mutating func bool(_ key: String, default defaultValue: Bool) throws -> Bool {
    guard let v = value(key) else { return defaultValue }
    guard let b = v.bool else { throw bad(key, "true or false", v) }
    return b
  }

  /// One of an enum's raw values.
  public mutating func choice<E: RawRepresentable & CaseIterable>(_ key: String, default defaultValue: E) throws -> E
  where E.RawValue == String {
    guard let v = value(key) else { return defaultValue }
    guard let s = v.string, let e = E(rawValue: s) else {
      throw bad(key, "one of " + E.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", "), v)
    }
    return e
  }

  /// A nested layer spec (wrappers).
  public mutating func spec(_ key: String) throws -> LayerSpec {
    guard let v = value(key) else { throw bad(key, "a layer spec {\"kind\": ..., \"config\": ...}", nil) }
    return try LayerSpec(json: v, path: "\(path).\(key)")
  }

  /// Throws if the config has keys no accessor asked for.
  public func finish() throws {
    for key in config.keys where !used.contains(key) {
      throw RecurrentError.invalidData("\(path): unknown config key \"\(key)\"")
    }
  }
}

// MARK: - Built-in layers: describing

extension RNN: ArchitectureDescribable {
  public var layerSpec: LayerSpec {
    get throws {
      guard Cell.self == LSTMCell.self || Cell.self == GRUCell.self || Cell.self == SimpleRNNCell.self else {
        throw RecurrentError.invalidArgument(
          "RNN with a custom cell (\(Cell.self)) cannot describe itself; register a LayerDecoder for kind \"\(kind)\"")
      }
      return LayerSpec(kind: kind, config: recurrentConfig)
    }
  }

  var recurrentConfig: JSONObject {
    var config: JSONObject = [
      "units": .int(units),
      "returnSequences": .bool(returnSequences),
      "goBackwards": .bool(goBackwards),
      "dropout": .double(dropout),
      "recurrentDropout": .double(recurrentDropout),
      "stateful": .bool(stateful),
      "trainableInitialState": .bool(trainableInitialState),
    ]
    if let gru = cell as? GRUCell { config["resetAfter"] = .bool(gru.resetAfter) }
    return config
  }
}

extension Bidirectional: ArchitectureDescribable {
  public var layerSpec: LayerSpec {
    get throws {
      LayerSpec(kind: "bidirectional", config: ["mergeMode": .string(mergeMode.rawValue), "layer": try forwardLayer.layerSpec.json])
    }
  }
}

extension DenseLayer: ArchitectureDescribable {
  public var layerSpec: LayerSpec {
    LayerSpec(kind: kind, config: ["units": .int(units), "activation": .string(activation.rawValue), "useBias": .bool(useBias)])
  }
}

extension EmbeddingLayer: ArchitectureDescribable {
  public var layerSpec: LayerSpec {
    LayerSpec(
      kind: kind,
      config: ["vocabularySize": .int(vocabularySize), "dimension": .int(dimension), "maskIndex": maskIndex.map { .int($0) } ?? .null])
  }
}

extension DropoutLayer: ArchitectureDescribable {
  public var layerSpec: LayerSpec { LayerSpec(kind: kind, config: ["rate": .double(rate)]) }
}

extension Conv1DLayer: ArchitectureDescribable {
  public var layerSpec: LayerSpec {
    LayerSpec(
      kind: kind,
      config: [
        "filters": .int(filters), "kernelSize": .int(kernelSize), "strides": .int(strides),
        "padding": .string(padding.rawValue), "dilation": .int(dilation), "activation": .string(activation.rawValue),
        "useBias": .bool(useBias),
      ])
  }
}

extension MaxPool1DLayer: ArchitectureDescribable {
  public var layerSpec: LayerSpec {
    LayerSpec(kind: kind, config: ["poolSize": .int(poolSize), "strides": .int(strides), "padding": .string(padding.rawValue)])
  }
}

extension GlobalAveragePooling1DLayer: ArchitectureDescribable {
  public var layerSpec: LayerSpec { LayerSpec(kind: kind) }
}

extension GlobalMaxPooling1DLayer: ArchitectureDescribable {
  public var layerSpec: LayerSpec { LayerSpec(kind: kind) }
}

extension LayerNormLayer: ArchitectureDescribable {
  public var layerSpec: LayerSpec { LayerSpec(kind: kind, config: ["epsilon": .double(epsilon)]) }
}

extension FlattenLayer: ArchitectureDescribable {
  public var layerSpec: LayerSpec { LayerSpec(kind: kind) }
}

extension RepeatVectorLayer: ArchitectureDescribable {
  public var layerSpec: LayerSpec { LayerSpec(kind: kind, config: ["count": .int(count)]) }
}

extension TimeDistributedLayer: ArchitectureDescribable {
  public var layerSpec: LayerSpec {
    get throws {
      guard let inner = inner as? any ArchitectureDescribable else {
        throw RecurrentError.invalidArgument("TimeDistributed(\(self.inner.kind)): the wrapped layer cannot describe itself")
      }
      return LayerSpec(kind: kind, config: ["layer": try inner.layerSpec.json])
    }
  }
}

// MARK: - Built-in layers: making and planning

enum BuiltinLayers {
  static let recurrentKinds = ["rnn", "rnn_relu", "lstm", "gru"]
  static let kinds =
    recurrentKinds + [
      "bidirectional", "dense", "embedding", "dropout", "conv1d", "max_pooling1d", "global_average_pooling1d",
      "global_max_pooling1d", "layer_normalization", "flatten", "repeat_vector", "time_distributed",
    ]
  static let sizes = 1...ModelArchitecture.maxSize

  /// The layer for a built-in kind, nil for any other kind.
  static func make<S: TensorScalar>(_ spec: LayerSpec, as _: S.Type, path: String) throws -> (any Layer<S>)? {
    var c = LayerConfigReader(spec, path: path)
    let layer: any Layer<S>
    switch spec.kind {
    case "rnn", "rnn_relu", "lstm", "gru":
      layer = try anyRecurrent(spec.kind, &c, as: S.self)
    case "bidirectional":
      let mode = try c.choice("mergeMode", default: Bidirectional<LSTMCell, S>.MergeMode.concat)
      let inner = try c.spec("layer")
      var ic = LayerConfigReader(inner, path: "\(path).layer (\(inner.kind))")
      switch inner.kind {
      case "rnn", "rnn_relu":
        let r: RNN<SimpleRNNCell, S> = try recurrent(inner.kind, &ic)
        layer = Bidirectional(r, mergeMode: Bidirectional<SimpleRNNCell, S>.MergeMode(rawValue: mode.rawValue)!)
      case "lstm":
        let r: RNN<LSTMCell, S> = try recurrent(inner.kind, &ic)
        layer = Bidirectional(r, mergeMode: mode)
      case "gru":
        let r: RNN<GRUCell, S> = try recurrent(inner.kind, &ic)
        layer = Bidirectional(r, mergeMode: Bidirectional<GRUCell, S>.MergeMode(rawValue: mode.rawValue)!)
      default:
        throw RecurrentError.invalidData(
          "\(path).layer: Bidirectional wraps rnn, rnn_relu, lstm or gru, got \"\(inner.kind)\"")
      }
      try ic.finish()
    case "dense":
      layer = DenseLayer<S>(
        units: try c.int("units", in: sizes), activation: try c.choice("activation", default: .linear),
        useBias: try c.bool("useBias", default: true))
    case "embedding":
      let vocabulary = try c.int("vocabularySize", in: sizes)
      layer = EmbeddingLayer<S>(
        vocabularySize: vocabulary, dimension: try c.int("dimension", in: sizes),
        maskIndex: try c.optionalInt("maskIndex", in: 0...(vocabulary - 1)))
    case "dropout":
      layer = DropoutLayer<S>(rate: try c.double("rate", expected: "a rate in [0, 1)") { $0 >= 0 && $0 < 1 })
    case "conv1d":
      layer = Conv1DLayer<S>(
        filters: try c.int("filters", in: sizes), kernelSize: try c.int("kernelSize", in: sizes),
        strides: try c.int("strides", in: sizes, default: 1), padding: try c.choice("padding", default: .valid),
        dilation: try c.int("dilation", in: sizes, default: 1), activation: try c.choice("activation", default: .linear),
        useBias: try c.bool("useBias", default: true))
    case "max_pooling1d":
      let pool = try c.int("poolSize", in: sizes, default: 2)
      layer = MaxPool1DLayer<S>(
        poolSize: pool, strides: try c.int("strides", in: sizes, default: pool), padding: try c.choice("padding", default: .valid))
    case "global_average_pooling1d": layer = GlobalAveragePooling1DLayer<S>()
    case "global_max_pooling1d": layer = GlobalMaxPooling1DLayer<S>()
    case "layer_normalization":
      layer = LayerNormLayer<S>(epsilon: try c.double("epsilon", default: 1e-3, expected: "a positive number") { $0 > 0 })
    case "flatten": layer = FlattenLayer<S>()
    case "repeat_vector": layer = RepeatVectorLayer<S>(count: try c.int("count", in: sizes))
    case "time_distributed":
      let inner = try ModelArchitecture.makeLayer(try c.spec("layer"), as: S.self, path: "\(path).layer")
      layer = TimeDistributedLayer<S>(inner)
    default:
      return nil
    }
    try c.finish()
    return layer
  }

  /// A recurrent layer of `kind` whose cell type the caller fixes.
  static func recurrent<Cell: RecurrentCell, S: TensorScalar>(
    _ kind: String, _ c: inout LayerConfigReader, as _: S.Type = S.self
  ) throws -> RNN<Cell, S> {
    let resetAfter = kind == "gru" ? try c.bool("resetAfter", default: true) : true
    let cell: any RecurrentCell =
      switch kind {
      case "lstm": LSTMCell()
      case "gru": GRUCell(resetAfter: resetAfter)
      case "rnn_relu": SimpleRNNCell(activation: .relu)
      default: SimpleRNNCell(activation: .tanh)
      }
    guard let typed = cell as? Cell else {
      throw RecurrentError.invalidData("\(c.path): a \(kind) layer cannot be used here")
    }
    let rate: (Double) -> Bool = { $0 >= 0 && $0 < 1 }
    return RNN<Cell, S>(
      typed, units: try c.int("units", in: sizes), returnSequences: try c.bool("returnSequences", default: false),
      goBackwards: try c.bool("goBackwards", default: false),
      dropout: try c.double("dropout", default: 0, expected: "a rate in [0, 1)", where: rate),
      recurrentDropout: try c.double("recurrentDropout", default: 0, expected: "a rate in [0, 1)", where: rate),
      stateful: try c.bool("stateful", default: false),
      trainableInitialState: try c.bool("trainableInitialState", default: false))
  }

  /// Any built-in recurrent kind, cell chosen by `kind`.
  static func anyRecurrent<S: TensorScalar>(_ kind: String, _ c: inout LayerConfigReader, as _: S.Type) throws -> any Layer<S> {
    switch kind {
    case "lstm": return try recurrent(kind, &c) as RNN<LSTMCell, S>
    case "gru": return try recurrent(kind, &c) as RNN<GRUCell, S>
    default: return try recurrent(kind, &c) as RNN<SimpleRNNCell, S>
    }
  }

  /// Adds the parameters a built-in layer registers for `input` (no batch axis) under `name`
  /// to `plan` and returns its output shape; nil if unknown or the shapes do not fit.
  static func plan(_ spec: LayerSpec, input s: [Int], name: String, into plan: inout [String: [Int]]) -> [Int]? {
    func int(_ key: String, _ d: Int? = nil) -> Int? {
      guard let v = spec.config[key] else { return d }
      guard let i = v.int, sizes.contains(i) else { return nil }
      return i
    }
    func bool(_ key: String, _ d: Bool) -> Bool { spec.config[key]?.bool ?? d }
    func mul(_ a: Int, _ b: Int) -> Int? {
      let (p, o) = a.multipliedReportingOverflow(by: b)
      return o ? nil : p
    }
    switch spec.kind {
    case "rnn", "rnn_relu", "lstm", "gru":
      return recurrentPlan(spec, input: s, name: name, suffix: "", into: &plan)
    case "bidirectional":
      guard let inner = spec.config["layer"], let innerSpec = try? LayerSpec(json: inner, path: ""),
        recurrentKinds.contains(innerSpec.kind),
        var out = recurrentPlan(innerSpec, input: s, name: name, suffix: "", into: &plan),
        recurrentPlan(innerSpec, input: s, name: name, suffix: "_reverse", into: &plan) != nil
      else { return nil }
      if (spec.config["mergeMode"]?.string ?? "concat") == "concat" { out[out.count - 1] *= 2 }
      return out
    case "dense":
      guard let units = int("units"), let features = s.last, features > 0 else { return nil }
      plan["\(name).weight"] = [units, features]
      if bool("useBias", true) { plan["\(name).bias"] = [units] }
      return s.dropLast() + [units]
    case "embedding":
      guard s.count == 1, let v = int("vocabularySize"), let d = int("dimension") else { return nil }
      plan["\(name).weight"] = [v, d]
      return [s[0], d]
    case "conv1d":
      guard s.count == 2, let f = int("filters"), let k = int("kernelSize"), let stride = int("strides", 1),
        let dilation = int("dilation", 1), let window = mul(k - 1, dilation).map({ $0 + 1 }),
        let padding = Padding1D(rawValue: spec.config["padding"]?.string ?? "valid")
      else { return nil }
      let out = padding.geometry(length: s[0], window: window, stride: stride).outputLength
      guard out > 0 else { return nil }
      plan["\(name).weight"] = [f, s[1], k]
      if bool("useBias", true) { plan["\(name).bias"] = [f] }
      return [out, f]
    case "max_pooling1d":
      guard s.count == 2, let pool = int("poolSize", 2), let stride = int("strides", pool),
        let padding = Padding1D(rawValue: spec.config["padding"]?.string ?? "valid")
      else { return nil }
      let out = padding.geometry(length: s[0], window: pool, stride: stride).outputLength
      return out > 0 ? [out, s[1]] : nil
    case "global_average_pooling1d", "global_max_pooling1d":
      return s.count == 2 ? [s[1]] : nil
    case "layer_normalization":
      guard let f = s.last else { return nil }
      plan["\(name).weight"] = [f]
      plan["\(name).bias"] = [f]
      return s
    case "flatten":
      // An overflowing product is reported by the caller's size check.
      return [s.reduce(1 as Int?) { p, d in p.flatMap { mul($0, d) } } ?? Int.max]
    case "repeat_vector":
      guard s.count == 1, let n = int("count") else { return nil }
      return [n, s[0]]
    case "dropout":
      return s
    case "time_distributed":
      guard s.count >= 2, let inner = spec.config["layer"], let innerSpec = try? LayerSpec(json: inner, path: ""),
        let out = self.plan(innerSpec, input: Array(s.dropFirst()), name: name, into: &plan)
      else { return nil }
      return [s[0]] + out
    default:
      return nil
    }
  }

  static func recurrentPlan(
    _ spec: LayerSpec, input s: [Int], name: String, suffix: String, into plan: inout [String: [Int]]
  ) -> [Int]? {
    guard s.count == 2, let v = spec.config["units"], let h = v.int, sizes.contains(h) else { return nil }
    let g = spec.kind == "lstm" ? 4 : spec.kind == "gru" ? 3 : 1
    plan["\(name).weight_ih\(suffix)"] = [g * h, s[1]]
    plan["\(name).weight_hh\(suffix)"] = [g * h, h]
    plan["\(name).bias_ih\(suffix)"] = [g * h]
    plan["\(name).bias_hh\(suffix)"] = [g * h]
    if spec.config["trainableInitialState"]?.bool == true {
      plan["\(name).h0\(suffix)"] = [h]
      if spec.kind == "lstm" { plan["\(name).c0\(suffix)"] = [h] }
    }
    return spec.config["returnSequences"]?.bool == true ? [s[0], h] : [h]
  }
}
