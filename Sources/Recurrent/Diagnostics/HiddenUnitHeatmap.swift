/// Hidden units of a character-level model coloured over the characters of a passage, as in
/// Karpathy's "The Unreasonable Effectiveness of Recurrent Neural Networks": red where a unit
/// is positive after reading a character, blue where negative.
///
/// Which units to show: chosen by index, or the "most interpretable" ones, meaning the units
/// whose activation correlates most strongly (|Pearson r|) with a simple property of the text
/// at that point: inside quotes, inside brackets, position in the line, position in the word,
/// whitespace, punctuation, uppercase, digit. Each unit is labelled with its best property and r.
public struct HiddenUnitHeatmap: Sendable {
  public struct Unit: Sendable, Equatable {
    /// The unit's index in the layer's hidden state.
    public var index: Int
    /// h_t[index] after reading character t, one per shown character (in [-1, 1] for tanh cells).
    public var values: [Double]
    /// The text property it tracks best, and the correlation.
    public var feature: String
    public var correlation: Double
  }

  /// e.g. "layers.1 lstm".
  public var layerName: String
  public var text: [Character]
  public var units: [Unit]

  /// Text properties at every position (the value after reading character t), by name.
  public static func textFeatures(_ text: [Character]) -> [(name: String, values: [Double])] {
    var quote = 0.0, depth = 0.0, column = 0.0, inWord = 0.0
    var f = [[Double]](repeating: [], count: 8)
    for c in text {
      if c == "\"" { quote = 1 - quote }
      if "([{".contains(c) { depth += 1 }
      if ")]}".contains(c) { depth = max(0, depth - 1) }
      column = c == "\n" ? 0 : column + 1
      inWord = c.isWhitespace ? 0 : inWord + 1
      f[0].append(quote)
      f[1].append(depth > 0 ? 1 : 0)
      f[2].append(column)
      f[3].append(inWord)
      f[4].append(c.isWhitespace ? 1 : 0)
      f[5].append(".,;:!?".contains(c) ? 1 : 0)
      f[6].append(c.isUppercase ? 1 : 0)
      f[7].append(c.isNumber ? 1 : 0)
    }
    let names = [
      "inside quotes", "inside brackets", "position in the line", "position in the word", "whitespace", "punctuation",
      "uppercase", "digit",
    ]
    return zip(names, f).map { ($0, $1) }
  }

  /// Pearson correlation; 0 when either side is constant.
  static func correlation(_ a: [Double], _ b: [Double]) -> Double {
    let n = Double(a.count)
    guard a.count == b.count, a.count >= 2 else { return 0 }
    let ma = a.reduce(0, +) / n, mb = b.reduce(0, +) / n
    var sab = 0.0, saa = 0.0, sbb = 0.0
    for (x, y) in zip(a, b) {
      sab += (x - ma) * (y - mb)
      saa += (x - ma) * (x - ma)
      sbb += (y - mb) * (y - mb)
    }
    guard saa > 1e-12, sbb > 1e-12 else { return 0 }
    return sab / (saa * sbb).squareRoot()
  }

  /// Labels every unit of `activations` (unit-major: [H][L]) with its best text property and
  /// returns `chosen` (in that order), or the `count` best-correlated units, strongest first.
  public static func select(activations: [[Double]], text: [Character], chosen: [Int]? = nil, count: Int = 4) -> [Unit] {
    let features = textFeatures(text)
    func label(_ j: Int) -> Unit {
      var best = ("none", 0.0)
      for f in features {
        let r = correlation(activations[j], f.values)
        if abs(r) > abs(best.1) { best = (f.name, r) }
      }
      return Unit(index: j, values: activations[j], feature: best.0, correlation: best.1)
    }
    if let chosen { return chosen.map(label) }
    let all = activations.indices.map(label)
    return Array(all.sorted { abs($0.correlation) > abs($1.correlation) || (abs($0.correlation) == abs($1.correlation) && $0.index < $1.index) }
      .prefix(count))
  }

