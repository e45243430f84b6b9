import Foundation

/// The symbols of a character-level language model and their ids.
///
/// **Unit.** A "character" is a Unicode scalar (a code point) by default, not a Swift
/// `Character` (an extended grapheme cluster): scalars are a fixed, finite alphabet, every
/// string splits into them in one way, and a model that emits one scalar per step can write
/// any text, including a combining accent after any letter ("e" + U+0301). Grapheme clusters
/// would make the vocabulary open-ended (every new emoji sequence a new symbol). The `.bytes`
/// unit uses the raw UTF-8 bytes instead (at most 256 symbols; any file is valid; samples may
/// contain invalid UTF-8, which `decode` shows as U+FFFD). Bits per character are then bits
/// per byte.
///
/// **Ids.** The distinct symbols sorted by value (code point or byte), id = position:
/// the same text always gives the same ids, whatever order its symbols first appear in.
///
/// **Checkpoints.** `json` is a compact JSON text of the unit and the symbols, meant for the
/// checkpoint metadata key `Vocabulary.metadataKey`; `init(json:)` restores it:
///
///     {"unit":"unicode_scalars","symbols":["\n"," ","!","a","é","😀"]}
///     {"unit":"bytes","symbols":[10,32,33,97,195,169]}
public struct Vocabulary: Equatable, Sendable, CustomStringConvertible {
  /// What one symbol is.
  public enum Unit: String, Sendable, CaseIterable {
    /// Unicode scalars (code points) of the UTF-8 decoded text.
    case unicodeScalars = "unicode_scalars"
    /// The raw bytes of the file.
    case bytes
  }

  /// Checkpoint metadata key for `json`.
  public static let metadataKey = "vocabulary"

  public let unit: Unit
  /// Symbol values (code points, or byte values for `.bytes`) in ascending order; id = index.
  public let symbols: [UInt32]
  private let ids: [UInt32: Int]

  /// Number of symbols (the model's input and output size).
  public var count: Int { symbols.count }

  /// A vocabulary of `symbols` (any order; stored sorted). Throws `RecurrentError.invalidData`
  /// when it is empty, has duplicates, or a value is not a Unicode scalar (or not a byte).
  public init(unit: Unit, symbols: [UInt32]) throws {
    guard !symbols.isEmpty else { throw RecurrentError.invalidData("vocabulary: no symbols") }
    let sorted = symbols.sorted()
    for (i, v) in sorted.enumerated() {
      if i > 0, sorted[i - 1] == v {
        throw RecurrentError.invalidData("vocabulary: symbol \(Self.describe(v, unit)) appears twice")
      }
      switch unit {
      case .bytes:
        guard v < 256 else { throw RecurrentError.invalidData("vocabulary: \(v) is not a byte value (0...255)") }
      case .unicodeScalars:
        guard Unicode.Scalar(v) != nil else {
          throw RecurrentError.invalidData("vocabulary: \(v) is not a Unicode scalar value")
        }
      }
    }
    self.unit = unit
    self.symbols = sorted
    var ids = [UInt32: Int](minimumCapacity: sorted.count)
    for (i, v) in sorted.enumerated() { ids[v] = i }
    self.ids = ids
  }

  /// The vocabulary of the distinct values in `values` (code points or bytes per `unit`).
  public init<S: Sequence>(unit: Unit, collecting values: S) throws where S.Element == UInt32 {
    try self.init(unit: unit, symbols: Array(Set(values)))
  }

  /// The id of symbol value `value`, or nil if it is not in the vocabulary.
  public func id(of value: UInt32) -> Int? { ids[value] }

  /// The symbol values of `text` in this vocabulary's unit (code points or UTF-8 bytes).
  public func values(of text: String) -> [UInt32] {
    unit == .bytes ? text.utf8.map { UInt32($0) } : text.unicodeScalars.map(\.value)
  }

  /// The ids of `text`. Throws `RecurrentError.invalidData` naming the first symbol not in the
  /// vocabulary and its position (in symbols from the start of `text`).
  public func encode(_ text: String) throws -> [Int] {
    try encode(values: values(of: text), source: "text")
  }

