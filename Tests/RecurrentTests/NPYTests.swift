import Foundation
import Testing

@testable import Recurrent

@Suite struct NPYTests {
  // MARK: - Files written by numpy

  @Test func readsNumpyFiles() throws {
    let f32 = try NPYArray(contentsOf: IOFixtures.url("npy_f32_v1.npy"))
    #expect(f32.shape == [2, 3, 4] && f32.storage == .float32(IOFixtures.f32(24)))
    #expect(f32.tensor(as: Float.self).scalars == IOFixtures.f32(24))
    let i32 = try NPYArray(contentsOf: IOFixtures.url("npy_i32_v1.npy"))
    #expect(i32.shape == [2, 3] && i32.storage == .int32(IOFixtures.i32(6).map { Int32($0) }))
    #expect(try i32.integers() == IOFixtures.i32(6).map { Int($0) })
    let be = try NPYArray(contentsOf: IOFixtures.url("npy_f64_be_v1.npy"))  // '>f8', byte-swapped on read
    #expect(be.shape == [5] && be.storage == .float64(IOFixtures.f64(5)))
    let v2 = try NPYArray(contentsOf: IOFixtures.url("npy_i64_v2.npy"))
    #expect(v2.shape == [3, 2] && v2.storage == .int64(IOFixtures.i64(6)))
    #expect(v2.tensor(as: Double.self).scalars == IOFixtures.i64(6).map { Double($0) })
  }

  /// Our writer's bytes equal numpy's for the same arrays (numpy's header layout, 64-byte aligned).
  @Test func writesWhatNumpyWrites() throws {
    let f32 = NPYArray(Tensor<Float>(shape: [2, 3, 4], scalars: IOFixtures.f32(24)))
    #expect(f32.serialized() == (try AtomicFile.read(IOFixtures.url("npy_f32_v1.npy"))))
    let i32 = NPYArray(shape: [2, 3], storage: .int32(IOFixtures.i32(6).map { Int32($0) }))
    #expect(i32.serialized() == (try AtomicFile.read(IOFixtures.url("npy_i32_v1.npy"))))
    let i64 = NPYArray(shape: [3, 2], storage: .int64(IOFixtures.i64(6)))
    #expect(i64.serialized(version: 2) == (try AtomicFile.read(IOFixtures.url("npy_i64_v2.npy"))))
  }

  @Test func roundTripsEveryTypeShapeAndVersion() throws {
    let arrays = [
      NPYArray(shape: [], storage: .float32([1.5])),
      NPYArray(shape: [3], storage: .float64([.pi, -0.0, .greatestFiniteMagnitude])),
      NPYArray(shape: [2, 0], storage: .int32([])),
      NPYArray(shape: [1, 2, 1, 2], storage: .int64([.min, .max, 0, -1])),
      NPYArray(integers: [4, 5, 6], shape: [3], dtype: .int32),
      NPYArray(Tensor<Double>(shape: [2, 2], scalars: [1, 2, 3, 4]), dtype: .float32),
    ]
    for a in arrays {
      for version in [1, 2] {
        let bytes = a.serialized(version: version)
        let headerEnd = version == 1 ? 10 + (Int(bytes[8]) | Int(bytes[9]) << 8) : 12 + (Int(bytes[8]) | Int(bytes[9]) << 8)
        #expect(headerEnd % 64 == 0 && bytes[headerEnd - 1] == UInt8(ascii: "\n"))
        #expect(try NPYArray(bytes: bytes) == a)
      }
    }
    let dir = try IOFixtures.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let url = dir.appendingPathComponent("a.npy")
    try arrays[3].write(to: url)
    #expect(try NPYArray(contentsOf: url) == arrays[3])
  }

  @Test func integersRequireWholeNumbers() throws {
    #expect(try NPYArray(shape: [2], storage: .float32([3, -1])).integers() == [3, -1])
    expectInvalidData("ids.npy: element 1 is 2.5, expected an integer") {
      _ = try NPYArray(shape: [2], storage: .float64([1, 2.5])).integers(source: "ids.npy")
    }
    expectInvalidData("element 0 is nan") { _ = try NPYArray(shape: [1], storage: .float32([.nan])).integers() }
  }

  // MARK: - Malformed files

