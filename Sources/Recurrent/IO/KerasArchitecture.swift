import Foundation

extension KerasImport {
  /// The architecture recorded by `Scripts/keras_to_safetensors.py` (`__metadata__` keys
  /// `input_shape` and `keras_layers`) in Recurrent's terms. Supported Keras classes: SimpleRNN,
  /// LSTM, GRU (either reset_after), Bidirectional, Dense, Embedding, Dropout, TimeDistributed,
  /// Conv1D, MaxPooling1D, GlobalAveragePooling1D, GlobalMaxPooling1D, LayerNormalization,
  /// Flatten, RepeatVector (InputLayer is skipped). A `None` number of steps becomes 1 (any
  /// length runs at prediction time).
  static func architecture(_ file: SafetensorsFile, seed: UInt64 = 0) throws -> ModelArchitecture {
    func bad(_ s: String) -> RecurrentError { .invalidData("\(file.source): \(s)") }
    guard let infos = try layerInfo(file) else {
      throw bad("no \"keras_layers\" in __metadata__: write the file with Scripts/keras_to_safetensors.py, or give the layers")
    }
    guard let text = file.metadata["input_shape"], let dims = (try? JSONValue.parse(text))?.array, (1...4).contains(dims.count)
    else { throw bad("__metadata__[\"input_shape\"] must be a JSON array such as [null, 8] (the Keras input shape without the batch)") }
    let shape = try dims.enumerated().map { i, d -> Int in
      if d.isNull && i == 0 { return 1 }
      guard let v = d.int, v >= 1 else { throw bad("__metadata__[\"input_shape\"] \(text): dimensions must be positive integers") }
      return v
    }
    let specs = try infos.compactMap { try spec($0.className, $0.config, label: "Keras \($0.className) '\($0.name)'", source: file.source) }
    guard !specs.isEmpty else { throw bad("keras_layers lists no layers") }
    return ModelArchitecture(inputShape: shape, seed: seed, layers: specs)
  }

