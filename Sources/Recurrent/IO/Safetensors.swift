import Foundation

/// The element types of the safetensors format and their sizes in bytes.
public enum SafetensorsDType: String, Sendable, CaseIterable {
  case bool = "BOOL"
  case u8 = "U8", i8 = "I8"
  case f8E4M3 = "F8_E4M3", f8E5M2 = "F8_E5M2"
  case u16 = "U16", i16 = "I16", f16 = "F16", bf16 = "BF16"
  case u32 = "U32", i32 = "I32", f32 = "F32"
  case u64 = "U64", i64 = "I64", f64 = "F64"

  /// Bytes per element.
  public var byteSize: Int {
    switch self {
    case .bool, .u8, .i8, .f8E4M3, .f8E5M2: 1
    case .u16, .i16, .f16, .bf16: 2
    case .u32, .i32, .f32: 4
    case .u64, .i64, .f64: 8
    }
  }

  public var isFloatingPoint: Bool { [.f8E4M3, .f8E5M2, .f16, .bf16, .f32, .f64].contains(self) }

  /// The dtype a `Tensor<S>` is stored as: F32 for `Float`, F64 for `Double`.
  public static func of<S: TensorScalar>(_: S.Type) -> SafetensorsDType { S.self == Float.self ? .f32 : .f64 }
}

/// A safetensors file, read and validated (https://github.com/huggingface/safetensors):
///
///     [8 bytes]  N, the header length, unsigned little-endian
///     [N bytes]  a UTF-8 JSON object, optionally padded with trailing spaces:
///                  "<tensor name>": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}
///                  "__metadata__": {"<key>": "<string value>", ...}        (optional)
///     [rest]     the data buffer; offsets are relative to its start, little-endian, row-major
///
/// `init` checks everything before any tensor is read and throws `RecurrentError.invalidData`
/// naming the file, the tensor and what was expected: a header length beyond the file or over
/// 100 MB, a header that is not UTF-8 or not a JSON object (or nested deeper than 64 levels, or
/// with duplicate keys), an unknown dtype, a malformed or overflowing shape, inverted offsets,
/// offsets past the end of the data, a byte count different from elements x dtype size, and data
/// that is not covered exactly once (overlaps, holes, trailing bytes). It never allocates more
/// than the file's size (plus the parsed header).
public struct SafetensorsFile: Sendable {
  /// One tensor's entry in the header.
  public struct TensorInfo: Sendable, Equatable {
    public let name: String
    public let dtype: SafetensorsDType
    public let shape: [Int]
    /// Byte range in the data buffer (after the header).
    public let dataOffsets: Range<Int>
    /// Number of elements (the product of `shape`; 1 for a scalar).
    public var count: Int { shape.reduce(1, *) }
  }

  /// The largest header this reader accepts, as the reference implementation.
  public static let maxHeaderLength = 100_000_000

  /// Where the bytes came from (a path), for error messages.
  public let source: String
  /// The `__metadata__` string map (empty when absent).
  public let metadata: [String: String]
  /// Every tensor, in the order of their data.
  public let tensors: [TensorInfo]
  private let bytes: [UInt8]
  private let dataStart: Int
  private let byName: [String: Int]

  /// Reads and validates the file at `url`. Throws `RecurrentError.io` if it cannot be read.
  public init(contentsOf url: URL) throws {
    try self.init(bytes: AtomicFile.read(url), source: url.path)
  }