  /// An .npy file with the given header text (version 1.0 unless `major` says otherwise) and data.
  static func file(_ header: String, data: [UInt8] = [], major: UInt8 = 1, declared: Int? = nil) -> [UInt8] {
    let h = Array(header.utf8)
    let n = declared ?? h.count
    let length: [UInt8] = major == 1 ? [UInt8(n & 0xFF), UInt8(n >> 8 & 0xFF)] : [UInt8(n & 0xFF), UInt8(n >> 8 & 0xFF), 0, 0]
    return [0x93] + Array("NUMPY".utf8) + [major, 0] + length + h + data
  }

  static func load(_ bytes: [UInt8]) throws { _ = try NPYArray(bytes: bytes, source: "bad.npy") }

  @Test func malformedFilesThrowTypedErrors() throws {
    let good = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n"
    let eight = [UInt8](repeating: 0, count: 8)
    #expect(throws: Never.self) { try Self.load(Self.file(good, data: eight)) }
    expectInvalidData("bad.npy", "not an NPY file") { try Self.load(Array("PK\u{03}\u{04} a zip file".utf8)) }
    expectInvalidData("not an NPY file") { try Self.load([0x93, 0x4E]) }
    expectInvalidData("unsupported NPY format version 4.0") { try Self.load(Self.file(good, data: eight, major: 4)) }
    expectInvalidData("header length 900 runs past the end") { try Self.load(Self.file(good, data: eight, declared: 900)) }
    expectInvalidData("not a valid dict literal") { try Self.load(Self.file("[1, 2]\n", data: eight)) }
    expectInvalidData("not a valid dict literal") { try Self.load(Self.file("{'descr': '<f4', 'shape': (2,)", data: eight)) }
    expectInvalidData("exactly the keys", #"got ["descr", "shape"]"#) { try Self.load(Self.file("{'descr': '<f4', 'shape': (2,)}\n", data: eight)) }
    expectInvalidData("exactly the keys") {
      try Self.load(Self.file("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}\n", data: eight))
    }
    expectInvalidData("fortran_order is True") { try Self.load(Self.file("{'descr': '<f4', 'fortran_order': True, 'shape': (2,)}", data: eight)) }
    expectInvalidData("dtype '<f2' is not supported", "'<f4'") {
      try Self.load(Self.file("{'descr': '<f2', 'fortran_order': False, 'shape': (4,)}", data: eight))
    }
    expectInvalidData("dtype '|u1' is not supported") { try Self.load(Self.file("{'descr': '|u1', 'fortran_order': False, 'shape': (8,)}", data: eight)) }
    expectInvalidData("dtype '|f4' has no byte order") { try Self.load(Self.file("{'descr': '|f4', 'fortran_order': False, 'shape': (2,)}", data: eight)) }
    expectInvalidData("'descr' must be a string") { try Self.load(Self.file("{'descr': 4, 'fortran_order': False, 'shape': (2,)}", data: eight)) }
    expectInvalidData("'shape' must hold non-negative integers") {
      try Self.load(Self.file("{'descr': '<f4', 'fortran_order': False, 'shape': (-2,)}", data: eight))
    }
    expectInvalidData("'shape' must be a tuple") { try Self.load(Self.file("{'descr': '<f4', 'fortran_order': False, 'shape': 2}", data: eight)) }
    expectInvalidData("the data is 8 bytes, but shape [3] of float32 needs 3 x 4 = 12") {
      try Self.load(Self.file("{'descr': '<f4', 'fortran_order': False, 'shape': (3,)}", data: eight))
    }
    expectInvalidData("the data is 12 bytes, but shape [2] of float32 needs 2 x 4 = 8") { try Self.load(Self.file(good, data: eight + [0, 0, 0, 0])) }
    expectInvalidData("overflows") {
      try Self.load(Self.file("{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4294967296)}", data: eight))
    }
    expectInvalidData("needs more than the file can hold") {
      try Self.load(Self.file("{'descr': '<f8', 'fortran_order': False, 'shape': (2305843009213693952,)}", data: eight))
    }
    expectInvalidData("non-ASCII byte") { try Self.load(Self.file("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'é': 1}", data: eight)) }
    expectInvalidData("duplicate key 'descr'") {
      try Self.load(Self.file("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}", data: eight))
    }
  }

  @Test func missingFileIsAnIOError() {
    #expect(throws: RecurrentError.io("cannot open '/nonexistent/x.npy': No such file or directory")) {
      _ = try NPYArray(contentsOf: URL(fileURLWithPath: "/nonexistent/x.npy"))
    }
  }
}
