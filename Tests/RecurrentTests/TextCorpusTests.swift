import Foundation
import Testing

@testable import Recurrent

/// The error `body` throws, as text ("invalid data: ..."), or nil if it does not throw.
/// Shared by the data-source tests (text, CSV, WAV, log-mel, sampling).
func dataErrorText(_ body: () throws -> Void) -> String? {
  do {
    try body()
    return nil
  } catch {
    return "\(error)"
  }
}

/// The `RecurrentError` `body` throws, or nil.
func dataError(_ body: () throws -> Void) -> RecurrentError? {
  do {
    try body()
    return nil
  } catch let error as RecurrentError {
    return error
  } catch {
    return nil
  }
}

@Suite struct TextCorpusTests {
  // MARK: - Vocabulary

  @Test func vocabularyIsSortedByCodePointAndRoundTrips() throws {
    let text = "héllo wörld\r\n😀 e\u{301}\u{0}\"\\"
    let corpus = try TextCorpus(text: text)
    let v = corpus.vocabulary
    #expect(v.unit == .unicodeScalars)
    #expect(v.symbols == v.symbols.sorted())
    #expect(v.count == Set(text.unicodeScalars.map(\.value)).count)
    #expect(corpus.count == text.unicodeScalars.count)  // code points, not grapheme clusters
    #expect(try v.decode(corpus.ids) == text)
    #expect(try v.encode(text) == corpus.ids)
    // "e" + combining acute are two symbols; CR and LF are two symbols.
    #expect(v.id(of: 0x301) != nil && v.id(of: 0x0D) != nil && v.id(of: 0x0A) != nil)
    #expect(try v.symbol(v.id(of: 0x1F600)!) == "😀")
  }

  @Test func bytesModeUsesRawUTF8Bytes() throws {
    let text = "aé😀"
    let corpus = try TextCorpus(text: text, unit: .bytes)
    #expect(corpus.count == 1 + 2 + 4)
    #expect(corpus.vocabulary.count == 7)
    #expect(corpus.vocabulary.symbols.allSatisfy { $0 < 256 })
    #expect(try corpus.vocabulary.decode(corpus.ids) == text)
    // Any bytes are valid in bytes mode, and decode shows broken UTF-8 as U+FFFD.
    let raw = try TextCorpus(bytes: [0x61, 0xFF, 0xC3], unit: .bytes)
    #expect(raw.count == 3)
    #expect(try raw.vocabulary.decode([raw.vocabulary.id(of: 0xFF)!]) == "\u{FFFD}")
  }

  @Test func vocabularyJSONRoundTripsForCheckpoints() throws {
    let text = "ab \"q\" \\ \n\t\u{0}\u{7F}é😀\u{301}"
    let v = try TextCorpus(text: text).vocabulary
    let restored = try Vocabulary(json: v.json)
    #expect(restored == v)
    #expect(try restored.encode(text) == v.encode(text))
    #expect(v.json.hasPrefix("{\"unit\":\"unicode_scalars\",\"symbols\":["))
    let b = try TextCorpus(text: text, unit: .bytes).vocabulary
    #expect(try Vocabulary(json: b.json) == b)
    #expect(b.json.hasPrefix("{\"unit\":\"bytes\",\"symbols\":[0,9,10,"))
    #expect(Vocabulary.metadataKey == "vocabulary")
  }

  @Test func badVocabularyJSONIsRejectedWithAReason() {
    let cases: [(String, String)] = [
      ("not json", "not valid JSON"),
      ("[1, 2]", "expected a JSON object"),
      ("{\"symbols\":[\"a\"]}", "\"unit\""),
      ("{\"unit\":\"words\",\"symbols\":[\"a\"]}", "unknown unit"),
      ("{\"unit\":\"unicode_scalars\"}", "\"symbols\""),
      ("{\"unit\":\"unicode_scalars\",\"symbols\":[\"ab\"]}", "symbols[0]"),
      ("{\"unit\":\"unicode_scalars\",\"symbols\":[\"a\",\"a\"]}", "appears twice"),
      ("{\"unit\":\"unicode_scalars\",\"symbols\":[]}", "no symbols"),
      ("{\"unit\":\"bytes\",\"symbols\":[300]}", "symbols[0]"),
    ]
    for (json, expected) in cases {
      let message = dataErrorText { _ = try Vocabulary(json: json) }
      #expect(message?.contains(expected) == true, "\(json): \(message ?? "no error")")
    }
  }

  @Test func encodingAnUnknownSymbolNamesItAndItsPosition() throws {
    let v = try TextCorpus(text: "abc").vocabulary
    let message = dataErrorText { _ = try v.encode("abxc") }
    #expect(message?.contains("'x' (U+0078) at position 2") == true, "\(message ?? "")")
    #expect(dataError { _ = try v.decode([0, 3]) } == .invalidArgument("vocabulary: id 3 is outside 0..<3"))
  }