  /// The ids of symbol values; `source` names the data in errors.
  public func encode(values: [UInt32], source: String) throws -> [Int] {
    var out = [Int]()
    out.reserveCapacity(values.count)
    for (position, v) in values.enumerated() {
      guard let id = ids[v] else {
        throw RecurrentError.invalidData(
          "\(source): symbol \(Self.describe(v, unit)) at position \(position) is not in the vocabulary (\(count) symbols)")
      }
      out.append(id)
    }
    return out
  }

  /// The text of `ids`. Throws `RecurrentError.invalidArgument` for an id outside 0..<count.
  /// With the `.bytes` unit, invalid UTF-8 in the result shows as U+FFFD.
  public func decode<C: Collection>(_ ids: C) throws -> String where C.Element == Int {
    if let bad = ids.first(where: { !(0..<count).contains($0) }) {
      throw RecurrentError.invalidArgument("vocabulary: id \(bad) is outside 0..<\(count)")
    }
    switch unit {
    case .bytes:
      return String(decoding: ids.map { UInt8(symbols[$0]) }, as: UTF8.self)
    case .unicodeScalars:
      var s = String.UnicodeScalarView()
      for id in ids { s.append(Unicode.Scalar(symbols[id])!) }
      return String(s)
    }
  }

  /// The symbol with id `id` as text (a byte that is not ASCII shows as U+FFFD).
  public func symbol(_ id: Int) throws -> String { try decode([id]) }

  // MARK: - Checkpoint metadata

  /// Compact JSON text of the unit and symbols (see the type's documentation).
  public var json: String {
    let list: [JSONValue] = symbols.map { unit == .bytes ? .int($0) : .string(String(Character(Unicode.Scalar($0)!))) }
    return JSONValue.object(["unit": .string(unit.rawValue), "symbols": .array(list)]).description
  }

  /// The vocabulary stored by `json`. Throws `RecurrentError.invalidData` explaining what is
  /// wrong (not JSON, a missing key, a symbol that is not one scalar or byte, duplicates).
  public init(json: String) throws {
    func bad(_ message: String) -> RecurrentError { .invalidData("vocabulary metadata: \(message)") }
    let object = try DataSupport.jsonObject(json, what: "vocabulary metadata")
    guard let unitName = object["unit"]?.string else { throw bad("missing string key \"unit\"") }
    guard let unit = Unit(rawValue: unitName) else {
      throw bad("unknown unit \"\(unitName)\" (expected \(Unit.allCases.map(\.rawValue).joined(separator: " or ")))")
    }
    guard let list = object["symbols"]?.array else { throw bad("missing array key \"symbols\"") }
    let values = try list.enumerated().map { i, item -> UInt32 in
      switch unit {
      case .bytes:
        guard let n = item.int, (0...255).contains(n) else { throw bad("symbols[\(i)] is not a byte value 0...255") }
        return UInt32(n)
      case .unicodeScalars:
        guard let s = item.string, s.unicodeScalars.count == 1 else {
          throw bad("symbols[\(i)] is not a string of exactly one Unicode scalar")
        }
        return s.unicodeScalars.first!.value
      }
    }
    try self.init(unit: unit, symbols: values)
  }

  public var description: String {
    "Vocabulary(\(unit.rawValue), \(count) symbols)"
  }

  static func describe(_ v: UInt32, _ unit: Unit) -> String {
    unit == .bytes ? "byte \(DataSupport.hex(UInt8(truncatingIfNeeded: v)))" : DataSupport.describe(scalar: v)
  }
}

/// A text file as token ids for a character-level language model (char-rnn style).
///
/// Reading validates UTF-8 (for the `.unicodeScalars` unit; a leading byte-order mark U+FEFF
/// is dropped) and throws `RecurrentError.invalidData` naming the file, the byte offset and the
/// line of the first invalid sequence. The vocabulary is built from the whole file (training
/// and validation parts alike), or given (e.g. restored from a checkpoint, to evaluate on new
/// text).
///
///     let corpus = try TextCorpus(contentsOf: URL(fileURLWithPath: "input.txt"))
///     let (train, validation) = try corpus.split(validationFraction: 0.05)
///     let batches = try TBPTTBatches(ids: train, batchSize: 32, steps: 64)
///     metadata[Vocabulary.metadataKey] = corpus.vocabulary.json
public struct TextCorpus: Sendable {
  /// Names the data in errors (the file path, or "<memory>").
  public let source: String
  public let vocabulary: Vocabulary
  /// The whole text as ids into `vocabulary`, in order.
  public let ids: [Int]

