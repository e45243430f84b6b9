import Foundation
import Testing

@testable import Recurrent

#if canImport(Glibc)
import Glibc
#endif

/// Fixtures of the IO tests live next to this file; `make_safetensors_fixtures.py` writes the
/// Python-side ones and checks the Swift-side ones.
enum IOFixtures {
  static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
  static func url(_ name: String) -> URL { directory.appendingPathComponent(name) }

  // The formulas of make_safetensors_fixtures.py.
  static func f32(_ n: Int) -> [Float] { (0..<n).map { Float(Double($0) / 7 - 0.5) } }
  static func f64(_ n: Int) -> [Double] { (0..<n).map { Double($0) / 3 - 1 } }
  static func i32(_ n: Int) -> [Int64] { (0..<n).map { Int64(($0 - 2) * 1000) } }
  static func i64(_ n: Int) -> [Int64] { (0..<n).map { Int64($0 - 1) * 1_000_000_007 * 3 } }

  /// Calls `body` with a directory nobody may create files in: a temporary one with mode 0555,
  /// or, for root (who ignores permission bits), /sys, which refuses new files even to root.
  static func withReadOnlyDirectory(_ body: (URL) throws -> Void) throws {
    guard geteuid() != 0 else { return try body(URL(fileURLWithPath: "/sys")) }
    let dir = try temporaryDirectory()
    chmod(dir.path, 0o555)
    defer {
      chmod(dir.path, 0o755)
      try? FileManager.default.removeItem(at: dir)
    }
    try body(dir)
  }

  /// A fresh empty directory under the system temporary directory.
  static func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("recurrent-io-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
  }
}

/// Expects `body` to throw `RecurrentError.invalidData` whose message contains every fragment.
func expectInvalidData(
  _ fragments: String..., sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void
) {
  do {
    try body()
    Issue.record("expected invalidData containing \(fragments), nothing was thrown", sourceLocation: sourceLocation)
  } catch let RecurrentError.invalidData(message) {
    for f in fragments where !message.contains(f) {
      Issue.record("message \"\(message)\" lacks \"\(f)\"", sourceLocation: sourceLocation)
    }
  } catch {
    Issue.record("expected invalidData containing \(fragments), got \(error)", sourceLocation: sourceLocation)
  }
}

@Suite struct SafetensorsTests {
  // MARK: - Interoperability

  @Test func readsAFileWrittenByPythonSafetensors() throws {
    let file = try SafetensorsFile(contentsOf: IOFixtures.url("st_python.safetensors"))
    #expect(file.metadata == ["source": "python", "note": "make_safetensors_fixtures.py"])
    #expect(Set(file.names) == ["a_f32", "b_f64", "c_i32", "d_i64", "e_f16", "f_scalar", "g_empty", "layers.0.weight"])
    let a = try file.tensor("a_f32", as: Float.self)
    #expect(a.shape == [2, 3] && a.scalars == IOFixtures.f32(6))
    #expect(file["a_f32"]?.dtype == .f32)
    let b = try file.tensor("b_f64", as: Double.self)
    #expect(b.shape == [4] && b.scalars == IOFixtures.f64(4))
    #expect(try file.integers("c_i32") == IOFixtures.i32(4))
    #expect(file["c_i32"]?.shape == [2, 2])
    #expect(try file.integers("d_i64") == IOFixtures.i64(3))
    #expect(try file.doubles("e_f16") == [0.5, -2, 65504, 0x1p-24])
    let scalar = try file.tensor("f_scalar", as: Float.self)
    #expect(scalar.shape == [] && scalar.scalars == [3.25])
    #expect(try file.tensor("g_empty", as: Float.self).shape == [0, 3])
    #expect(try file.tensor("layers.0.weight", as: Float.self).scalars == IOFixtures.f32(12))
    expectInvalidData("no tensor named 'nope'", "st_python.safetensors") { _ = try file.tensor("nope", as: Float.self) }
    expectInvalidData("expected an integer dtype") { _ = try file.integers("a_f32") }
  }

