import Foundation

/// An array in NumPy's `.npy` format (float32, float64, int32 or int64; C order), read and
/// written without NumPy (https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html):
///
///     "\x93NUMPY" major minor                      6 magic bytes + 2 version bytes
///     header length                                v1: u16 LE; v2, v3: u32 LE
///     header                                       a Python dict literal, ASCII (v3: UTF-8),
///                                                  space-padded and ended by '\n':
///                                                  {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
///     data                                         elements in C (row-major) order
///
/// Reading validates the magic, the version (1.0, 2.0, 3.0), the header dict (exactly the keys
/// `descr`, `fortran_order` (must be False) and `shape`), the dtype (`<f4`, `<f8`, `<i4`, `<i8`;
/// big-endian `>` forms are byte-swapped) and that the data is exactly elements x item size
/// bytes; problems throw `RecurrentError.invalidData` naming the file. Writing uses header
/// version 1.0 (2.0 if the header would not fit), little-endian, 64-byte aligned data.
public struct NPYArray: Equatable, Sendable {
  /// The element types read and written.
  public enum DType: String, Sendable, CaseIterable {
    case float32, float64, int32, int64

    /// NumPy's little-endian type string ("<f4", ...).
    public var descr: String {
      switch self {
      case .float32: "<f4"
      case .float64: "<f8"
      case .int32: "<i4"
      case .int64: "<i8"
      }
    }
    public var itemSize: Int { self == .float32 || self == .int32 ? 4 : 8 }
    public var isFloatingPoint: Bool { self == .float32 || self == .float64 }
  }

  /// The elements, in their stored type.
  public enum Storage: Equatable, Sendable {
    case float32([Float])
    case float64([Double])
    case int32([Int32])
    case int64([Int64])
  }

  public let shape: [Int]
  public let storage: Storage

  public var dtype: DType {
    switch storage {
    case .float32: .float32
    case .float64: .float64
    case .int32: .int32
    case .int64: .int64
    }
  }

  /// Number of elements.
  public var count: Int { shape.reduce(1, *) }

  /// An array of `storage` with `shape` (the element count must match).
  public init(shape: [Int], storage: Storage) {
    let n: Int
    switch storage {
    case .float32(let v): n = v.count
    case .float64(let v): n = v.count
    case .int32(let v): n = v.count
    case .int64(let v): n = v.count
    }
    precondition(shape.allSatisfy { $0 >= 0 } && n == shape.reduce(1, *), "NPYArray: \(n) elements do not fill shape \(shape)")
    self.shape = shape
    self.storage = storage
  }

  /// `tensor` stored as float32 (Float) or float64 (Double), or as `dtype` if given (a float type).
  public init<S: TensorScalar>(_ tensor: Tensor<S>, dtype: DType? = nil) {
    switch dtype ?? (S.self == Float.self ? .float32 : .float64) {
    case .float32: self.init(shape: tensor.shape, storage: .float32(tensor.scalars.map { Float($0) }))
    case .float64: self.init(shape: tensor.shape, storage: .float64(tensor.scalars.map { Double($0) }))
    case .int32: self.init(shape: tensor.shape, storage: .int32(tensor.scalars.map { Int32(Double($0)) }))
    case .int64: self.init(shape: tensor.shape, storage: .int64(tensor.scalars.map { Int64(Double($0)) }))
    }
  }

  /// Integers stored as int64 (or int32).
  public init(integers: [Int], shape: [Int], dtype: DType = .int64) {
    precondition(!dtype.isFloatingPoint, "NPYArray(integers:): dtype must be int32 or int64")
    self.init(
      shape: shape,
      storage: dtype == .int64 ? .int64(integers.map { Int64($0) }) : .int32(integers.map { Int32($0) }))
  }

  /// The elements converted to `S` (integers become their float value).
  public func tensor<S: TensorScalar>(as _: S.Type = S.self) -> Tensor<S> {
    switch storage {
    case .float32(let v): Tensor(shape: shape, scalars: S.self == Float.self ? v as! [S] : v.map { S(Double($0)) })
    case .float64(let v): Tensor(shape: shape, scalars: v.map { S($0) })
    case .int32(let v): Tensor(shape: shape, scalars: v.map { S(Double($0)) })
    case .int64(let v): Tensor(shape: shape, scalars: v.map { S(Double($0)) })
    }
  }