  // MARK: - Reading files

  @Test func invalidUTF8NamesTheByteOffsetAndLine() {
    let cases: [([UInt8], String)] = [
      (Array("ab\ncd".utf8) + [0x80] + Array("e".utf8), "byte offset 5 (line 2): no valid UTF-8 sequence starts with bytes 0x80 0x65"),
      (Array("abc".utf8) + [0xE2, 0x82], "byte offset 3 (line 1): no valid UTF-8 sequence starts with bytes 0xE2 0x82"),
      ([0x61, 0xC3, 0x28], "byte offset 1 (line 1): no valid UTF-8 sequence starts with bytes 0xC3 0x28"),
      ([0x0A, 0x0D, 0x0A, 0xC0, 0x80], "byte offset 3 (line 3): no valid UTF-8 sequence starts with bytes 0xC0 0x80"),
      ([0xE0, 0x80, 0x80], "byte offset 0 (line 1): no valid UTF-8 sequence starts with bytes 0xE0 0x80 0x80"),  // overlong
      ([0x61, 0xED, 0xA0, 0x80], "byte offset 1 (line 1): no valid UTF-8 sequence starts with bytes 0xED 0xA0 0x80"),  // surrogate
      ([0xF4, 0x90, 0x80, 0x80, 0x61], "byte offset 0 (line 1): no valid UTF-8 sequence starts with bytes 0xF4 0x90 0x80 0x80 ..."),
    ]
    for (bytes, expected) in cases {
      let message = dataErrorText { _ = try TextCorpus(bytes: bytes, source: "in.txt") }
      #expect(message?.contains("in.txt: invalid UTF-8 at \(expected)") == true, "\(message ?? "no error")")
    }
  }

  @Test func readsAFileDroppingTheBOMAndReportsIOErrors() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("textcorpus-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let url = dir.appendingPathComponent("in.txt")
    try Data([0xEF, 0xBB, 0xBF] + Array("hello".utf8)).write(to: url)
    let corpus = try TextCorpus(contentsOf: url)
    #expect(try corpus.vocabulary.decode(corpus.ids) == "hello")
    #expect(corpus.source == url.path)

    let missing = dir.appendingPathComponent("nope.txt")
    #expect(dataError { _ = try TextCorpus(contentsOf: missing) } == .io("cannot open '\(missing.path)': No such file or directory"))
    #expect(dataError { _ = try TextCorpus(contentsOf: dir) } == .io("cannot read '\(dir.path)': not a regular file"))
    try Data().write(to: url)
    #expect(dataError { _ = try TextCorpus(contentsOf: url) } == .invalidData("\(url.path): the text is empty"))
  }

  @Test func aGivenVocabularyEncodesNewText() throws {
    let v = try TextCorpus(text: "abc").vocabulary
    let other = try TextCorpus(text: "cab", vocabulary: v)
    #expect(other.ids == [2, 0, 1])
    #expect(dataErrorText { _ = try TextCorpus(text: "cad", vocabulary: v) }?.contains("'d'") == true)
  }

  // MARK: - Split and batches

  @Test func splitTakesTheLastFractionForValidation() throws {
    let corpus = try TextCorpus(text: String(repeating: "abcdefghij", count: 10))
    let (train, val) = try corpus.split(validationFraction: 0.1)
    #expect(train.count == 90 && val.count == 10)
    #expect(train + val == corpus.ids)
    #expect(try corpus.split(validationFraction: 0).validation.isEmpty)
    #expect(dataError { _ = try corpus.split(validationFraction: 1) } != nil)
    #expect(dataError { _ = try corpus.split(validationFraction: 0.001) } != nil)  // 0 validation symbols
    #expect(dataError { _ = try corpus.split(validationFraction: .nan) } != nil)
  }

  @Test func tbpttChunksCoverEachStreamContiguously() throws {
    let ids = Array(0..<103).map { $0 % 50 }
    let batches = try TBPTTBatches(ids: ids, batchSize: 4, steps: 7)
    #expect(batches.streamLength == 25)  // (103 - 1) / 4
    #expect(batches.count == 4)  // 7 + 7 + 7 + 4
    #expect(batches.droppedTokens == 2)
    var rows = [[Float]](repeating: [], count: 4), targetRows = [[Float]](repeating: [], count: 4)
    var expectedStart = 0
    for chunk in batches {
      #expect(chunk.steps.lowerBound == expectedStart)
      expectedStart = chunk.steps.upperBound
      #expect(chunk.inputs.shape == [4, chunk.steps.count] && chunk.targets.shape == chunk.inputs.shape)
      for b in 0..<4 {
        rows[b] += chunk.inputs.scalars[(b * chunk.steps.count)..<((b + 1) * chunk.steps.count)]
        targetRows[b] += chunk.targets.scalars[(b * chunk.steps.count)..<((b + 1) * chunk.steps.count)]
      }
    }
    #expect(batches[3].inputs.shape == [4, 4])
    for b in 0..<4 {
      // Stream b is ids[25b ..< 25b + 25] and its targets are the next ids.
      #expect(rows[b] == ids[(25 * b)..<(25 * b + 25)].map(Float.init))
      #expect(targetRows[b] == ids[(25 * b + 1)..<(25 * b + 26)].map(Float.init))
    }
    let (x, y) = batches.streams()
    #expect(x.shape == [4, 25] && x.scalars == rows.flatMap { $0 } && y.scalars == targetRows.flatMap { $0 })
  }