  /// Validates `bytes` as a safetensors file; `source` names it in errors.
  public init(bytes: [UInt8], source: String = "<memory>") throws {
    func bad(_ message: String) -> RecurrentError { .invalidData("\(source): \(message)") }
    guard bytes.count >= 8 else {
      throw bad("\(bytes.count) bytes is too short for a safetensors file (expected an 8-byte header length first)")
    }
    var n: UInt64 = 0
    for k in 0..<8 { n |= UInt64(bytes[k]) << (8 * UInt64(k)) }
    guard n <= UInt64(Self.maxHeaderLength) else {
      throw bad("header length \(n) exceeds the \(Self.maxHeaderLength)-byte limit")
    }
    guard n <= UInt64(bytes.count - 8) else {
      throw bad("header length \(n) runs past the end of the file (\(bytes.count - 8) bytes follow the length)")
    }
    let headerLength = Int(n)
    guard headerLength >= 2, bytes[8] == UInt8(ascii: "{") else {
      throw bad("the header must be a JSON object starting with '{' right after the 8-byte length")
    }
    let header: JSONValue
    do {
      header = try JSONValue.parse(bytes[8..<(8 + headerLength)])
    } catch let e as JSONParseError {
      throw bad("the header is not valid JSON: \(e.message) at header byte \(e.offset)")
    }
    guard case .object(let members) = header else {
      throw bad("the header must be a JSON object, got \(header.typeDescription)")
    }
    let dataLength = bytes.count - 8 - headerLength
    var metadata = [String: String]()
    var infos = [TensorInfo]()
    for (name, entry) in members.members {
      if name == "__metadata__" {
        guard case .object(let map) = entry else {
          throw bad("__metadata__ must be an object of string values, got \(entry.typeDescription)")
        }
        for (key, value) in map.members {
          guard let s = value.string else {
            throw bad("__metadata__[\"\(key)\"] must be a string, got \(value.typeDescription)")
          }
          metadata[key] = s
        }
        continue
      }
      infos.append(try Self.tensorInfo(name, entry, dataLength: dataLength, bad: bad))
    }
    // The data buffer must be covered exactly once: sorted by offset, each tensor starts where
    // the previous one ended, the first at 0 and the last ends at the end of the file.
    infos.sort { ($0.dataOffsets.lowerBound, $0.dataOffsets.upperBound) < ($1.dataOffsets.lowerBound, $1.dataOffsets.upperBound) }
    var expected = 0
    var previous: String?
    for info in infos {
      let begin = info.dataOffsets.lowerBound
      if begin < expected {
        throw bad(
          "tensor '\(info.name)': data_offsets [\(begin), \(info.dataOffsets.upperBound)] overlap tensor '\(previous!)' "
            + "(which ends at \(expected))")
      }
      if begin > expected {
        throw bad(
          "tensor '\(info.name)': data_offsets start at \(begin), leaving a hole of \(begin - expected) bytes after "
            + (previous.map { "tensor '\($0)'" } ?? "the header") + " (expected \(expected))")
      }
      expected = info.dataOffsets.upperBound
      previous = info.name
    }
    guard expected == dataLength else {
      throw bad(
        "\(dataLength - expected) bytes at the end of the data buffer belong to no tensor "
          + "(tensors cover \(expected) of \(dataLength) bytes)")
    }
    self.source = source
    self.metadata = metadata
    self.tensors = infos
    self.bytes = bytes
    self.dataStart = 8 + headerLength
    self.byName = Dictionary(uniqueKeysWithValues: infos.enumerated().map { ($1.name, $0) })
  }