  /// The elements as `Int`. Float elements must be whole numbers; otherwise throws
  /// `RecurrentError.invalidData` naming `source` and the first offending index.
  public func integers(source: String = "array") throws -> [Int] {
    func whole<F: BinaryFloatingPoint>(_ v: [F]) throws -> [Int] {
      try v.enumerated().map { i, x in
        guard x.isFinite, x == x.rounded(.towardZero), let n = Int(exactly: x) else {
          throw RecurrentError.invalidData("\(source): element \(i) is \(x), expected an integer")
        }
        return n
      }
    }
    switch storage {
    case .int32(let v): return v.map { Int($0) }
    case .int64(let v): return v.map { Int($0) }
    case .float32(let v): return try whole(v)
    case .float64(let v): return try whole(v)
    }
  }

  // MARK: - Reading

  /// Reads and validates the file at `url`. Throws `RecurrentError.io` if it cannot be read.
  public init(contentsOf url: URL) throws {
    try self.init(bytes: AtomicFile.read(url), source: url.path)
  }

  /// Parses `bytes` as an .npy file; `source` names it in errors.
  public init(bytes: [UInt8], source: String = "<memory>") throws {
    func bad(_ message: String) -> RecurrentError { .invalidData("\(source): \(message)") }
    let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)
    guard bytes.count >= 10, Array(bytes[0..<6]) == magic else {
      throw bad("not an NPY file (expected the magic bytes \\x93NUMPY at the start)")
    }
    let major = bytes[6], minor = bytes[7]
    let headerStart: Int, headerLength: Int
    switch (major, minor) {
    case (1, 0):
      headerStart = 10
      headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
    case (2, 0), (3, 0):
      guard bytes.count >= 12 else { throw bad("\(bytes.count) bytes is too short for an NPY \(major).0 header") }
      headerStart = 12
      headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
    default:
      throw bad("unsupported NPY format version \(major).\(minor) (expected 1.0, 2.0 or 3.0)")
    }
    guard headerLength <= bytes.count - headerStart else {
      throw bad("header length \(headerLength) runs past the end of the file (\(bytes.count - headerStart) bytes follow)")
    }
    let headerBytes = bytes[headerStart..<(headerStart + headerLength)]
    if major < 3, let i = headerBytes.firstIndex(where: { $0 >= 0x80 }) {
      throw bad("the header has a non-ASCII byte at offset \(i) (version \(major).0 headers are ASCII)")
    }
    guard JSONValue.firstInvalidUTF8(Array(headerBytes)) == nil else { throw bad("the header is not valid UTF-8") }
    let text = String(decoding: headerBytes, as: UTF8.self)
    let dict: [String: PythonLiteral]
    do {
      dict = try PythonLiteral.parseDict(text)
    } catch let e as PythonLiteral.ParseError {
      throw bad("the header is not a valid dict literal: \(e.message) (header: \(text.trimmingCharacters(in: .whitespacesAndNewlines)))")
    }
    guard Set(dict.keys) == ["descr", "fortran_order", "shape"] else {
      throw bad("the header must have exactly the keys 'descr', 'fortran_order' and 'shape', got \(dict.keys.sorted())")
    }
    guard case .string(let descr) = dict["descr"]! else {
      throw bad("'descr' must be a string such as '<f4', got \(dict["descr"]!)")
    }
    guard case .bool(let fortran) = dict["fortran_order"]! else {
      throw bad("'fortran_order' must be True or False, got \(dict["fortran_order"]!)")
    }
    guard !fortran else {
      throw bad("fortran_order is True; only C-order arrays are supported (save np.ascontiguousarray(a))")
    }
    guard case .tuple(let dims) = dict["shape"]! else {
      throw bad("'shape' must be a tuple of integers, got \(dict["shape"]!)")
    }
    var shape = [Int]()
    var count = 1
    for d in dims {
      guard case .int(let v) = d, v >= 0 else { throw bad("'shape' must hold non-negative integers, got \(dict["shape"]!)") }
      shape.append(v)
      let (p, overflow) = count.multipliedReportingOverflow(by: v)
      guard !overflow else { throw bad("shape \(shape) overflows the element count") }
      count = p
    }
    let (dtype, bigEndian) = try Self.dtype(descr, bad: bad)
    let dataStart = headerStart + headerLength
    let dataLength = bytes.count - dataStart
    let (needed, overflow) = count.multipliedReportingOverflow(by: dtype.itemSize)
    guard !overflow, dataLength == needed else {
      throw bad(
        "the data is \(dataLength) bytes, but shape \(shape) of \(dtype.rawValue) needs "
          + (overflow ? "more than the file can hold" : "\(count) x \(dtype.itemSize) = \(needed)"))
    }
    func load<T>(_ element: (UnsafeRawBufferPointer, Int) -> T) -> [T] {
      bytes.withUnsafeBytes { all in
        let raw = UnsafeRawBufferPointer(rebasing: all[dataStart...])
        return (0..<count).map { element(raw, $0) }
      }
    }
    func u32(_ r: UnsafeRawBufferPointer, _ i: Int) -> UInt32 {
      let v = r.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)
      return bigEndian ? UInt32(bigEndian: v) : UInt32(littleEndian: v)
    }
    func u64(_ r: UnsafeRawBufferPointer, _ i: Int) -> UInt64 {
      let v = r.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)
      return bigEndian ? UInt64(bigEndian: v) : UInt64(littleEndian: v)
    }
    let storage: Storage
    switch dtype {
    case .float32: storage = .float32(load { Float(bitPattern: u32($0, $1)) })
    case .float64: storage = .float64(load { Double(bitPattern: u64($0, $1)) })
    case .int32: storage = .int32(load { Int32(bitPattern: u32($0, $1)) })
    case .int64: storage = .int64(load { Int64(bitPattern: u64($0, $1)) })
    }
    self.init(shape: shape, storage: storage)
  }

  private static func dtype(_ descr: String, bad: (String) -> RecurrentError) throws -> (DType, bigEndian: Bool) {
    let chars = Array(descr)
    let supported = "expected float32, float64, int32 or int64 ('<f4', '<f8', '<i4', '<i8')"
    guard chars.count == 3, "<>=|".contains(chars[0]) else { throw bad("dtype '\(descr)' is not supported; \(supported)") }
    let dtype: DType
    switch String(chars[1...]) {
    case "f4": dtype = .float32
    case "f8": dtype = .float64
    case "i4": dtype = .int32
    case "i8": dtype = .int64
    default: throw bad("dtype '\(descr)' is not supported; \(supported)")
    }
    guard chars[0] != "|" else { throw bad("dtype '\(descr)' has no byte order; \(supported)") }
    return (dtype, chars[0] == ">")
  }

  // MARK: - Writing

  /// The file's bytes: header version 1.0 (2.0 when the header exceeds 65535 bytes, or when
  /// `version` is 2), little-endian, data aligned to 64 bytes.
  public func serialized(version: Int = 1) -> [UInt8] {
    precondition(version == 1 || version == 2, "NPYArray.serialized: version must be 1 or 2")
    let dims = shape.map(String.init).joined(separator: ", ") + (shape.count == 1 ? "," : "")
    var header = Array("{'descr': '\(dtype.descr)', 'fortran_order': False, 'shape': (\(dims)), }".utf8)
    let v = version == 2 || header.count + 11 > 65535 ? 2 : 1
    let prefix = v == 1 ? 10 : 12
    while (prefix + header.count + 1) % 64 != 0 { header.append(UInt8(ascii: " ")) }
    header.append(UInt8(ascii: "\n"))
    var out: [UInt8] = [0x93] + Array("NUMPY".utf8) + [UInt8(v), 0]
    out.reserveCapacity(prefix + header.count + count * dtype.itemSize)
    let n = header.count
    out += v == 1 ? [UInt8(n & 0xFF), UInt8(n >> 8)] : [UInt8(n & 0xFF), UInt8((n >> 8) & 0xFF), UInt8((n >> 16) & 0xFF), UInt8(n >> 24)]
    out += header
    func put<I: FixedWidthInteger>(_ x: I) { withUnsafeBytes(of: x.littleEndian) { out.append(contentsOf: $0) } }
    switch storage {
    case .float32(let values): for x in values { put(x.bitPattern) }
    case .float64(let values): for x in values { put(x.bitPattern) }
    case .int32(let values): for x in values { put(x) }
    case .int64(let values): for x in values { put(x) }
    }
    return out
  }

  /// Writes the file to `url` atomically (see `AtomicFile`).
  public func write(to url: URL, version: Int = 1) throws {
    try AtomicFile.write(serialized(version: version), to: url)
  }
}

