import Foundation

/// Reads Keras weights dumped by `Scripts/keras_to_safetensors.py` as importable modules.
///
/// Tensors are named `<layer name>/<variable path inside the layer>` (`lstm/lstm_cell/kernel`,
/// `bidirectional/backward_gru/gru_cell/bias`, `dense/kernel`); the module is the name without
/// the variable, a trailing `*_cell` and a `forward_*` / `backward_*` direction. `__metadata__["keras_layers"]` (written by the script) lists the
/// layers in model order with their class, config and weight paths: it fixes the order and
/// lets the loader check activations, directions and GRU `reset_after`.
///
/// Conversions (G gates, H units, I inputs; docs/interop.md):
///
///     kernel [I, G*H]            -> weight_ih [G*H, I]    transposed; GRU blocks z|r|h -> r|z|n
///     recurrent_kernel [H, G*H]  -> weight_hh [G*H, H]    the same
///     bias [G*H] (SimpleRNN, LSTM) -> bias_ih; bias_hh = 0  (LSTM i|f|c|o is our i|f|g|o)
///     bias [2, 3H] (GRU)         -> bias_ih = row 0, bias_hh = row 1, blocks z|r|h -> r|z|n
///     bias [3H] (GRU reset_after=False) -> bias_ih, blocks z|r|h -> r|z|n; bias_hh = 0
///                                   (loads into GRU(units:, resetAfter: false) only)
///     Dense kernel [in, out]     -> weight [out, in];  Embedding embeddings -> weight
///     Conv1D kernel [k, in, out] -> weight [out, in, k];  LayerNormalization gamma, beta -> weight, bias
enum KerasImport {
  /// Keras GRU z|r|h -> our r|z|n: our block b is Keras block `gruBlocks[b]`.
  static let gruBlocks = [1, 0, 2]

  /// A layer entry of `__metadata__["keras_layers"]`.
  struct LayerInfo {
    var name: String
    var className: String
    var config: JSONObject
    var weights: [String]
  }

  /// The layers listed in the file's metadata, or nil when it has none.
  static func layerInfo(_ file: SafetensorsFile) throws -> [LayerInfo]? {
    guard let text = file.metadata["keras_layers"] else { return nil }
    func bad(_ s: String) -> RecurrentError { .invalidData("\(file.source): __metadata__[\"keras_layers\"]: \(s)") }
    let value: JSONValue
    do { value = try JSONValue.parse(text) } catch { throw bad("not valid JSON: \(error)") }
    guard let list = value.array else { throw bad("expected a JSON array of layers") }
    return try list.enumerated().map { i, item in
      guard let o = item.object, let name = o["name"]?.string, let cls = o["class"]?.string,
        let config = o["config"]?.object, let weights = o["weights"]?.array?.compactMap(\.string)
      else { throw bad("entry \(i) must be {\"name\", \"class\", \"config\", \"weights\"}") }
      return LayerInfo(name: name, className: cls, config: config, weights: weights)
    }
  }

  /// `bidirectional/forward_gru/gru_cell/kernel` -> ("bidirectional", "forward", "kernel").
  static func split(_ path: String) -> (module: String, direction: String, leaf: String) {
    var parts = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
    let leaf = parts.removeLast()
    if let last = parts.last, last.hasSuffix("_cell") { parts.removeLast() }
    var direction = ""
    if let last = parts.last, last.hasPrefix("forward_") || last.hasPrefix("backward_") {
      direction = last.hasPrefix("forward_") ? "forward" : "backward"
      parts.removeLast()
    }
    return (parts.joined(separator: "/"), direction, leaf)
  }