  private static func tensorInfo(
    _ name: String, _ entry: JSONValue, dataLength: Int, bad: (String) -> RecurrentError
  ) throws -> TensorInfo {
    let label = "tensor '\(name)'"
    guard case .object(let fields) = entry else {
      throw bad("\(label): expected an object with dtype, shape and data_offsets, got \(entry.typeDescription)")
    }
    for key in fields.keys where !["dtype", "shape", "data_offsets"].contains(key) {
      throw bad("\(label): unexpected key \"\(key)\" (expected only dtype, shape and data_offsets)")
    }
    guard let dtypeName = fields["dtype"]?.string else {
      throw bad("\(label): \"dtype\" must be a string, got \(fields["dtype"]?.typeDescription ?? "nothing")")
    }
    guard let dtype = SafetensorsDType(rawValue: dtypeName) else {
      throw bad(
        "\(label): unknown dtype \"\(dtypeName)\" (expected one of "
          + SafetensorsDType.allCases.map(\.rawValue).joined(separator: ", ") + ")")
    }
    guard let dims = fields["shape"]?.array else {
      throw bad("\(label): \"shape\" must be an array of integers, got \(fields["shape"]?.typeDescription ?? "nothing")")
    }
    var shape = [Int]()
    var count = 1
    for (k, d) in dims.enumerated() {
      guard let v = d.int, v >= 0 else {
        throw bad("\(label): shape[\(k)] = \(d) is not a non-negative integer")
      }
      shape.append(v)
      let (product, overflow) = count.multipliedReportingOverflow(by: v)
      guard !overflow else { throw bad("\(label): shape \(dims.map(\.description)) overflows the element count") }
      count = product
    }
    let (byteCount, overflow) = count.multipliedReportingOverflow(by: dtype.byteSize)
    guard !overflow else { throw bad("\(label): shape \(shape) of \(dtype.rawValue) overflows the byte count") }
    guard let offsets = fields["data_offsets"]?.array, offsets.count == 2 else {
      throw bad(
        "\(label): \"data_offsets\" must be [begin, end], got "
          + (fields["data_offsets"].map { $0.description } ?? "nothing"))
    }
    guard let begin = offsets[0].int, let end = offsets[1].int, begin >= 0, end >= 0 else {
      throw bad("\(label): data_offsets \(JSONValue.array(offsets)) must be non-negative integers")
    }
    guard begin <= end else { throw bad("\(label): data_offsets [\(begin), \(end)] are inverted (begin > end)") }
    guard end <= dataLength else {
      throw bad("\(label): data_offsets end \(end) is past the end of the data buffer (\(dataLength) bytes)")
    }
    guard end - begin == byteCount else {
      throw bad(
        "\(label): data_offsets [\(begin), \(end)] hold \(end - begin) bytes, but shape \(shape) of "
          + "\(dtype.rawValue) needs \(count) x \(dtype.byteSize) = \(byteCount)")
    }
    return TensorInfo(name: name, dtype: dtype, shape: shape, dataOffsets: begin..<end)
  }

  /// Tensor names in data order.
  public var names: [String] { tensors.map(\.name) }

  /// The entry for `name`, or nil.
  public subscript(name: String) -> TensorInfo? { byName[name].map { tensors[$0] } }

  private func info(_ name: String) throws -> TensorInfo {
    guard let info = self[name] else { throw RecurrentError.invalidData("\(source): no tensor named '\(name)'") }
    return info
  }

  /// The raw little-endian bytes of tensor `name`.
  public func data(_ name: String) throws -> ArraySlice<UInt8> {
    let info = try info(name)
    return bytes[(dataStart + info.dataOffsets.lowerBound)..<(dataStart + info.dataOffsets.upperBound)]
  }