  /// Runs `model` (a character model: token ids [B, T] into an `Embedding`, or one-hot
  /// [B, T, V]) over the first `maxCharacters` symbols of `text` and picks units of its recurrent
  /// layer `layer` (an index into `model.layers`; the last recurrent layer when nil).
  ///
  /// Throws `invalidData` when the text has a symbol outside `vocabulary` (naming it) or is
  /// empty, `invalidArgument` when `layer` is not a recurrent layer or a chosen unit is out of
  /// range, `shapeMismatch` when the model takes neither ids nor one-hot vectors of the vocabulary.
  public static func compute(
    model: Sequential<Float>, vocabulary: Vocabulary, text: String, layer: Int? = nil, units chosen: [Int]? = nil,
    count: Int = 4, maxCharacters: Int = 1000
  ) throws -> HiddenUnitHeatmap {
    let (x, characters) = try input(for: model, vocabulary: vocabulary, text: text, maxCharacters: maxCharacters)
    let L = characters.count
    let recurrent = model.layers.indices.filter { model.layers[$0] is any HiddenTraceProviding }
    guard let index = layer ?? recurrent.last else {
      throw RecurrentError.invalidArgument("the model has no recurrent layer to show")
    }
    guard recurrent.contains(index), let rnn = model.layers[index] as? any HiddenTraceProviding else {
      throw RecurrentError.invalidArgument(
        "layer \(index) is not a recurrent layer (recurrent layers: \(recurrent.map(String.init).joined(separator: ", ")))")
    }
    _ = try model.forward(x, context: LayerContext(training: false))
    let (H, hidden) = rnn.lastHiddenStates()
    if let bad = chosen?.first(where: { !(0..<H).contains($0) }) {
      throw RecurrentError.invalidArgument("unit \(bad) is outside the layer's \(H) units (0...\(H - 1))")
    }
    let activations = (0..<H).map { j in (0..<L).map { t in Double(hidden[t * H + j]) } }
    return HiddenUnitHeatmap(
      layerName: "layers.\(index) \(model.layers[index].kind)", text: characters,
      units: select(activations: activations, text: characters, chosen: chosen, count: count))
  }

  /// The model input for the first `maxCharacters` symbols of `text` ([1, L] token ids, or
  /// [1, L, V] one-hot when the model's first layer takes vectors) and the characters shown.
  public static func input(
    for model: Sequential<Float>, vocabulary: Vocabulary, text: String, maxCharacters: Int = 1000
  ) throws -> (Tensor<Float>, [Character]) {
    let values = Array(vocabulary.values(of: text).prefix(maxCharacters))
    guard !values.isEmpty else { throw RecurrentError.invalidData("the text for the heatmap is empty") }
    let ids = try vocabulary.encode(values: values, source: "the heatmap text")
    let L = ids.count, V = vocabulary.count
    let x: Tensor<Float>
    if model.layers.first is any InputValidatingLayer<Float> || model.inputShape?.count == 1 {
      x = Tensor(shape: [1, L], scalars: ids.map(Float.init))
    } else if let shape = model.inputShape, shape.count == 2, shape[1] == V {
      var onehot = Tensor<Float>(shape: [1, L, V])
      for (t, id) in ids.enumerated() { onehot.scalars[t * V + id] = 1 }
      x = onehot
    } else {
      throw RecurrentError.shapeMismatch(
        "the model takes input \(model.inputShape.map { "\($0)" } ?? "?"), neither token ids nor one-hot vectors of the \(V)-symbol vocabulary")
    }
    let characters: [Character] = values.map { v in
      switch vocabulary.unit {
      case .unicodeScalars: return Unicode.Scalar(v).map(Character.init) ?? "\u{FFFD}"
      case .bytes: return v < 128 ? Character(Unicode.Scalar(UInt8(v))) : "·"
      }
    }
    return (x, characters)
  }

  /// The heatmap as an HTML fragment (one coloured passage per unit).
  public func html() -> String {
    var out = "<p>Hidden units of \(escapeXML(layerName)) after reading each character: red positive, blue negative, "
      + "white 0. Each unit is labelled with the text property its activation correlates with best (Pearson r).</p>\n"
    for unit in units {
      out += "<div class=\"unit\"><b>unit \(unit.index)</b> · \(escapeXML(unit.feature)), r = \(shortNumber(unit.correlation, digits: 2))<pre>"
      for (c, v) in zip(text, unit.values) {
        let shown = c == "\n" ? "↵\n" : String(c)
        out += "<span style=\"background:\(Self.color(v))\">\(escapeXML(shown))</span>"
      }
      out += "</pre></div>\n"
    }
    return out
  }

  /// Diverging colour for v in [-1, 1]: blue (negative) through white to red (positive).
  static func color(_ v: Double) -> String {
    let x = max(-1, min(1, v.isFinite ? v : 0))
    let fade = Int((255 * (1 - abs(x))).rounded())
    return x >= 0 ? "rgb(255,\(fade),\(fade))" : "rgb(\(fade),\(fade),255)"
  }
}

/// Recurrent layers that can hand back the hidden states of their last forward pass.
protocol HiddenTraceProviding {
  /// (H, h_1 ... h_T of batch row 0, time-major [T * H]).
  func lastHiddenStates() -> (Int, [Float])
}

extension RNN: HiddenTraceProviding {
  func lastHiddenStates() -> (Int, [Float]) {
    guard let engine else { return (units, []) }
    let h = engine.trace().hidden  // [B, T, H]
    let T = h.shape[1], H = h.shape[2]
    return (H, (0..<(T * H)).map { Float(h.scalars[$0]) })
  }
}
