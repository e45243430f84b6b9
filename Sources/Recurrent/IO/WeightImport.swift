import Foundation

/// Weights of another framework's module (a PyTorch submodule, a Keras layer), described in
/// Recurrent's terms: for each stacked level (the `_l<k>` layers of one PyTorch `nn.LSTM`; one
/// level otherwise), our parameter name (`weight_ih`, `bias_hh_reverse`, `weight`, ...) and
/// where its values come from in the file. `PyTorchImport` and `KerasImport` build them;
/// `WeightImport.load` assigns them to a model's layers, checks every shape and copies the
/// converted values.
struct ImportedModule {
  /// Where one of our parameters comes from.
  struct Source {
    /// The file's tensor name, or a description of the absent one.
    var tensor: String
    /// The tensor's shape in the file; nil when the file does not have it.
    var fileShape: [Int]?
    /// An absent tensor is zeros (a bias the source framework does not keep) rather than missing.
    var zeroWhenAbsent = false
    /// The file shape that our parameter shape corresponds to (identity unless transposed).
    var expectedFileShape: @Sendable ([Int]) -> [Int] = { $0 }
    /// Our values (row-major, `shape`) from the file tensor's values.
    var convert: @Sendable (_ values: [Double], _ shape: [Int]) -> [Double] = { v, _ in v }
  }

  enum Kind: Equatable {
    /// A recurrent module: gate count (1, 3, 4), both directions or one, and the cell when the
    /// source says it ("rnn", "rnn_relu", "lstm", "gru"; nil for PyTorch's nn.RNN, whose
    /// nonlinearity is not in the state_dict).
    case recurrent(gates: Int, bidirectional: Bool, cell: String?)
    /// Any other layer with weights (Linear / Dense, Embedding, Conv1d, LayerNorm).
    case plain
  }

  /// The module's name in the file (`rnn`, `encoder.gru`, Keras `lstm`); "" for a bare PyTorch module.
  var name: String
  var kind: Kind
  /// Per stacked level: our local parameter name -> its source.
  var levels: [[String: Source]]
  /// Every file tensor of this module (for "extra tensors" messages).
  var fileTensors: [String]
  /// A check of the target layer's configuration beyond the weights (activation, merge mode,
  /// direction); returns what differs, or nil.
  var configurationCheck: ((ImportTarget) -> String?)? = nil
  /// For a GRU: true for the reset-after form (PyTorch, Keras `reset_after=True`), false for
  /// reset-before (Keras `reset_after=False`), nil when the file cannot say (no metadata, no bias).
  var gruResetAfter: Bool? = nil

  var displayName: String { name.isEmpty ? "(top level)" : "'\(name)'" }
}

/// One layer of the model that has weights, as the importer sees it.
struct ImportTarget {
  let index: Int
  let spec: LayerSpec
  /// Our local parameter name (without `layers.<i>.`) -> shape.
  let parameters: [String: [Int]]
  /// The recurrent kind ("rnn", "rnn_relu", "lstm", "gru"; the wrapped one for bidirectional), nil otherwise.
  let recurrentKind: String?
  let bidirectional: Bool

  var gates: Int { recurrentKind == "lstm" ? 4 : recurrentKind == "gru" ? 3 : 1 }
  var label: String { "layers.\(index) (\(bidirectional ? "bidirectional " : "")\(recurrentKind ?? spec.kind))" }
  /// The recurrent layer's config (the wrapped layer's for bidirectional).
  var recurrentConfig: JSONObject {
    if bidirectional, let inner = spec.config["layer"]?.object?["config"]?.object { return inner }
    return spec.config
  }
}

/// Where an imported layer's weights came from: the source module (its name in the file; ""
/// for a bare PyTorch module), the stacked level within it (`_l<level>` in PyTorch), and the
/// file tensors it read.
public struct ImportedLayer: Sendable, Equatable {
  /// The model's layer index (`layers.<layer>`).
  public let layer: Int
  public let module: String
  public let level: Int
  public let tensors: [String]
}