  static func modules(of file: SafetensorsFile) throws -> (modules: [ImportedModule], order: [String]?) {
    let infos = try layerInfo(file)
    var order = [String]()
    var grouped = [String: [(direction: String, leaf: String, tensor: String)]]()
    for name in file.names.sorted() {
      let (module, direction, leaf) = split(name)
      if grouped[module] == nil { order.append(module) }
      grouped[module, default: []].append((direction, leaf, name))
    }
    var infoByModule = [String: LayerInfo]()
    var layerOrder: [String]?
    if let infos {
      layerOrder = []
      for info in infos where !info.weights.isEmpty {
        let names = Set(info.weights.map { split($0).module })
        guard names.count == 1, let module = names.first, grouped[module] != nil else {
          throw RecurrentError.invalidData(
            "\(file.source): keras layer '\(info.name)' lists weights \(info.weights) that are not one module of the file")
        }
        infoByModule[module] = info
        layerOrder!.append(module)
      }
    }
    let modules = try order.map { try module($0, grouped[$0]!, info: infoByModule[$0], file: file) }
    return (modules, layerOrder)
  }

  static func module(
    _ name: String, _ items: [(direction: String, leaf: String, tensor: String)], info: LayerInfo?, file: SafetensorsFile
  ) throws -> ImportedModule {
    func bad(_ s: String) -> RecurrentError { .invalidData("\(file.source): \(s)") }
    let tensors = items.map(\.tensor)
    let label = info.map { "Keras \($0.className) '\($0.name)'" } ?? "Keras layer '\(name)'"
    guard items.contains(where: { $0.leaf == "recurrent_kernel" }) else {
      return try plainModule(name, items, info: info, label: label, file: file)
    }
    // Recurrent: the class from the metadata (the wrapped one for Bidirectional), else from the gate count.
    var cellInfo = info
    var mergeMode: String?
    if let info, info.className == "Bidirectional" {
      let inner = info.config["layer"]?.object
      cellInfo = LayerInfo(
        name: info.name, className: inner?["class_name"]?.string ?? "?", config: inner?["config"]?.object ?? [:], weights: [])
      mergeMode = info.config["merge_mode"]?.string
    }
    let directions = Set(items.map(\.direction))
    let bidirectional = directions.contains("forward") || directions.contains("backward")
    func tensor(_ direction: String, _ leaf: String) -> String? {
      items.first { $0.direction == direction && $0.leaf == leaf }?.tensor
    }
    let firstDirection = bidirectional ? "forward" : ""
    guard let recurrentKernel = tensor(firstDirection, "recurrent_kernel"), let rk = file[recurrentKernel]?.shape, rk.count == 2,
      rk[0] > 0, rk[1] % rk[0] == 0, [1, 3, 4].contains(rk[1] / rk[0])
    else {
      throw bad("\(label): expected a recurrent_kernel [H, G*H] with G = 1, 3 or 4 in \(tensors)")
    }
    let gates = rk[1] / rk[0]
    let className = cellInfo?.className ?? ["SimpleRNN", "", "GRU", "LSTM"][gates - 1]
    let expectedGates = ["SimpleRNN": 1, "GRU": 3, "LSTM": 4][className]
    guard expectedGates == gates else {
      throw bad("\(label): a \(className) layer cannot be loaded (expected SimpleRNN, LSTM or GRU with a matching recurrent_kernel)")
    }
    var cell: String? = className == "LSTM" ? "lstm" : className == "GRU" ? "gru" : nil
    if let config = cellInfo?.config {
      let activation = config["activation"]?.string ?? "tanh"
      if className == "SimpleRNN" {
        guard activation == "tanh" || activation == "relu" else {
          throw bad("\(label): activation \"\(activation)\" is not supported (SimpleRNN: tanh or relu)")
        }
        cell = activation == "tanh" ? "rnn" : "rnn_relu"
      } else {
        let recurrentActivation = config["recurrent_activation"]?.string ?? "sigmoid"
        guard activation == "tanh", recurrentActivation == "sigmoid" else {
          throw bad(
            "\(label): activation \"\(activation)\" / recurrent_activation \"\(recurrentActivation)\" are not supported "
              + "(Recurrent's \(className) uses tanh and sigmoid)")
        }
      }
    }
    // The GRU form: the recorded reset_after (Keras 3 defaults to True), else the bias shape
    // ([3H] reset-before, [2, 3H] reset-after), else unknown (use_bias=False without metadata).
    var gruResetAfter: Bool?
    if gates == 3 {
      if let config = cellInfo?.config {
        gruResetAfter = config["reset_after"]?.bool ?? true
      } else if let bias = tensor(firstDirection, "bias"), let shape = file[bias]?.shape {
        gruResetAfter = shape.count != 1
      }
    }
    var level = [String: ImportedModule.Source]()
    for (direction, suffix) in bidirectional ? [("forward", ""), ("backward", "_reverse")] : [("", "")] {
      let path = "\(name)/\(direction.isEmpty ? "" : "\(direction)_*/")"
      let blocks = gates == 3 ? gruBlocks : Array(0..<gates)
      for (ours, leaf) in [("weight_ih", "kernel"), ("weight_hh", "recurrent_kernel")] {
        let t = tensor(direction, leaf)
        level[ours + suffix] = .init(
          tensor: t ?? "\(path)\(leaf)", fileShape: t.flatMap { file[$0]?.shape }, expectedFileShape: { [$0[1], $0[0]] },
          convert: { v, shape in WeightImport.permuteBlocks(WeightImport.transpose(v, rows: shape[1], columns: shape[0]), blocks: blocks) })
      }
      let bias = tensor(direction, "bias")
      let biasShape = bias.flatMap { file[$0]?.shape }
      if gates == 3, gruResetAfter == false {
        // reset_after=False keeps one bias [3H]: it is bias_ih, and bias_hh is zero.
        level["bias_ih" + suffix] = .init(
          tensor: bias ?? "\(path)bias", fileShape: biasShape, zeroWhenAbsent: bias == nil,
          convert: { v, _ in WeightImport.permuteBlocks(v, blocks: blocks) })
        level["bias_hh" + suffix] = .init(tensor: "(Keras keeps one bias; bias_hh is zero)", fileShape: nil, zeroWhenAbsent: true)
      } else if gates == 3 {
        for (row, ours) in ["bias_ih", "bias_hh"].enumerated() {
          level[ours + suffix] = .init(
            tensor: bias ?? "\(path)bias", fileShape: biasShape, zeroWhenAbsent: bias == nil, expectedFileShape: { [2, $0[0]] },
            convert: { v, shape in WeightImport.permuteBlocks(Array(v[(row * shape[0])..<((row + 1) * shape[0])]), blocks: blocks) })
        }
      } else {
        level["bias_ih" + suffix] = .init(tensor: bias ?? "\(path)bias", fileShape: biasShape, zeroWhenAbsent: bias == nil)
        level["bias_hh" + suffix] = .init(tensor: "(Keras keeps one bias; bias_hh is zero)", fileShape: nil, zeroWhenAbsent: true)
      }
    }
    if let other = items.first(where: { !["kernel", "recurrent_kernel", "bias"].contains($0.leaf) }) {
      throw bad("\(label): tensor '\(other.tensor)' is not a kernel, recurrent_kernel or bias")
    }
    let config = cellInfo?.config
    return ImportedModule(
      name: name, kind: .recurrent(gates: gates, bidirectional: bidirectional, cell: cell), levels: [level], fileTensors: tensors,
      configurationCheck: { target in
        if let goBackwards = config?["go_backwards"]?.bool, goBackwards != (target.recurrentConfig["goBackwards"]?.bool ?? false) {
          return "\(label) has go_backwards=\(goBackwards ? "True" : "False"); \(target.label) differs"
        }
        if let mergeMode {
          let ours = target.spec.config["mergeMode"]?.string ?? "concat"
          if (mergeMode == "ave" ? "average" : mergeMode) != ours {
            return "\(label) merges the directions with \(mergeMode); \(target.label) with \(ours)"
          }
        }
        return nil
      },
      gruResetAfter: gruResetAfter)
  }