  /// Tensor `name` converted to `S` (any numeric dtype except the 8-bit floats; F32 -> Float and
  /// F64 -> Double are exact).
  public func tensor<S: TensorScalar>(_ name: String, as _: S.Type = S.self) throws -> Tensor<S> {
    let info = try info(name)
    if S.self == Float.self, info.dtype == .f32 {
      let values: [Float] = load(info) { raw, i in Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
      return Tensor(shape: info.shape, scalars: values as! [S])
    }
    return Tensor(shape: info.shape, scalars: try doubles(name).map { S($0) })
  }

  /// Tensor `name`'s elements as `Double` (exact for every dtype but 64-bit integers beyond 2^53).
  public func doubles(_ name: String) throws -> [Double] {
    let info = try info(name)
    switch info.dtype {
    case .f64: return load(info) { r, i in Double(bitPattern: UInt64(littleEndian: r.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))) }
    case .f32: return load(info) { r, i in Double(Float(bitPattern: UInt32(littleEndian: r.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))) }
    case .f16: return load(info) { r, i in Self.halfToDouble(UInt16(littleEndian: r.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
    case .bf16:
      return load(info) { r, i in
        Double(Float(bitPattern: UInt32(UInt16(littleEndian: r.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) << 16))
      }
    case .f8E4M3, .f8E5M2:
      throw RecurrentError.invalidData("\(source): tensor '\(name)': converting \(info.dtype.rawValue) is not supported")
    default:
      return try integers(name).map { Double($0) }
    }
  }

  /// Tensor `name`'s elements as integers; the dtype must be an integer type or BOOL.
  public func integers(_ name: String) throws -> [Int64] {
    let info = try info(name)
    switch info.dtype {
    case .bool, .u8: return load(info) { r, i in Int64(r[i]) }
    case .i8: return load(info) { r, i in Int64(Int8(bitPattern: r[i])) }
    case .u16: return load(info) { r, i in Int64(UInt16(littleEndian: r.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
    case .i16: return load(info) { r, i in Int64(Int16(littleEndian: r.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self))) }
    case .u32: return load(info) { r, i in Int64(UInt32(littleEndian: r.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
    case .i32: return load(info) { r, i in Int64(Int32(littleEndian: r.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self))) }
    case .i64: return load(info) { r, i in Int64(littleEndian: r.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self)) }
    case .u64:
      let values: [UInt64] = load(info) { r, i in UInt64(littleEndian: r.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)) }
      if let k = values.firstIndex(where: { $0 > UInt64(Int64.max) }) {
        throw RecurrentError.invalidData("\(source): tensor '\(name)': U64 value \(values[k]) at index \(k) exceeds Int64")
      }
      return values.map { Int64($0) }
    default:
      throw RecurrentError.invalidData(
        "\(source): tensor '\(name)' has dtype \(info.dtype.rawValue); expected an integer dtype")
    }
  }

  private func load<T>(_ info: TensorInfo, _ element: (UnsafeRawBufferPointer, Int) -> T) -> [T] {
    let count = info.count
    let start = dataStart + info.dataOffsets.lowerBound
    return bytes.withUnsafeBytes { all in
      let raw = UnsafeRawBufferPointer(rebasing: all[start..<(start + info.dataOffsets.count)])
      return (0..<count).map { element(raw, $0) }
    }
  }

  /// IEEE 754 binary16 to Double.
  static func halfToDouble(_ h: UInt16) -> Double {
    let sign: Double = h & 0x8000 != 0 ? -1 : 1
    let exponent = Int((h >> 10) & 0x1F), fraction = Double(h & 0x3FF)
    switch exponent {
    case 0: return sign * fraction * 0x1p-24  // subnormal
    case 31: return fraction == 0 ? sign * .infinity : .nan
    default: return sign * (1 + fraction / 1024) * Double(sign: .plus, exponent: exponent - 15, significand: 1)
    }
  }
}

/// Builds a safetensors file: add tensors, then `write(to:)` (atomic) or `serialized()`.
///
/// The data of larger dtypes comes first (F64 before F32 before I32 ...) so every tensor starts
/// at a multiple of its element size, and the header is padded with spaces to a multiple of 8
/// bytes, so the data buffer is 8-byte aligned in the file (as the reference writer does).
/// Within a dtype, tensors keep the order they were added in; `__metadata__` (sorted by key)
/// comes first in the header.
public struct SafetensorsWriter {
  /// String metadata written as `__metadata__` (omitted when empty).
  public var metadata: [String: String]
  private var entries: [(name: String, dtype: SafetensorsDType, shape: [Int], data: [UInt8])] = []
  private var names = Set<String>()

  public init(metadata: [String: String] = [:]) { self.metadata = metadata }

  /// Adds `tensor` as `name`, stored as `dtype` (F32 or F64; default F32 for Float, F64 for
  /// Double). Throws `invalidArgument` for a duplicate or reserved name.
  public mutating func add<S: TensorScalar>(_ name: String, _ tensor: Tensor<S>, as dtype: SafetensorsDType? = nil) throws {
    let dtype = dtype ?? .of(S.self)
    var data = [UInt8]()
    data.reserveCapacity(tensor.count * dtype.byteSize)
    switch dtype {
    case .f32:
      for v in tensor.scalars { Self.append(Float(v).bitPattern, to: &data) }
    case .f64:
      for v in tensor.scalars { Self.append(Double(v).bitPattern, to: &data) }
    default:
      throw RecurrentError.invalidArgument("safetensors: tensor '\(name)': floating-point tensors are written as F32 or F64, not \(dtype.rawValue)")
    }
    try append(name, dtype, tensor.shape, data)
  }

  /// Adds `values` [shape] as F64 (or F32).
  public mutating func add(_ name: String, doubles values: [Double], shape: [Int], as dtype: SafetensorsDType = .f64) throws {
    guard values.count == shape.reduce(1, *) else {
      throw RecurrentError.shapeMismatch("safetensors: tensor '\(name)': \(values.count) values do not fill shape \(shape)")
    }
    try add(name, Tensor<Double>(shape: shape, scalars: values), as: dtype)
  }

  /// Adds integer `values` [shape] as I64 (or I32, which must hold every value).
  public mutating func add(_ name: String, integers values: [Int64], shape: [Int], as dtype: SafetensorsDType = .i64) throws {
    guard values.count == shape.reduce(1, *) else {
      throw RecurrentError.shapeMismatch("safetensors: tensor '\(name)': \(values.count) values do not fill shape \(shape)")
    }
    var data = [UInt8]()
    data.reserveCapacity(values.count * dtype.byteSize)
    switch dtype {
    case .i64:
      for v in values { Self.append(UInt64(bitPattern: v), to: &data) }
    case .i32:
      for v in values {
        guard let w = Int32(exactly: v) else {
          throw RecurrentError.invalidArgument("safetensors: tensor '\(name)': \(v) does not fit I32")
        }
        Self.append(UInt32(bitPattern: w), to: &data)
      }
    default:
      throw RecurrentError.invalidArgument("safetensors: tensor '\(name)': integers are written as I32 or I64, not \(dtype.rawValue)")
    }
    try append(name, dtype, shape, data)
  }

  private mutating func append(_ name: String, _ dtype: SafetensorsDType, _ shape: [Int], _ data: [UInt8]) throws {
    guard name != "__metadata__" else { throw RecurrentError.invalidArgument("safetensors: '__metadata__' is a reserved name") }
    guard names.insert(name).inserted else {
      throw RecurrentError.invalidArgument("safetensors: duplicate tensor name '\(name)'")
    }
    entries.append((name, dtype, shape, data))
  }

  private static func append<I: FixedWidthInteger>(_ value: I, to data: inout [UInt8]) {
    withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) }
  }

  /// The complete file.
  public func serialized() -> [UInt8] {
    let ordered = entries.enumerated().sorted { a, b in
      a.element.dtype.byteSize != b.element.dtype.byteSize
        ? a.element.dtype.byteSize > b.element.dtype.byteSize : a.offset < b.offset
    }.map(\.element)
    var header = JSONObject()
    if !metadata.isEmpty {
      var map = JSONObject()
      for key in metadata.keys.sorted() { map[key] = .string(metadata[key]!) }
      header["__metadata__"] = .object(map)
    }
    var offset = 0
    for e in ordered {
      header[e.name] = .object([
        "dtype": .string(e.dtype.rawValue),
        "shape": .array(e.shape.map { .int($0) }),
        "data_offsets": .array([.int(offset), .int(offset + e.data.count)]),
      ])
      offset += e.data.count
    }
    var headerBytes = Array(JSONValue.object(header).description.utf8)
    while (8 + headerBytes.count) % 8 != 0 { headerBytes.append(UInt8(ascii: " ")) }
    var out = [UInt8]()
    out.reserveCapacity(8 + headerBytes.count + offset)
    Self.append(UInt64(headerBytes.count), to: &out)
    out.append(contentsOf: headerBytes)
    for e in ordered { out.append(contentsOf: e.data) }
    return out
  }

  /// Writes the file to `url` atomically (see `AtomicFile`).
  public func write(to url: URL) throws {
    try AtomicFile.write(serialized(), to: url)
  }
}