/// Assigns imported modules to a model's layers and loads them (shared by the PyTorch and
/// Keras importers).
enum WeightImport {
  /// The model's layers with parameters, in order. The model must be built.
  static func targets<S: TensorScalar>(of model: Sequential<S>) throws -> [ImportTarget] {
    let architecture = try ModelArchitecture(of: model)
    var byLayer = [Int: [String: [Int]]]()
    for p in model.store.parameters {
      let parts = p.name.split(separator: ".", maxSplits: 2)
      guard parts.count == 3, parts[0] == "layers", let i = Int(parts[1]) else { continue }
      byLayer[i, default: [:]][String(parts[2])] = p.shape
    }
    return architecture.layers.enumerated().compactMap { i, spec in
      guard let parameters = byLayer[i] else { return nil }
      var kind: String? = BuiltinLayers.recurrentKinds.contains(spec.kind) ? spec.kind : nil
      let bidirectional = spec.kind == "bidirectional"
      if bidirectional { kind = spec.config["layer"]?.object?["kind"]?.string }
      return ImportTarget(index: i, spec: spec, parameters: parameters, recurrentKind: kind, bidirectional: bidirectional)
    }
  }

  /// What keeps `module`'s level `level` from loading into `target`, or nil if it fits.
  static func mismatch(_ module: ImportedModule, level: Int, _ target: ImportTarget) -> String? {
    let what = module.displayName
    switch module.kind {
    case .plain:
      if target.recurrentKind != nil { return "\(what) is not a recurrent module; \(target.label) is recurrent" }
    case let .recurrent(gates, bidirectional, cell):
      guard target.recurrentKind != nil else {
        return "\(what)\(level > 0 ? " level \(level)" : "") is a recurrent module; \(target.label) is not recurrent"
      }
      if gates != target.gates {
        let name = [1: "an RNN", 3: "a GRU", 4: "an LSTM"][gates] ?? "a \(gates)-gate"
        return "\(what) is \(name) (\(gates) gate\(gates > 1 ? "s" : "")); \(target.label) has \(target.gates)"
      }
      if bidirectional != target.bidirectional {
        return "\(what) is \(bidirectional ? "bidirectional" : "one-directional"); \(target.label) is "
          + (target.bidirectional ? "bidirectional" : "not")
      }
      if let cell, cell != target.recurrentKind {
        return "\(what) is \(cell); \(target.label) is \(target.recurrentKind!)"
      }
      // The two GRU forms run the same weights through different equations: they must agree.
      if target.recurrentKind == "gru", let resetAfter = module.gruResetAfter,
        resetAfter != (target.recurrentConfig["resetAfter"]?.bool ?? true)
      {
        return resetAfter
          ? "\(what) is a reset-after GRU (PyTorch, Keras reset_after=True); \(target.label) is reset-before (resetAfter: false)"
          : "\(what) is a reset-before GRU (Keras reset_after=False); \(target.label) is reset-after: "
            + "build it with GRU(units:, resetAfter: false)"
      }
      if target.recurrentConfig["trainableInitialState"]?.bool == true {
        return "\(target.label) has a trainable initial state, which \(what) does not have"
      }
    }
    let sources = module.levels[level]
    for (local, shape) in target.parameters.sorted(by: { order($0.key) < order($1.key) }) {
      guard let source = sources[local] else {
        return "\(what)\(module.levels.count > 1 ? " level \(level)" : "") has nothing for layers.\(target.index).\(local) \(shape)"
      }
      let expected = source.expectedFileShape(shape)
      guard let fileShape = source.fileShape else {
        if source.zeroWhenAbsent { continue }
        return "missing tensor '\(source.tensor)' \(expected) for layers.\(target.index).\(local) \(shape)"
      }
      if fileShape != expected {
        return "tensor '\(source.tensor)' has shape \(fileShape); layers.\(target.index).\(local) \(shape) needs \(expected)"
      }
    }
    for (local, source) in sources.sorted(by: { order($0.key) < order($1.key) })
    where target.parameters[local] == nil && source.fileShape != nil {
      return "tensor '\(source.tensor)' \(source.fileShape!) has no place in \(target.label) (it has no \(local))"
    }
    return module.configurationCheck?(target)
  }

