/// Drawing a symbol from a model's logits: temperature, top-k, seeded.
///
/// With logits z over V symbols, temperature tau > 0 and the allowed set A (the k largest
/// logits with top-k, ties broken towards the lower id; all V otherwise):
///
///     p_i = exp((z_i - m) / tau) / sum_{j in A} exp((z_j - m) / tau)   for i in A, 0 otherwise
///     m   = max_{j in A} z_j           (subtracted so nothing overflows for any tau)
///
/// tau = 1 samples the model's own distribution, tau < 1 sharpens it, tau > 1 flattens it,
/// and tau = 0 is the limit: argmax (the lowest id among equal maxima). One uniform draw
/// u in [0, 1) from the `SeededGenerator` picks the first i with p_0 + ... + p_i > u
/// (inverse CDF), so a seed fixes the whole sample.
public enum Sampling {
  /// The distribution p above, in Double. Throws `RecurrentError.invalidData` for empty or
  /// non-finite logits and `invalidArgument` for tau < 0 (or not finite) or k < 1.
  public static func probabilities<S: BinaryFloatingPoint>(
    logits: [S], temperature: Double = 1, topK: Int? = nil
  ) throws -> [Double] {
    guard !logits.isEmpty else { throw RecurrentError.invalidData("sampling: no logits") }
    if let bad = logits.firstIndex(where: { !$0.isFinite }) {
      throw RecurrentError.invalidData("sampling: logits[\(bad)] = \(Double(logits[bad])) is not finite")
    }
    guard temperature.isFinite, temperature >= 0 else {
      throw RecurrentError.invalidArgument("sampling: temperature must be a finite number >= 0, got \(temperature)")
    }
    if let topK, topK < 1 { throw RecurrentError.invalidArgument("sampling: top-k must be >= 1, got \(topK)") }
    let z = logits.map { Double($0) }
    let V = z.count
    // The allowed set: every id, or the k largest (stable: lower id first among ties).
    var allowed = [Bool](repeating: true, count: V)
    if let k = topK, k < V {
      let order = (0..<V).sorted { z[$0] != z[$1] ? z[$0] > z[$1] : $0 < $1 }
      allowed = [Bool](repeating: false, count: V)
      for i in order.prefix(k) { allowed[i] = true }
    }
    var best = -1
    for i in 0..<V where allowed[i] && (best < 0 || z[i] > z[best]) { best = i }
    var p = [Double](repeating: 0, count: V)
    if temperature == 0 {
      p[best] = 1
      return p
    }
    let m = z[best]
    var sum = 0.0
    for i in 0..<V where allowed[i] {
      p[i] = _exp((z[i] - m) / temperature)
      sum += p[i]
    }
    for i in 0..<V { p[i] /= sum }  // sum >= 1: the max term is exp(0)
    return p
  }

  /// One id drawn from `probabilities(logits:temperature:topK:)` with one draw of `generator`
  /// (none when temperature is 0).
  public static func sample<S: BinaryFloatingPoint>(
    logits: [S], temperature: Double = 1, topK: Int? = nil, using generator: inout SeededGenerator
  ) throws -> Int {
    let p = try probabilities(logits: logits, temperature: temperature, topK: topK)
    if temperature == 0 { return p.firstIndex(of: 1)! }
    return draw(p, using: &generator)
  }

  /// Inverse-CDF draw from probabilities `p` (summing to 1).
  static func draw(_ p: [Double], using generator: inout SeededGenerator) -> Int {
    let u = generator.nextUnit()
    var cumulative = 0.0
    var last = 0
    for (i, pi) in p.enumerated() where pi > 0 {
      cumulative += pi
      last = i
      if u < cumulative { return i }
    }
    return last  // u within rounding of 1
  }
}

/// Text from a character-level language model, one symbol at a time (char-rnn's `sample`).
///
/// The model maps token ids [1, T] (when its first layer is an `Embedding`) or one-hot vectors
/// [1, T, V] to logits [1, T, V] (or [1, V]); its recurrent layers are switched to `stateful`
/// for the run (and restored after), so each step continues from the state the previous one
/// left:
///
///     reset the state;  run the prime [1, P] -> logits of its last step
///     repeat length times:  id ~ Sampling(logits, temperature, topK);  emit id;  logits = model([1, 1] = id)
///
/// With an empty prime the first symbol is drawn uniformly from the vocabulary (char-rnn's
/// behaviour), and that symbol is the first one of the result.
///
///     let vocabulary = try Vocabulary(json: checkpoint.metadata[Vocabulary.metadataKey]!)
///     let text = try TextGenerator(model: model, vocabulary: vocabulary)
///       .generate(prime: "The ", length: 500, temperature: 0.8, seed: 1)
public struct TextGenerator {
  public let model: Sequential<Float>
  public let vocabulary: Vocabulary

