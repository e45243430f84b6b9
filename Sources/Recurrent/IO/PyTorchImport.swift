import Foundation

/// Reads a PyTorch `state_dict` saved with `safetensors.torch.save_file` as importable modules.
///
/// A tensor name is `<module>.<parameter>` (the module part may be empty or dotted:
/// `encoder.rnn.weight_ih_l0`). Recurrent modules (`nn.RNN`, `nn.LSTM`, `nn.GRU`) have
/// `weight_ih_l<k>`, `weight_hh_l<k>`, `bias_ih_l<k>`, `bias_hh_l<k>` with `_reverse` for the
/// backward direction; level `k` loads into the k-th of consecutive recurrent layers of the
/// model, unchanged (our layout and gate order are PyTorch's). Any other module (`nn.Linear`,
/// `nn.Embedding`, `nn.Conv1d`, `nn.LayerNorm`) keeps its names: `<module>.weight` ->
/// `layers.<i>.weight`. A recurrent module built with `bias=False` has no bias tensors: its
/// biases load as zeros.
enum PyTorchImport {
  static let recurrentParameters = ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]

  static func modules(of file: SafetensorsFile) throws -> [ImportedModule] {
    let source = file.source
    func bad(_ s: String) -> RecurrentError { .invalidData("\(source): \(s)") }
    var order = [String]()
    var leaves = [String: [(leaf: String, tensor: String)]]()
    for name in file.names.sorted() {
      let (prefix, leaf): (String, String) =
        if let dot = name.lastIndex(of: ".") { (String(name[..<dot]), String(name[name.index(after: dot)...])) } else { ("", name) }
      if leaves[prefix] == nil { order.append(prefix) }
      leaves[prefix, default: []].append((leaf, name))
    }
    return try order.map { prefix in
      let items = leaves[prefix]!
      let tensors = items.map(\.tensor)
      let recurrent = items.compactMap { recurrentLeaf($0.leaf) }
      if let projection = items.first(where: { $0.leaf.hasPrefix("weight_hr_l") }) {
        throw bad("tensor '\(projection.tensor)': LSTM projections (proj_size > 0) are not supported")
      }
      if recurrent.isEmpty {
        var level = [String: ImportedModule.Source]()
        for (leaf, tensor) in items { level[leaf] = .init(tensor: tensor, fileShape: file[tensor]!.shape) }
        return ImportedModule(name: prefix, kind: .plain, levels: [level], fileTensors: tensors)
      }
      if let other = items.first(where: { recurrentLeaf($0.leaf) == nil }) {
        throw bad(
          "tensor '\(other.tensor)' is not a parameter of nn.RNN/nn.LSTM/nn.GRU "
            + "(expected weight_ih_l<k>, weight_hh_l<k>, bias_ih_l<k>, bias_hh_l<k>, optionally with _reverse)")
      }
      return try recurrentModule(prefix, recurrent, file: file, tensors: tensors)
    }
  }

  /// `weight_ih_l1_reverse` -> ("weight_ih", 1, true).
  static func recurrentLeaf(_ leaf: String) -> (parameter: String, level: Int, reverse: Bool)? {
    var rest = Substring(leaf)
    let reverse = rest.hasSuffix("_reverse")
    if reverse { rest = rest.dropLast("_reverse".count) }
    guard let marker = rest.range(of: "_l", options: .backwards), let level = Int(rest[marker.upperBound...]), level >= 0,
      recurrentParameters.contains(String(rest[..<marker.lowerBound]))
    else { return nil }
    return (String(rest[..<marker.lowerBound]), level, reverse)
  }

  static func recurrentModule(
    _ prefix: String, _ leaves: [(parameter: String, level: Int, reverse: Bool)], file: SafetensorsFile, tensors: [String]
  ) throws -> ImportedModule {
    let dot = prefix.isEmpty ? "" : "\(prefix)."
    func bad(_ s: String) -> RecurrentError { .invalidData("\(file.source): \(s)") }
    let levelCount = leaves.map(\.level).max()! + 1
    for k in 0..<levelCount where !leaves.contains(where: { $0.level == k && $0.parameter == "weight_hh" }) {
      throw bad("module '\(prefix)' has layers up to l\(levelCount - 1) but no tensor '\(dot)weight_hh_l\(k)'")
    }
    // Gates from weight_hh_l0 [G*H, H].
    let hh = file["\(dot)weight_hh_l0"]!.shape
    guard hh.count == 2, hh[1] > 0, hh[0] % hh[1] == 0, [1, 3, 4].contains(hh[0] / hh[1]) else {
      throw bad("tensor '\(dot)weight_hh_l0' has shape \(hh); expected [G*H, H] with G = 1 (RNN), 3 (GRU) or 4 (LSTM)")
    }
    let bidirectional = leaves.contains { $0.reverse }
    let hasBias = leaves.contains { $0.parameter.hasPrefix("bias") }
    var levels = [[String: ImportedModule.Source]]()
    for k in 0..<levelCount {
      var level = [String: ImportedModule.Source]()
      for suffix in bidirectional ? ["", "_reverse"] : [""] {
        for parameter in recurrentParameters {
          let tensor = "\(dot)\(parameter)_l\(k)\(suffix)"
          level[parameter + suffix] = .init(
            tensor: tensor, fileShape: file[tensor]?.shape, zeroWhenAbsent: !hasBias && parameter.hasPrefix("bias"))
        }
      }
      levels.append(level)
    }
    let module = ImportedModule(
      name: prefix, kind: .recurrent(gates: hh[0] / hh[1], bidirectional: bidirectional, cell: nil), levels: levels,
      fileTensors: tensors,
      configurationCheck: { target in
        if target.bidirectional, let mode = target.spec.config["mergeMode"]?.string, mode != "concat" {
          return "PyTorch concatenates the two directions of '\(prefix)'; \(target.label) merges them with \(mode)"
        }
        if target.recurrentConfig["goBackwards"]?.bool == true {
          return "\(target.label) runs backwards (goBackwards), which a PyTorch module cannot"
        }
        return nil
      },
      gruResetAfter: hh[0] / hh[1] == 3 ? true : nil)  // nn.GRU is the reset-after form; there is no reset-before one
    return module
  }
}