  static func spec(_ className: String, _ c: JSONObject, label: String, source: String) throws -> LayerSpec? {
    func bad(_ s: String) -> RecurrentError { .invalidData("\(source): \(label): \(s)") }
    func int(_ key: String) throws -> Int {
      if let v = c[key]?.int { return v }
      if let v = c[key]?.array?.first?.int { return v }  // Keras keeps 1-D sizes as [k]
      throw bad("config \"\(key)\" must be an integer, got \(c[key]?.description ?? "nothing")")
    }
    func activation(_ key: String = "activation") throws -> String {
      let a = c[key]?.string ?? "linear"
      guard ActivationFunction(rawValue: a) != nil else { throw bad("activation \"\(a)\" is not supported") }
      return a
    }
    func number(_ key: String, _ d: Double) -> JSONValue { .double(c[key]?.double ?? d) }
    func bool(_ key: String, _ d: Bool) -> JSONValue { .bool(c[key]?.bool ?? d) }
    switch className {
    case "InputLayer":
      return nil
    case "SimpleRNN", "LSTM", "GRU":
      var kind = className == "LSTM" ? "lstm" : className == "GRU" ? "gru" : "rnn"
      if className == "SimpleRNN" {
        let a = c["activation"]?.string ?? "tanh"
        guard a == "tanh" || a == "relu" else { throw bad("activation \"\(a)\" is not supported (SimpleRNN: tanh or relu)") }
        if a == "relu" { kind = "rnn_relu" }
      }
      var config: JSONObject = [
        "units": .int(try int("units")), "returnSequences": bool("return_sequences", false),
        "goBackwards": bool("go_backwards", false), "dropout": number("dropout", 0),
        "recurrentDropout": number("recurrent_dropout", 0), "stateful": bool("stateful", false),
      ]
      if className == "GRU" { config["resetAfter"] = bool("reset_after", true) }  // False: GRU(units:, resetAfter: false)
      return LayerSpec(kind: kind, config: config)
    case "Bidirectional":
      guard let inner = c["layer"]?.object, let innerClass = inner["class_name"]?.string, let innerConfig = inner["config"]?.object
      else { throw bad("config \"layer\" must be {\"class_name\", \"config\"}") }
      let mode = c["merge_mode"]?.string
      let modes = ["concat": "concat", "sum": "sum", "mul": "mul", "ave": "average"]
      guard let mode, let ours = modes[mode] else {
        throw bad("merge_mode \(c["merge_mode"]?.description ?? "None") is not supported (concat, sum, mul, ave)")
      }
      guard let layer = try spec(innerClass, innerConfig, label: label, source: source) else { throw bad("nothing to wrap") }
      return LayerSpec(kind: "bidirectional", config: ["mergeMode": .string(ours), "layer": layer.json])
    case "Dense":
      return LayerSpec(
        kind: "dense", config: ["units": .int(try int("units")), "activation": .string(try activation()), "useBias": bool("use_bias", true)])
    case "Embedding":
      return LayerSpec(
        kind: "embedding",
        config: [
          "vocabularySize": .int(try int("input_dim")), "dimension": .int(try int("output_dim")),
          "maskIndex": c["mask_zero"]?.bool == true ? .int(0) : .null,
        ])
    case "Dropout":
      return LayerSpec(kind: "dropout", config: ["rate": number("rate", 0)])
    case "TimeDistributed":
      guard let inner = c["layer"]?.object, let innerClass = inner["class_name"]?.string, let innerConfig = inner["config"]?.object,
        let layer = try spec(innerClass, innerConfig, label: label, source: source)
      else { throw bad("config \"layer\" must be {\"class_name\", \"config\"}") }
      return LayerSpec(kind: "time_distributed", config: ["layer": layer.json])
    case "Conv1D":
      return LayerSpec(
        kind: "conv1d",
        config: [
          "filters": .int(try int("filters")), "kernelSize": .int(try int("kernel_size")), "strides": .int(try int("strides")),
          "padding": .string(c["padding"]?.string ?? "valid"), "dilation": .int(try int("dilation_rate")),
          "activation": .string(try activation()), "useBias": bool("use_bias", true),
        ])
    case "MaxPooling1D":
      return LayerSpec(
        kind: "max_pooling1d",
        config: [
          "poolSize": .int(try int("pool_size")), "strides": .int(try int("strides")), "padding": .string(c["padding"]?.string ?? "valid"),
        ])
    case "GlobalAveragePooling1D": return LayerSpec(kind: "global_average_pooling1d")
    case "GlobalMaxPooling1D": return LayerSpec(kind: "global_max_pooling1d")
    case "Flatten": return LayerSpec(kind: "flatten")
    case "RepeatVector": return LayerSpec(kind: "repeat_vector", config: ["count": .int(try int("n"))])
    case "LayerNormalization":
      guard c["center"]?.bool != false, c["scale"]?.bool != false else { throw bad("center=False or scale=False is not supported") }
      return LayerSpec(kind: "layer_normalization", config: ["epsilon": number("epsilon", 1e-3)])
    default:
      throw bad("the Keras class \(className) is not supported")
    }
  }
}

extension ModelArchitecture {
  /// The architecture recorded in a file written by `Scripts/keras_to_safetensors.py` (see
  /// `Sequential.loadKeras`); throws `invalidData` naming an unsupported class or option.
  public init(kerasWeights url: URL, seed: UInt64 = 0) throws {
    self = try KerasImport.architecture(try SafetensorsFile(contentsOf: url), seed: seed)
  }
}

extension Sequential {
  /// A new model built from a file written by `Scripts/keras_to_safetensors.py`: the
  /// architecture from its `keras_layers` metadata (`KerasImport.architecture`) and the weights
  /// converted as `loadKerasWeights` does.
  ///
  ///     let model = try Sequential<Float>.loadKeras(from: "keras.safetensors")
  public static func loadKeras(from url: URL, seed: UInt64 = 0) throws -> Sequential<Scalar> {
    let file = try SafetensorsFile(contentsOf: url)
    let model: Sequential<Scalar> = try KerasImport.architecture(file, seed: seed).makeModel(source: file.source)
    let (modules, order) = try KerasImport.modules(of: file)
    try WeightImport.load(modules, into: model, mapping: order, file: file, framework: "Keras")
    return model
  }

  public static func loadKeras(from path: String, seed: UInt64 = 0) throws -> Sequential<Scalar> {
    try loadKeras(from: URL(fileURLWithPath: path), seed: seed)
  }
}