  /// Reads the file at `url`. Throws `RecurrentError.io` if it cannot be read and
  /// `RecurrentError.invalidData` if it is empty or not valid UTF-8 (scalar unit).
  public init(contentsOf url: URL, unit: Vocabulary.Unit = .unicodeScalars, vocabulary: Vocabulary? = nil) throws {
    try self.init(bytes: AtomicFile.read(url), unit: unit, vocabulary: vocabulary, source: url.path)
  }

  /// Parses `bytes`; with `vocabulary` given, its unit is used and every symbol must be in it.
  public init(
    bytes: [UInt8], unit: Vocabulary.Unit = .unicodeScalars, vocabulary: Vocabulary? = nil,
    source: String = "<memory>"
  ) throws {
    let unit = vocabulary?.unit ?? unit
    var values: [UInt32]
    switch unit {
    case .bytes:
      values = bytes.map { UInt32($0) }
    case .unicodeScalars:
      values = try DataSupport.decodeUTF8(bytes, source: source)
      if values.first == 0xFEFF { values.removeFirst() }
    }
    guard !values.isEmpty else { throw RecurrentError.invalidData("\(source): the text is empty") }
    let vocab = try vocabulary ?? Vocabulary(unit: unit, collecting: values)
    self.source = source
    self.vocabulary = vocab
    self.ids = try vocab.encode(values: values, source: source)
  }

  /// `text` as a corpus.
  public init(text: String, unit: Vocabulary.Unit = .unicodeScalars, vocabulary: Vocabulary? = nil) throws {
    try self.init(bytes: Array(text.utf8), unit: unit, vocabulary: vocabulary, source: "<memory>")
  }

  /// Number of symbols in the text.
  public var count: Int { ids.count }

  /// The first `1 - fraction` of the ids for training and the last `fraction` for validation
  /// (a contiguous tail, as char-rnn; no shuffling, so no validation text leaks into training
  /// through overlapping chunks). `fraction` 0 gives an empty validation part. Otherwise each
  /// part needs at least 2 symbols (one input-target pair); throws `invalidArgument` if not.
  public func split(validationFraction fraction: Double) throws -> (training: [Int], validation: [Int]) {
    guard fraction.isFinite, (0..<1).contains(fraction) else {
      throw RecurrentError.invalidArgument("validation fraction must be in [0, 1), got \(fraction)")
    }
    if fraction == 0 { return (ids, []) }
    let nVal = Int((Double(count) * fraction).rounded(.down))
    guard nVal >= 2, count - nVal >= 2 else {
      throw RecurrentError.invalidArgument(
        "\(source): a validation fraction of \(fraction) of \(count) symbols leaves \(count - nVal) for training and "
          + "\(nVal) for validation; each needs at least 2")
    }
    return (Array(ids[..<(count - nVal)]), Array(ids[(count - nVal)...]))
  }
}