extension Sequential {
  /// Loads the weights of a PyTorch model saved with `safetensors.torch.save_file(model.state_dict(), path)`
  /// into this model, which must have the same structure (docs/interop.md):
  ///
  ///     # PyTorch                                              // Recurrent
  ///     self.rnn = nn.LSTM(8, 16, num_layers=2,               Bidirectional(LSTM(units: 16, returnSequences: true))
  ///                        bidirectional=True, batch_first=True) Bidirectional(LSTM(units: 16, returnSequences: true))
  ///     self.fc = nn.Linear(32, 10)                            Dense(units: 10)
  ///
  ///     try model.loadPyTorchStateDict(from: "state.safetensors", mapping: ["rnn", "fc"])
  ///
  /// `mapping` lists the PyTorch module names (the tensor names before the last dot; "" for a
  /// bare `nn.LSTM`) in the order of the model's layers with weights; a module with
  /// `num_layers = n` covers n consecutive recurrent layers (levels `_l0` ... in order). Without
  /// it, each layer takes the one module whose kind and shapes fit, and two modules that both
  /// fit are an error asking for the mapping. Recurrent weights load unchanged (same layout and
  /// gate order); `nn.RNN(nonlinearity="relu")` needs `SimpleRNN(activation: .relu)`, which
  /// the state_dict cannot show. Every tensor is checked before any weight changes: a missing or
  /// extra tensor, a shape or kind that does not fit throws `invalidData` naming the tensor and
  /// the expected shape. The model must be built (`build(inputShape:)`) and made of layers
  /// that describe themselves (every built-in layer does).
  @discardableResult
  public func loadPyTorchStateDict(from url: URL, mapping: [String]? = nil) throws -> [ImportedLayer] {
    let file = try SafetensorsFile(contentsOf: url)
    return try WeightImport.load(try PyTorchImport.modules(of: file), into: self, mapping: mapping, file: file, framework: "PyTorch")
  }

  @discardableResult
  public func loadPyTorchStateDict(from path: String, mapping: [String]? = nil) throws -> [ImportedLayer] {
    try loadPyTorchStateDict(from: URL(fileURLWithPath: path), mapping: mapping)
  }
}