/// The subset of Python literals an NPY header uses: a dict of string keys to strings,
/// booleans, integers and tuples of integers.
enum PythonLiteral: Equatable, CustomStringConvertible {
  case string(String)
  case bool(Bool)
  case int(Int)
  case tuple([PythonLiteral])
  case none

  struct ParseError: Error { var message: String }

  var description: String {
    switch self {
    case .string(let s): "'\(s)'"
    case .bool(let b): b ? "True" : "False"
    case .int(let i): "\(i)"
    case .tuple(let t): "(" + t.map(\.description).joined(separator: ", ") + (t.count == 1 ? ",)" : ")")
    case .none: "None"
    }
  }

  static func parseDict(_ text: String) throws -> [String: PythonLiteral] {
    var p = Parser(chars: Array(text.unicodeScalars))
    p.skipSpace()
    try p.expect("{")
    var dict = [String: PythonLiteral]()
    while true {
      p.skipSpace()
      if p.peek == "}" { p.i += 1; break }
      guard case .string(let key) = try p.value(depth: 0) else { throw ParseError(message: "dict keys must be strings") }
      p.skipSpace()
      try p.expect(":")
      p.skipSpace()
      let value = try p.value(depth: 0)
      guard dict[key] == nil else { throw ParseError(message: "duplicate key '\(key)'") }
      dict[key] = value
      p.skipSpace()
      if p.peek == "," { p.i += 1; continue }
      p.skipSpace()
      try p.expect("}")
      break
    }
    p.skipSpace()
    guard p.i == p.chars.count else { throw ParseError(message: "unexpected text after the dict") }
    return dict
  }