/// Chunks of token ids for truncated backpropagation through time over one long text, with
/// the recurrent state carried from chunk to chunk (char-rnn's loader, Keras `stateful=True`).
///
/// The n ids are cut into B parallel streams of L = floor((n - 1) / B) input positions each;
/// stream b reads positions b*L ..< (b+1)*L and its targets are the next ids:
///
///     inputs[b, t]  = ids[b*L + t]          t in 0..<L
///     targets[b, t] = ids[b*L + t + 1]      (the next character)
///
/// Chunk k holds steps k*T ..< min((k+1)*T, L) of every stream: inputs [B, T_k] (token ids for
/// an `Embedding` front end) and targets [B, T_k] (class ids for
/// `SparseCategoricalCrossentropy`), T_k = T except possibly for the last chunk. Row b of chunk
/// k+1 continues row b of chunk k, so a stateful model carries its state across chunks; reset
/// it before chunk 0. The last (n - 1) mod B target positions are not used (`droppedTokens`).
///
///     let batches = try TBPTTBatches(ids: train, batchSize: 32, steps: 64)
///     for chunk in batches { ... chunk.inputs [32, <=64], chunk.targets [32, <=64] ... }
///
/// `CharLanguageModel.trainEpoch` runs a model over all chunks with the state carried.
public struct TBPTTBatches: Sequence, Sendable {
  /// One chunk: steps `steps` of every stream.
  public struct Chunk: Sendable {
    /// Position of the chunk in the epoch.
    public let index: Int
    /// The time steps (within each stream) this chunk covers.
    public let steps: Range<Int>
    /// Token ids [B, T_k] (whole numbers stored as Float).
    public let inputs: Tensor<Float>
    /// Next-token ids [B, T_k].
    public let targets: Tensor<Float>
  }

  public let ids: [Int]
  /// B: parallel streams (rows of every chunk).
  public let batchSize: Int
  /// T: steps per chunk (the truncation length).
  public let steps: Int
  /// L: input positions per stream.
  public let streamLength: Int

  /// Throws `RecurrentError.invalidArgument` unless B >= 1, T >= 1 and the text has at least
  /// B + 1 ids (one input-target pair per stream).
  public init(ids: [Int], batchSize: Int, steps: Int) throws {
    guard batchSize >= 1 else { throw RecurrentError.invalidArgument("batch size must be >= 1, got \(batchSize)") }
    guard steps >= 1 else { throw RecurrentError.invalidArgument("steps per chunk must be >= 1, got \(steps)") }
    guard ids.count >= batchSize + 1 else {
      throw RecurrentError.invalidArgument(
        "a text of \(ids.count) symbols is too short for \(batchSize) streams: need at least \(batchSize + 1)")
    }
    self.ids = ids
    self.batchSize = batchSize
    self.steps = steps
    self.streamLength = (ids.count - 1) / batchSize
  }

  /// Number of chunks: ceil(L / T).
  public var count: Int { (streamLength + steps - 1) / steps }

  /// Target positions left out at the end of the text: (n - 1) mod B.
  public var droppedTokens: Int { ids.count - 1 - batchSize * streamLength }

  /// Chunk `k` (0..<count).
  public subscript(k: Int) -> Chunk {
    precondition((0..<count).contains(k), "TBPTTBatches: chunk \(k) outside 0..<\(count)")
    let start = k * steps, len = Swift.min(steps, streamLength - start)
    let B = batchSize, L = streamLength
    var x = [Float](), y = [Float]()
    x.reserveCapacity(B * len)
    y.reserveCapacity(B * len)
    for b in 0..<B {
      let base = b * L + start
      for t in 0..<len {
        x.append(Float(ids[base + t]))
        y.append(Float(ids[base + t + 1]))
      }
    }
    return Chunk(
      index: k, steps: start..<(start + len), inputs: Tensor(shape: [B, len], scalars: x),
      targets: Tensor(shape: [B, len], scalars: y))
  }

  /// All streams at once: inputs and targets [B, L] (e.g. for `fit(truncatedBPTT:)` with
  /// `batchSize: B, shuffle: false`, where one batch is the whole epoch).
  public func streams() -> (inputs: Tensor<Float>, targets: Tensor<Float>) {
    let B = batchSize, L = streamLength
    var x = [Float](), y = [Float]()
    x.reserveCapacity(B * L)
    y.reserveCapacity(B * L)
    for b in 0..<B {
      for t in 0..<L {
        x.append(Float(ids[b * L + t]))
        y.append(Float(ids[b * L + t + 1]))
      }
    }
    return (Tensor(shape: [B, L], scalars: x), Tensor(shape: [B, L], scalars: y))
  }

  public struct Iterator: IteratorProtocol {
    let batches: TBPTTBatches
    var position = 0
    public mutating func next() -> Chunk? {
      guard position < batches.count else { return nil }
      defer { position += 1 }
      return batches[position]
    }
  }

  public func makeIterator() -> Iterator { Iterator(batches: self) }
}