  /// The Swift-side fixtures that `make_safetensors_fixtures.py --check` verifies in Python.
  static func swiftFixtures() throws -> [(String, [UInt8])] {
    var w = SafetensorsWriter(metadata: ["writer": "recurrent", "unicode": "grüße ✓"])
    try w.add("f32", Tensor<Float>(shape: [2, 3], scalars: IOFixtures.f32(6)))
    try w.add("f64", Tensor<Double>(shape: [4], scalars: IOFixtures.f64(4)))
    try w.add("i32", integers: IOFixtures.i32(4), shape: [2, 2], as: .i32)
    try w.add("i64", integers: IOFixtures.i64(3), shape: [3])
    try w.add("scalar", Tensor<Float>(shape: [], scalars: [3.25]))
    try w.add("empty", Tensor<Double>(shape: [0, 2]))
    let model = fixtureModel()
    let dir = try IOFixtures.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let checkpoint = dir.appendingPathComponent("m.safetensors")
    try model.save(to: checkpoint)
    let x = NPYArray(Tensor<Float>(shape: [2, 4, 3], scalars: IOFixtures.f32(24)))
    return [
      ("st_swift_tensors.safetensors", w.serialized()),
      ("st_swift_checkpoint.safetensors", try AtomicFile.read(checkpoint)),
      ("npy_swift_x.npy", x.serialized()),
    ]
  }

  static func fixtureModel() -> Sequential<Float> {
    let model = Sequential(seed: 3) {
      LSTM(units: 2)
      Dense(units: 1)
    }
    try! model.build(inputShape: [4, 3])
    var rng = SeededGenerator(seed: 11)
    model.store.params = model.store.params.map { _ in Float(rng.nextUnit() - 0.5) }
    return model
  }

  /// Set RECURRENT_WRITE_FIXTURES=1 to rewrite the Swift-side fixtures, then run
  /// `Scripts/fixtures/make_safetensors_fixtures.py --check`. Otherwise the committed files
  /// must be exactly what the writers produce today (the predictions within 1e-6, since other
  /// CPUs may round differently).
  @Test func swiftFixturesAreUpToDate() throws {
    let model = Self.fixtureModel()
    let y = try model.predict(Tensor<Float>(shape: [2, 4, 3], scalars: IOFixtures.f32(24)))
    if ProcessInfo.processInfo.environment["RECURRENT_WRITE_FIXTURES"] == "1" {
      for (name, bytes) in try Self.swiftFixtures() { try AtomicFile.write(bytes, to: IOFixtures.url(name)) }
      try NPYArray(y, dtype: .float32).write(to: IOFixtures.url("npy_swift_y.npy"))
    }
    for (name, bytes) in try Self.swiftFixtures() {
      #expect(try AtomicFile.read(IOFixtures.url(name)) == bytes, "\(name) is stale: rerun with RECURRENT_WRITE_FIXTURES=1")
    }
    let committed = try NPYArray(contentsOf: IOFixtures.url("npy_swift_y.npy")).tensor(as: Float.self)
    #expect(committed.shape == y.shape)
    #expect(zip(committed.scalars, y.scalars).allSatisfy { abs($0 - $1) <= 1e-6 })
  }

  // MARK: - Writer