  public init(model: Sequential<Float>, vocabulary: Vocabulary) {
    self.model = model
    self.vocabulary = vocabulary
  }

  /// Whether the model takes token ids (an `Embedding` first) rather than one-hot vectors.
  public var takesTokenIDs: Bool { model.layers.first is EmbeddingLayer<Float> }

  /// `length` symbols following `prime` (the prime itself is not included in the result).
  ///
  /// - Parameters:
  ///   - temperature: >= 0; 0 is greedy (argmax).
  ///   - topK: sample only among the k most likely symbols.
  ///   - seed: seeds the `SeededGenerator` that draws every symbol.
  ///   - onSymbol: called with each symbol's text as it is generated (for streaming output).
  /// - Throws: `invalidData` if the prime has a symbol outside the vocabulary (naming it and its
  ///   position); `invalidArgument` for a bad length, temperature or top-k, or a `Bidirectional`
  ///   model; `shapeMismatch` if the model's output is not V logits per step.
  public func generate(
    prime: String, length: Int, temperature: Double = 1, topK: Int? = nil, seed: UInt64 = 0,
    onSymbol: ((String) -> Void)? = nil
  ) throws -> String {
    var generator = SeededGenerator(seed: seed)
    return try vocabulary.decode(
      generateIDs(
        prime: prime, length: length, temperature: temperature, topK: topK, using: &generator,
        onSymbol: onSymbol))
  }

  /// `generate`, returning ids and drawing from a caller's generator.
  public func generateIDs(
    prime: String, length: Int, temperature: Double = 1, topK: Int? = nil, using generator: inout SeededGenerator,
    onSymbol: ((String) -> Void)? = nil
  ) throws -> [Int] {
    guard length >= 0 else { throw RecurrentError.invalidArgument("sampling: length must be >= 0, got \(length)") }
    guard temperature.isFinite, temperature >= 0 else {
      throw RecurrentError.invalidArgument("sampling: temperature must be a finite number >= 0, got \(temperature)")
    }
    if let topK, topK < 1 { throw RecurrentError.invalidArgument("sampling: top-k must be >= 1, got \(topK)") }
    let primeIDs = try vocabulary.encode(values: vocabulary.values(of: prime), source: "prime")
    if length == 0 { return [] }
    return try CharLanguageModel.withCarriedState(model) {
      var out = [Int]()
      out.reserveCapacity(length)
      var logits: [Float]
      if primeIDs.isEmpty {
        let first = Int(generator.next() % UInt64(vocabulary.count))
        out.append(first)
        if let onSymbol { onSymbol(try vocabulary.symbol(first)) }
        if out.count == length { return out }
        logits = try step([first])
      } else {
        logits = try step(primeIDs)
      }
      while true {
        let id = try Sampling.sample(logits: logits, temperature: temperature, topK: topK, using: &generator)
        out.append(id)
        if let onSymbol { onSymbol(try vocabulary.symbol(id)) }
        if out.count == length { return out }
        logits = try step([id])
      }
    }
  }

  /// Feeds `ids` as one [1, T] sequence (state carried) and returns the last step's logits.
  private func step(_ ids: [Int]) throws -> [Float] {
    let V = vocabulary.count, T = ids.count
    let x: Tensor<Float>
    if takesTokenIDs {
      x = Tensor(shape: [1, T], scalars: ids.map { Float($0) })
    } else {
      var onehot = Tensor<Float>(shape: [1, T, V])
      for (t, id) in ids.enumerated() { onehot.scalars[t * V + id] = 1 }
      x = onehot
    }
    let out = try model.forward(x, context: LayerContext(training: false))
    guard out.shape.last == V, out.shape.first == 1, out.rank == 2 || (out.rank == 3 && out.shape[1] == T) else {
      throw RecurrentError.shapeMismatch(
        "sampling: the model must output logits [1, \(V)] or [1, steps, \(V)] for the \(V)-symbol vocabulary, "
          + "got \(out.shape)")
    }
    return Array(out.scalars.suffix(V))
  }
}