  static func plainModule(
    _ name: String, _ items: [(direction: String, leaf: String, tensor: String)], info: LayerInfo?, label: String,
    file: SafetensorsFile
  ) throws -> ImportedModule {
    var level = [String: ImportedModule.Source]()
    for (_, leaf, tensor) in items {
      let shape = file[tensor]!.shape
      switch leaf {
      case "kernel" where shape.count == 2:  // Dense [in, out] -> [out, in]
        level["weight"] = .init(
          tensor: tensor, fileShape: shape, expectedFileShape: { [$0[1], $0[0]] },
          convert: { v, s in WeightImport.transpose(v, rows: s[1], columns: s[0]) })
      case "kernel" where shape.count == 3:  // Conv1D [k, in, out] -> [out, in, k]
        level["weight"] = .init(
          tensor: tensor, fileShape: shape, expectedFileShape: { [$0[2], $0[1], $0[0]] },
          convert: { v, s in
            let (o, i, k) = (s[0], s[1], s[2])
            var out = [Double](repeating: 0, count: v.count)
            for a in 0..<o { for b in 0..<i { for c in 0..<k { out[(a * i + b) * k + c] = v[(c * i + b) * o + a] } } }
            return out
          })
      case "embeddings", "gamma": level["weight"] = .init(tensor: tensor, fileShape: shape)
      case "bias", "beta": level["bias"] = .init(tensor: tensor, fileShape: shape)
      default:
        throw RecurrentError.invalidData(
          "\(file.source): \(label): tensor '\(tensor)' \(shape) is not supported "
            + "(Dense, Embedding, Conv1D, LayerNormalization, SimpleRNN, LSTM, GRU and Bidirectional load)")
      }
    }
    let activation = (info?.className == "TimeDistributed" ? info?.config["layer"]?.object?["config"]?.object : info?.config)?["activation"]?.string
    return ImportedModule(
      name: name, kind: .plain, levels: [level], fileTensors: items.map(\.tensor),
      configurationCheck: { target in
        let ours = target.spec.kind == "time_distributed" ? target.spec.config["layer"]?.object?["config"]?.object : target.spec.config
        if let activation, let mine = ours?["activation"]?.string, activation != mine {
          return "\(label) has activation \(activation); \(target.label) has \(mine)"
        }
        return nil
      })
  }
}