  /// Sorts parameter names as PyTorch lists them (weight_ih, weight_hh, bias_ih, bias_hh, the
  /// reverse direction after), so the first problem reported is the most telling.
  static func order(_ local: String) -> String {
    let ranks = ["weight_ih": "0", "weight_hh": "1", "bias_ih": "2", "bias_hh": "3", "weight": "4", "bias": "5"]
    let reverse = local.hasSuffix("_reverse")
    let base = reverse ? String(local.dropLast("_reverse".count)) : local
    return (reverse ? "1" : "0") + (ranks[base] ?? "9") + base
  }

  /// `mismatch` over every level of `module` placed at `targets[position...]`.
  static func mismatch(_ module: ImportedModule, at position: Int, in targets: [ImportTarget]) -> String? {
    let n = module.levels.count
    guard position + n <= targets.count else {
      return "\(module.displayName) has \(n) stacked layers; the model has only \(targets.count - position) layer(s) with weights left "
        + "from \(targets[position].label)"
    }
    for k in 0..<n {
      if let problem = mismatch(module, level: k, targets[position + k]) { return problem }
    }
    return nil
  }

  /// Loads `modules` into `model`: in the order of `mapping` (module names) when given, else
  /// each layer takes the one module that fits it. Checks everything before changing any weight.
  @discardableResult
  static func load<S: TensorScalar>(
    _ modules: [ImportedModule], into model: Sequential<S>, mapping: [String]?, file: SafetensorsFile, framework: String
  ) throws -> [ImportedLayer] {
    let source = file.source
    func bad(_ s: String) -> RecurrentError { .invalidData("\(source): \(s)") }
    guard model.inputShape != nil else {
      throw RecurrentError.invalidArgument("load \(framework) weights: build the model first (build(inputShape:))")
    }
    let targets = try targets(of: model)
    let byName = Dictionary(modules.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
    var assigned = [(module: ImportedModule, position: Int)]()
    var used = Set<String>()
    var position = 0
    if let mapping {
      for name in mapping {
        guard let module = byName[name] else {
          throw RecurrentError.invalidArgument(
            "\(source): the mapping names module '\(name)', which the file does not have (modules: "
              + modules.map(\.displayName).joined(separator: ", ") + ")")
        }
        guard !used.contains(name) else { throw RecurrentError.invalidArgument("the mapping names module '\(name)' twice") }
        guard position < targets.count else {
          throw RecurrentError.invalidArgument(
            "the mapping names more modules than the model has layers with weights (\(targets.count)); '\(name)' is left over")
        }
        if let problem = mismatch(module, at: position, in: targets) { throw bad(problem) }
        assigned.append((module, position))
        used.insert(name)
        position += module.levels.count
      }
      if position < targets.count {
        throw RecurrentError.invalidArgument(
          "the mapping ends before \(targets[position].label): name one module for each layer with weights "
            + "(a stacked PyTorch module covers several)")
      }
    } else {
      while position < targets.count {
        let target = targets[position]
        // Candidates: unused modules of the same sort (recurrent or not); the error names why each fails.
        let candidates = modules.filter { !used.contains($0.name) && ($0.kind == .plain) == (target.recurrentKind == nil) }
        let fitting = candidates.filter { kindFits($0, target) && mismatch($0, at: position, in: targets) == nil }
        guard fitting.count == 1 else {
          if fitting.count > 1 {
            throw RecurrentError.invalidArgument(
              "\(source): modules " + fitting.map(\.displayName).joined(separator: ", ")
                + " all fit \(target.label); say which goes where with a mapping (module names in the model's order)")
          }
          if candidates.count == 1 { throw bad(mismatch(candidates[0], at: position, in: targets)!) }
          if candidates.isEmpty {
            let left = modules.filter { !used.contains($0.name) }.map(\.displayName)
            let wanted = target.parameters.sorted { order($0.key) < order($1.key) }.map { "\($0.key) \($0.value)" }
            throw bad(
              "no module in the file for \(target.label) \(wanted.joined(separator: ", ")) (every module of that sort is used"
                + (left.isEmpty ? ")" : "; left: \(left.joined(separator: ", ")))"))
          }
          throw bad(
            "no module fits \(target.label): "
              + candidates.map { mismatch($0, at: position, in: targets)! }.joined(separator: "; "))
        }
        assigned.append((fitting[0], position))
        used.insert(fitting[0].name)
        position += fitting[0].levels.count
      }
    }
    let extra = modules.filter { !used.contains($0.name) }
    if !extra.isEmpty {
      let tensors = extra.flatMap(\.fileTensors).sorted()
      throw bad(
        "tensor\(tensors.count > 1 ? "s" : "") not in the model: "
          + tensors.prefix(5).map { "'\($0)' \(file[$0]?.shape ?? [])" }.joined(separator: ", ")
          + (tensors.count > 5 ? " and \(tensors.count - 5) more" : "")
          + " (module\(extra.count > 1 ? "s" : "") \(extra.map(\.displayName).joined(separator: ", ")))")
    }
    // Every check passed: convert, then overwrite.
    var values = [(Parameter, Tensor<S>)]()
    var report = [ImportedLayer]()
    for (module, start) in assigned {
      for (k, sources) in module.levels.enumerated() {
        let target = targets[start + k]
        let read = Set(target.parameters.keys.compactMap { sources[$0]?.fileShape == nil ? nil : sources[$0]!.tensor })
        report.append(ImportedLayer(layer: target.index, module: module.name, level: k, tensors: read.sorted()))
        for (local, shape) in target.parameters {
          let source = sources[local]!
          let count = shape.reduce(1, *)
          let converted =
            source.fileShape == nil ? [Double](repeating: 0, count: count) : source.convert(try file.doubles(source.tensor), shape)
          precondition(converted.count == count, "import conversion of \(source.tensor) gave \(converted.count) values, expected \(count)")
          values.append((model.store["layers.\(target.index).\(local)"]!, Tensor(shape: shape, scalars: converted.map { S($0) })))
        }
      }
    }
    for (parameter, value) in values { model.store.setValue(value, for: parameter) }
    return report
  }

  /// Whether `module` is the right sort (recurrent with the target's gates and directions, or plain).
  static func kindFits(_ module: ImportedModule, _ target: ImportTarget) -> Bool {
    switch module.kind {
    case .plain: target.recurrentKind == nil
    case let .recurrent(gates, bidirectional, _): target.recurrentKind != nil && gates == target.gates && bidirectional == target.bidirectional
    }
  }

  // MARK: - Conversions

  /// The transpose of a row-major [rows, columns] matrix.
  static func transpose(_ v: [Double], rows: Int, columns: Int) -> [Double] {
    var out = [Double](repeating: 0, count: v.count)
    for r in 0..<rows {
      for c in 0..<columns { out[c * rows + r] = v[r * columns + c] }
    }
    return out
  }

  /// Reorders the `blocks.count` equal row blocks of a row-major matrix (or vector): block `b`
  /// of the result is block `blocks[b]` of `v`.
  static func permuteBlocks(_ v: [Double], blocks: [Int]) -> [Double] {
    let size = v.count / blocks.count
    return blocks.flatMap { v[($0 * size)..<(($0 + 1) * size)] }
  }
}