  struct Parser {
    let chars: [Unicode.Scalar]
    var i = 0
    var peek: Unicode.Scalar? { i < chars.count ? chars[i] : nil }

    mutating func skipSpace() { while let c = peek, c == " " || c == "\n" || c == "\t" || c == "\r" { i += 1 } }

    mutating func expect(_ c: Unicode.Scalar) throws {
      guard peek == c else {
        throw ParseError(message: peek.map { "expected '\(c)', found '\($0)'" } ?? "expected '\(c)', found the end")
      }
      i += 1
    }

    mutating func value(depth: Int) throws -> PythonLiteral {
      guard depth < 8 else { throw ParseError(message: "nested too deeply") }
      guard let c = peek else { throw ParseError(message: "expected a value, found the end") }
      switch c {
      case "'", "\"":
        i += 1
        var s = String.UnicodeScalarView()
        while let d = peek, d != c {
          guard d != "\\", d != "\n" else { throw ParseError(message: "escapes and newlines in strings are not supported") }
          s.append(d)
          i += 1
        }
        try expect(c)
        return .string(String(s))
      case "(":
        i += 1
        var items = [PythonLiteral]()
        while true {
          skipSpace()
          if peek == ")" { i += 1; break }
          items.append(try value(depth: depth + 1))
          skipSpace()
          if peek == "," { i += 1; continue }
          try expect(")")
          break
        }
        return .tuple(items)
      case "-", "0"..."9":
        let start = i
        if c == "-" { i += 1 }
        while let d = peek, ("0"..."9").contains(d) { i += 1 }
        let text = String(String.UnicodeScalarView(chars[start..<i]))
        if peek == "L" { i += 1 }  // Python 2 long
        guard let n = Int(text) else { throw ParseError(message: "invalid integer '\(text)'") }
        return .int(n)
      default:
        for (word, literal) in [("True", PythonLiteral.bool(true)), ("False", .bool(false)), ("None", .none)] {
          let w = Array(word.unicodeScalars)
          if i + w.count <= chars.count, Array(chars[i..<(i + w.count)]) == w {
            i += w.count
            return literal
          }
        }
        throw ParseError(message: "unexpected '\(c)'")
      }
    }
  }
}