  @Test func tbpttRejectsBadSizes() {
    #expect(dataError { _ = try TBPTTBatches(ids: [1, 2, 3], batchSize: 3, steps: 2) } != nil)  // needs 4 ids
    #expect(dataError { _ = try TBPTTBatches(ids: [1, 2, 3], batchSize: 0, steps: 2) } != nil)
    #expect(dataError { _ = try TBPTTBatches(ids: [1, 2, 3], batchSize: 1, steps: 0) } != nil)
    #expect((try? TBPTTBatches(ids: [1, 2], batchSize: 1, steps: 5))?.count == 1)
  }

  // MARK: - Bits per character and the training loops

  @Test func bitsPerCharacterIsNatsOverLn2() {
    #expect(abs(CharLanguageModel.bitsPerCharacter(nats: log(2)) - 1) < 1e-15)
    #expect(abs(CharLanguageModel.bitsPerCharacter(nats: log(65)) - log2(65)) < 1e-12)
  }

  static func charModel(vocabulary V: Int, seed: UInt64 = 3) -> Sequential<Float> {
    Sequential<Float>(seed: seed) {
      Embedding(vocabularySize: V, dimension: 8)
      LSTM(units: 16, returnSequences: true)
      Dense(units: V)
    }
  }

  @Test func carriedStateOverChunksEqualsOneLongPass() throws {
    // Evaluating in chunks of 3 with the state carried must equal one pass over whole streams.
    let corpus = try TextCorpus(text: "the quick brown fox jumps over the lazy dog, again and again")
    let model = Self.charModel(vocabulary: corpus.vocabulary.count)
    let chunked = try CharLanguageModel.meanCrossEntropy(model, on: TBPTTBatches(ids: corpus.ids, batchSize: 2, steps: 3))
    let whole = try CharLanguageModel.meanCrossEntropy(model, on: TBPTTBatches(ids: corpus.ids, batchSize: 2, steps: 1000))
    #expect(abs(chunked - whole) < 1e-5, "chunked \(chunked) vs whole \(whole)")
    // An untrained model is close to uniform: about log(V) nats.
    #expect(abs(whole - log(Double(corpus.vocabulary.count))) < 0.2)
    // The flags are restored and the state cleared.
    for case let l as StatefulLayer in model.layers { #expect(!l.stateful) }
  }

  @Test func trainEpochLearnsARepeatingText() throws {
    let corpus = try TextCorpus(text: String(repeating: "abcd", count: 60))
    let model = Self.charModel(vocabulary: 4)
    model.compile(optimizer: Adam(learningRate: 0.02), loss: SparseCategoricalCrossentropy())
    let batches = try TBPTTBatches(ids: corpus.ids, batchSize: 4, steps: 10)
    var chunksSeen = 0
    let first = try CharLanguageModel.trainEpoch(model, on: batches) { _, _ in chunksSeen += 1 }
    #expect(chunksSeen == batches.count)
    var last = first
    for _ in 0..<15 { last = try CharLanguageModel.trainEpoch(model, on: batches) }
    #expect(last < 0.1 * first, "first \(first), last \(last)")
    let bpc = CharLanguageModel.bitsPerCharacter(nats: try CharLanguageModel.meanCrossEntropy(model, on: batches))
    #expect(bpc < 0.2)
    // Greedy sampling continues the pattern.
    let text = try TextGenerator(model: model, vocabulary: corpus.vocabulary)
      .generate(prime: "ab", length: 8, temperature: 0, seed: 1)
    #expect(text == "cdabcdab")
  }

  @Test func trainingLoopsRejectModelsThatDoNotFit() throws {
    let ids = Array(repeating: [0, 1, 2], count: 10).flatMap { $0 }
    let batches = try TBPTTBatches(ids: ids, batchSize: 2, steps: 4)
    let uncompiled = Self.charModel(vocabulary: 3)
    #expect(dataError { try CharLanguageModel.trainEpoch(uncompiled, on: batches) } != nil)
    let lastOnly = Sequential<Float>(seed: 1) {
      Embedding(vocabularySize: 3, dimension: 4)
      GRU(units: 4)
      Dense(units: 3)
    }
    let message = dataErrorText { _ = try CharLanguageModel.meanCrossEntropy(lastOnly, on: batches) }
    #expect(message?.contains("returnSequences") == true, "\(message ?? "")")
  }
}