  @Test func writerRoundTripsEveryDTypeAndAligns() throws {
    var w = SafetensorsWriter(metadata: ["b": "2", "a": "1"])
    let f = Tensor<Float>(shape: [3, 1], scalars: [1.5, -.infinity, .leastNonzeroMagnitude])
    try w.add("float", f)
    try w.add("double", Tensor<Double>(shape: [2], scalars: [.pi, -0.0]))
    try w.add("float-as-f64", f, as: .f64)
    try w.add("ints", integers: [Int64.min, Int64.max, 0], shape: [3])
    try w.add("small", integers: [-5, 7], shape: [2], as: .i32)
    let bytes = w.serialized()
    let headerLength = Int(bytes[0]) | Int(bytes[1]) << 8
    #expect((8 + headerLength) % 8 == 0)
    let file = try SafetensorsFile(bytes: bytes)
    #expect(file.metadata == ["a": "1", "b": "2"])
    // Larger dtypes first, so every tensor is aligned to its element size.
    #expect(file.names == ["double", "float-as-f64", "ints", "float", "small"])
    for info in file.tensors { #expect(info.dataOffsets.lowerBound % info.dtype.byteSize == 0) }
    #expect(try file.tensor("float", as: Float.self) == f)
    #expect(try file.tensor("float-as-f64", as: Float.self) == f)
    #expect(file["float-as-f64"]?.dtype == .f64)
    let d = try file.tensor("double", as: Double.self)
    #expect(d.scalars[0] == .pi && d.scalars[1].sign == .minus)
    #expect(try file.integers("ints") == [Int64.min, Int64.max, 0])
    #expect(try file.integers("small") == [-5, 7])
    // Deterministic output.
    #expect(w.serialized() == bytes)
  }

  @Test func writerRejectsBadNames() throws {
    var w = SafetensorsWriter()
    try w.add("x", Tensor<Float>(shape: [1]))
    #expect(throws: RecurrentError.self) { try w.add("x", Tensor<Float>(shape: [1])) }
    #expect(throws: RecurrentError.self) { try w.add("__metadata__", Tensor<Float>(shape: [1])) }
    #expect(throws: RecurrentError.self) { try w.add("y", integers: [1 << 40], shape: [1], as: .i32) }
    #expect(throws: RecurrentError.self) { try w.add("z", doubles: [1, 2], shape: [3]) }
  }

  // MARK: - Malformed files

  /// A file with `header` as its JSON header (length `declared` if given) and `data` after it.
  static func file(_ header: String, data: [UInt8] = [], declared: UInt64? = nil) -> [UInt8] {
    let h = Array(header.utf8)
    let n = declared ?? UInt64(h.count)
    return withUnsafeBytes(of: n.littleEndian) { Array($0) } + h + data
  }

  static func entry(_ name: String, _ dtype: String = "F32", _ shape: String = "[2]", _ offsets: String) -> String {
    "\"\(name)\":{\"dtype\":\"\(dtype)\",\"shape\":\(shape),\"data_offsets\":\(offsets)}"
  }

  static func load(_ bytes: [UInt8]) throws { _ = try SafetensorsFile(bytes: bytes, source: "bad.safetensors") }

  @Test func malformedFilesThrowTypedErrors() throws {
    let eight = [UInt8](repeating: 0, count: 8)
    expectInvalidData("bad.safetensors", "too short") { try Self.load([1, 0, 0]) }
    expectInvalidData("header length 4096 runs past the end") { try Self.load(Self.file("{}", declared: 4096)) }
    expectInvalidData("exceeds the 100000000-byte limit") { try Self.load(Self.file("{}", declared: 1 << 40)) }
    expectInvalidData("exceeds the 100000000-byte limit") { try Self.load(Self.file("{}", declared: UInt64.max)) }
    expectInvalidData("not valid JSON", "invalid UTF-8") { try Self.load(withUnsafeBytes(of: UInt64(4).littleEndian) { Array($0) } + [0x7B, 0xFF, 0xFE, 0x7D]) }
    expectInvalidData("not valid JSON") { try Self.load(Self.file("{\"a\": nonsense}")) }
    expectInvalidData("must be a JSON object starting with '{'") { try Self.load(Self.file("[1, 2]")) }
    expectInvalidData("not valid JSON", "unexpected data after") { try Self.load(Self.file("{} {}")) }
    expectInvalidData("tensor 'x'", "unknown dtype \"F128\"") { try Self.load(Self.file("{\(Self.entry("x", "F128", "[2]", "[0,8]"))}", data: eight)) }
    expectInvalidData("tensor 'x'", "shape[0] = -2") { try Self.load(Self.file("{\(Self.entry("x", "F32", "[-2]", "[0,8]"))}", data: eight)) }
    expectInvalidData("tensor 'x'", "shape[1] = 1.5") { try Self.load(Self.file("{\(Self.entry("x", "F32", "[2,1.5]", "[0,8]"))}", data: eight)) }
    expectInvalidData("tensor 'x'", "overflows") {
      try Self.load(Self.file("{\(Self.entry("x", "F32", "[4294967296,4294967296,4294967296]", "[0,8]"))}", data: eight))
    }
    expectInvalidData("tensor 'x'", "overflows the byte count") {
      try Self.load(Self.file("{\(Self.entry("x", "F64", "[2305843009213693952]", "[0,8]"))}", data: eight))
    }
    expectInvalidData("tensor 'x'", "inverted") { try Self.load(Self.file("{\(Self.entry("x", "F32", "[0]", "[8,0]"))}", data: eight)) }
    expectInvalidData("tensor 'x'", "past the end of the data buffer (8 bytes)") {
      try Self.load(Self.file("{\(Self.entry("x", "F32", "[4]", "[0,16]"))}", data: eight))
    }
    expectInvalidData("tensor 'x'", "hold 8 bytes", "needs 3 x 4 = 12") { try Self.load(Self.file("{\(Self.entry("x", "F32", "[3]", "[0,8]"))}", data: eight)) }
    expectInvalidData("overlap tensor 'a'") {
      try Self.load(Self.file("{\(Self.entry("a", "F32", "[2]", "[0,8]")),\(Self.entry("b", "F32", "[2]", "[4,12]"))}", data: eight + eight))
    }
    expectInvalidData("tensor 'b'", "hole of 4 bytes") {
      try Self.load(Self.file("{\(Self.entry("a", "F32", "[1]", "[0,4]")),\(Self.entry("b", "F32", "[1]", "[8,12]"))}", data: [UInt8](repeating: 0, count: 12)))
    }
    expectInvalidData("hole of 4 bytes after the header") { try Self.load(Self.file("{\(Self.entry("a", "F32", "[1]", "[4,8]"))}", data: eight)) }
    expectInvalidData("8 bytes at the end of the data buffer belong to no tensor") {
      try Self.load(Self.file("{\(Self.entry("a", "F32", "[2]", "[0,8]"))}", data: eight + eight))
    }
    expectInvalidData("belong to no tensor") { try Self.load(Self.file("{}", data: [1])) }
    expectInvalidData("__metadata__[\"k\"] must be a string") { try Self.load(Self.file("{\"__metadata__\":{\"k\":1}}")) }
    expectInvalidData("__metadata__ must be an object") { try Self.load(Self.file("{\"__metadata__\":[]}")) }
    expectInvalidData("duplicate key \"a\"") {
      try Self.load(Self.file("{\(Self.entry("a", "F32", "[1]", "[0,4]")),\(Self.entry("a", "F32", "[1]", "[4,8]"))}", data: eight))
    }
    expectInvalidData("nesting deeper than 64") {
      try Self.load(Self.file("{\"a\":" + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "}"))
    }
    expectInvalidData("data_offsets\" must be [begin, end]") { try Self.load(Self.file("{\(Self.entry("x", "F32", "[2]", "[0,4,8]"))}", data: eight)) }
    expectInvalidData("unexpected key \"extra\"") {
      try Self.load(Self.file("{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"extra\":1}}", data: eight))
    }
    expectInvalidData("\"dtype\" must be a string") { try Self.load(Self.file("{\"x\":{\"shape\":[2],\"data_offsets\":[0,8]}}", data: eight)) }
    expectInvalidData("expected an object with dtype") { try Self.load(Self.file("{\"x\":3}")) }
    expectInvalidData("data_offsets", "non-negative") { try Self.load(Self.file("{\(Self.entry("x", "F32", "[2]", "[-8,0]"))}", data: eight)) }
    expectInvalidData("data_offsets", "non-negative") { try Self.load(Self.file("{\(Self.entry("x", "F32", "[2]", "[0,99999999999999999999999]"))}", data: eight)) }
  }

  @Test func acceptsPaddingAndEmptyFiles() throws {
    // Header padded with trailing spaces, as the reference writer does.
    let header = "{\(Self.entry("x", "F32", "[2]", "[0,8]"))}   "
    let file = try SafetensorsFile(bytes: Self.file(header, data: Array(repeating: 0, count: 8)))
    #expect(try file.tensor("x", as: Float.self).scalars == [0, 0])
    let empty = try SafetensorsFile(bytes: Self.file("{}"))
    #expect(empty.tensors.isEmpty && empty.metadata.isEmpty)
  }

  @Test func missingAndUnreadableFilesAreIOErrors() throws {
    let dir = try IOFixtures.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let missing = dir.appendingPathComponent("missing.safetensors")
    #expect(throws: RecurrentError.io("cannot open '\(missing.path)': No such file or directory")) {
      _ = try SafetensorsFile(contentsOf: missing)
    }
    #expect(throws: RecurrentError.io("cannot read '\(dir.path)': not a regular file")) {
      _ = try SafetensorsFile(contentsOf: dir)
    }
  }

  // MARK: - Atomic writes

  @Test func aFailedWriteLeavesTheOldFileAndNoTemporaries() throws {
    let dir = try IOFixtures.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let target = dir.appendingPathComponent("model.safetensors")
    try AtomicFile.write([1, 2, 3], to: target)
    struct Injected: Error {}
    #expect(throws: Injected.self) {
      try AtomicFile.write([UInt8](repeating: 9, count: 1000), to: target, beforeRename: { throw Injected() })
    }
    #expect(try AtomicFile.read(target) == [1, 2, 3])
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["model.safetensors"])
    // A rename that fails (the target is a non-empty directory) leaves nothing behind either.
    let blocked = dir.appendingPathComponent("blocked")
    try FileManager.default.createDirectory(at: blocked.appendingPathComponent("inside"), withIntermediateDirectories: true)
    #expect(throws: RecurrentError.self) { try AtomicFile.write([1], to: URL(fileURLWithPath: blocked.path, isDirectory: false)) }
    #expect(Set(try FileManager.default.contentsOfDirectory(atPath: dir.path)) == ["model.safetensors", "blocked"])
    // A successful write replaces the file.
    try AtomicFile.write([4, 5], to: target)
    #expect(try AtomicFile.read(target) == [4, 5])
  }

  @Test func aReadOnlyDirectoryIsAClearIOError() throws {
    try IOFixtures.withReadOnlyDirectory { directory in
      let target = directory.appendingPathComponent("model.safetensors")
      do {
        try AtomicFile.write([1], to: target)
        Issue.record("writing into a read-only directory succeeded")
      } catch let RecurrentError.io(message) {
        #expect(message.contains(target.path))
        #expect(message.contains("cannot create a temporary file in '\(directory.path)'"))
      }
    }
  }

  // MARK: - JSON

  @Test func jsonParsesAndWritesExactly() throws {
    let text = #"{"a":[1,-0,18446744073709551615,1.5e-7,true,false,null],"s":"q\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00 ü","e":{}}"#
    let v = try JSONValue.parse(text)
    let a = try #require(v.object?["a"]?.array)
    #expect(a[2].uint64 == UInt64.max)
    #expect(a[3].double == 1.5e-7)
    #expect(v.object?["s"]?.string == "q\"\\/\u{08}\u{0C}\n\r\té😀 ü")
    #expect(try JSONValue.parse(v.description) == v)
    #expect(JSONValue.double(0.1).description == "0.1")
    #expect(JSONValue.string("\u{01}").description == #""\u0001""#)
    for bad in ["", "{", "[1,]", "{\"a\" 1}", "01", "1.", "-", "\"\\x\"", "\"\\ud800\"", "\"a\nb\"", "tru", "{\"a\":1,\"a\":2}"] {
      #expect(throws: JSONParseError.self, "\(bad)") { try JSONValue.parse(bad) }
    }
    #expect(JSONValue.firstInvalidUTF8([0x41, 0xC0, 0x80]) == 1)  // overlong
    #expect(JSONValue.firstInvalidUTF8([0xED, 0xA0, 0x80]) == 0)  // surrogate
    #expect(JSONValue.firstInvalidUTF8(Array("ok ✓".utf8)) == nil)
  }
}