extension Sequential {
  /// Loads Keras weights written by `Scripts/keras_to_safetensors.py` (tensors named by their
  /// Keras paths, converted as `KerasImport` describes) into this model, which must have the
  /// same structure: a Keras `LSTM(16, return_sequences=True)` is `LSTM(units: 16,
  /// returnSequences: true)` here, and so on.
  ///
  ///     try model.loadKerasWeights(from: "keras.safetensors")
  ///
  /// The layer order comes from the file's `keras_layers` metadata; `mapping` (module names such
  /// as `lstm`, `bidirectional`) overrides it, and without either each layer takes the one module
  /// that fits. Keras's single LSTM / SimpleRNN bias becomes `bias_ih` with `bias_hh` zero; a GRU
  /// with `reset_after=False` loads into `GRU(units:, resetAfter: false)` the same way, and one
  /// with `reset_after=True` (two biases) into a default `GRU`. Every tensor and the recorded activations, directions and
  /// merge modes are checked before any weight changes; problems throw `invalidData` naming
  /// the tensor and the expected shape.
  @discardableResult
  public func loadKerasWeights(from url: URL, mapping: [String]? = nil) throws -> [ImportedLayer] {
    let file = try SafetensorsFile(contentsOf: url)
    let (modules, order) = try KerasImport.modules(of: file)
    return try WeightImport.load(modules, into: self, mapping: mapping ?? order, file: file, framework: "Keras")
  }

  @discardableResult
  public func loadKerasWeights(from path: String, mapping: [String]? = nil) throws -> [ImportedLayer] {
    try loadKerasWeights(from: URL(fileURLWithPath: path), mapping: mapping)
  }
}
