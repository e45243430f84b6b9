/// A JSON value, as the safetensors header and the checkpoint metadata use it.
///
/// A small strict parser and writer of our own instead of `JSONSerialization`, because file
/// headers come from untrusted files: the parser bounds its nesting depth (no stack overflow on
/// `[[[[...`), rejects duplicate object keys and invalid UTF-8, and keeps every number's source
/// text, so 64-bit integers (data offsets, RNG state) stay exact instead of passing through
/// `Double`. Objects keep their key order, so written headers are deterministic.
public enum JSONValue: Equatable, Sendable, CustomStringConvertible {
  case null
  case bool(Bool)
  /// The number's JSON text (e.g. `"-12"`, `"0.25"`, `"1e-07"`); see `int`, `uint64`, `double`.
  case number(String)
  case string(String)
  case array([JSONValue])
  case object(JSONObject)

  /// A number from an integer.
  public static func int<I: BinaryInteger>(_ value: I) -> JSONValue { .number(String(value)) }
  /// A number from a finite `Double`, in Swift's shortest round-trip form (so it reads back
  /// bit-identically).
  public static func double(_ value: Double) -> JSONValue {
    precondition(value.isFinite, "JSONValue.double: \(value) is not finite")
    return .number(value.description)
  }

  /// The value as an `Int`, if it is a number written as an integer that fits.
  public var int: Int? {
    guard case .number(let text) = self else { return nil }
    return Int(text)
  }
  /// The value as a `UInt64`, if it is a number written as a non-negative integer that fits.
  public var uint64: UInt64? {
    guard case .number(let text) = self else { return nil }
    return UInt64(text)
  }
  /// The value as a finite `Double`, if it is a number.
  public var double: Double? {
    guard case .number(let text) = self, let d = Double(text), d.isFinite else { return nil }
    return d
  }
  public var bool: Bool? {
    guard case .bool(let b) = self else { return nil }
    return b
  }
  public var string: String? {
    guard case .string(let s) = self else { return nil }
    return s
  }
  public var array: [JSONValue]? {
    guard case .array(let a) = self else { return nil }
    return a
  }
  public var object: JSONObject? {
    guard case .object(let o) = self else { return nil }
    return o
  }
  public var isNull: Bool { self == .null }

  /// What kind of value this is, for error messages ("a string", "an object", ...).
  public var typeDescription: String {
    switch self {
    case .null: "null"
    case .bool: "a boolean"
    case .number: "a number"
    case .string: "a string"
    case .array: "an array"
    case .object: "an object"
    }
  }

  /// Compact JSON text.
  public var description: String {
    var out = ""
    write(to: &out)
    return out
  }

  func write(to out: inout String) {
    switch self {
    case .null: out += "null"
    case .bool(let b): out += b ? "true" : "false"
    case .number(let text): out += text
    case .string(let s): Self.writeString(s, to: &out)
    case .array(let items):
      out += "["
      for (i, item) in items.enumerated() {
        if i > 0 { out += "," }
        item.write(to: &out)
      }
      out += "]"
    case .object(let object):
      out += "{"
      for (i, (key, value)) in object.members.enumerated() {
        if i > 0 { out += "," }
        Self.writeString(key, to: &out)
        out += ":"
        value.write(to: &out)
      }
      out += "}"
    }
  }

  static func writeString(_ s: String, to out: inout String) {
    out += "\""
    for scalar in s.unicodeScalars {
      switch scalar {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      case _ where scalar.value < 0x20:
        let hex = String(scalar.value, radix: 16)
        out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
      default: out.unicodeScalars.append(scalar)
      }
    }
    out += "\""
  }

  /// Parses `bytes` (UTF-8) as one JSON value surrounded by optional whitespace.
  /// Throws `JSONParseError` with the byte offset of the problem.
  public static func parse<C: Collection>(_ bytes: C, maxDepth: Int = 64) throws -> JSONValue
  where C.Element == UInt8 {
    let array = Array(bytes)
    if let bad = Self.firstInvalidUTF8(array) { throw JSONParseError(offset: bad, message: "invalid UTF-8") }
    var parser = JSONParser(bytes: array, maxDepth: maxDepth)
    parser.skipWhitespace()
    let value = try parser.parseValue(depth: 0)
    parser.skipWhitespace()
    guard parser.position == array.count else {
      throw JSONParseError(offset: parser.position, message: "unexpected data after the JSON value")
    }
    return value
  }

  /// Parses a JSON string.
  public static func parse(_ text: String) throws -> JSONValue { try parse(Array(text.utf8)) }

  /// The offset of the first byte of the first invalid UTF-8 sequence (overlong forms,
  /// surrogates and code points above U+10FFFF are invalid), or nil when all of `bytes` is valid.
  static func firstInvalidUTF8(_ bytes: [UInt8]) -> Int? {
    var i = 0
    let n = bytes.count
    while i < n {
      let b = bytes[i]
      if b < 0x80 { i += 1; continue }
      let length: Int, minimum: UInt32
      var code: UInt32
      switch b {
      case 0xC2...0xDF: (length, minimum, code) = (2, 0x80, UInt32(b & 0x1F))
      case 0xE0...0xEF: (length, minimum, code) = (3, 0x800, UInt32(b & 0x0F))
      case 0xF0...0xF4: (length, minimum, code) = (4, 0x10000, UInt32(b & 0x07))
      default: return i
      }
      guard i + length <= n else { return i }
      for k in 1..<length {
        let c = bytes[i + k]
        guard c & 0xC0 == 0x80 else { return i }
        code = code << 6 | UInt32(c & 0x3F)
      }
      guard code >= minimum, code <= 0x10FFFF, !(0xD800...0xDFFF).contains(code) else { return i }
      i += length
    }
    return nil
  }
}

/// A JSON object: members in their written order, looked up by key. Keys are unique.
public struct JSONObject: Equatable, Sendable, ExpressibleByDictionaryLiteral {
  public private(set) var members: [(key: String, value: JSONValue)] = []
  private var index: [String: Int] = [:]

  public init() {}
  public init(dictionaryLiteral elements: (String, JSONValue)...) {
    for (k, v) in elements { self[k] = v }
  }

  public var keys: [String] { members.map(\.key) }
  public var count: Int { members.count }

  /// The value for `key`; setting appends a new key or replaces an existing value in place
  /// (nil removes it).
  public subscript(key: String) -> JSONValue? {
    get { index[key].map { members[$0].value } }
    set {
      if let i = index[key] {
        if let newValue {
          members[i].value = newValue
        } else {
          members.remove(at: i)
          index = Dictionary(uniqueKeysWithValues: members.enumerated().map { ($1.key, $0) })
        }
      } else if let newValue {
        index[key] = members.count
        members.append((key, newValue))
      }
    }
  }

  public static func == (a: JSONObject, b: JSONObject) -> Bool {
    a.members.count == b.members.count && zip(a.members, b.members).allSatisfy { $0.key == $1.key && $0.value == $1.value }
  }
}

/// A JSON syntax error at byte `offset`.
public struct JSONParseError: Error, Equatable, CustomStringConvertible {
  public var offset: Int
  public var message: String
  public var description: String { "\(message) at byte \(offset)" }
}

/// Recursive descent over UTF-8 bytes (already validated), RFC 8259 grammar.
struct JSONParser {
  let bytes: [UInt8]
  let maxDepth: Int
  var position = 0

  init(bytes: [UInt8], maxDepth: Int) {
    self.bytes = bytes
    self.maxDepth = maxDepth
  }

  func fail(_ message: String, at offset: Int? = nil) -> JSONParseError {
    JSONParseError(offset: offset ?? position, message: message)
  }

  mutating func skipWhitespace() {
    while position < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[position]) { position += 1 }
  }

  mutating func expect(_ byte: UInt8, _ what: String) throws {
    guard position < bytes.count, bytes[position] == byte else {
      throw fail(position < bytes.count ? "expected \(what)" : "unexpected end of JSON, expected \(what)")
    }
    position += 1
  }

  mutating func parseValue(depth: Int) throws -> JSONValue {
    guard position < bytes.count else { throw fail("unexpected end of JSON, expected a value") }
    switch bytes[position] {
    case UInt8(ascii: "{"): return try parseObject(depth: depth + 1)
    case UInt8(ascii: "["): return try parseArray(depth: depth + 1)
    case UInt8(ascii: "\""): return .string(try parseString())
    case UInt8(ascii: "t"): try literal("true"); return .bool(true)
    case UInt8(ascii: "f"): try literal("false"); return .bool(false)
    case UInt8(ascii: "n"): try literal("null"); return .null
    case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
    default: throw fail("unexpected character '\(Unicode.Scalar(bytes[position]))', expected a value")
    }
  }

  mutating func literal(_ word: String) throws {
    let w = Array(word.utf8)
    guard position + w.count <= bytes.count, Array(bytes[position..<(position + w.count)]) == w else {
      throw fail("invalid literal, expected '\(word)'")
    }
    position += w.count
  }

  mutating func parseObject(depth: Int) throws -> JSONValue {
    guard depth <= maxDepth else { throw fail("nesting deeper than \(maxDepth) levels") }
    position += 1  // {
    var object = JSONObject()
    skipWhitespace()
    if position < bytes.count, bytes[position] == UInt8(ascii: "}") {
      position += 1
      return .object(object)
    }
    while true {
      skipWhitespace()
      let keyOffset = position
      guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else {
        throw fail(position < bytes.count ? "expected a string key" : "unexpected end of JSON in an object")
      }
      let key = try parseString()
      guard object[key] == nil else { throw fail("duplicate key \"\(key)\"", at: keyOffset) }
      skipWhitespace()
      try expect(UInt8(ascii: ":"), "':' after an object key")
      skipWhitespace()
      object[key] = try parseValue(depth: depth)
      skipWhitespace()
      guard position < bytes.count else { throw fail("unexpected end of JSON in an object") }
      if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
      try expect(UInt8(ascii: "}"), "',' or '}' in an object")
      return .object(object)
    }
  }

  mutating func parseArray(depth: Int) throws -> JSONValue {
    guard depth <= maxDepth else { throw fail("nesting deeper than \(maxDepth) levels") }
    position += 1  // [
    var items = [JSONValue]()
    skipWhitespace()
    if position < bytes.count, bytes[position] == UInt8(ascii: "]") {
      position += 1
      return .array(items)
    }
    while true {
      skipWhitespace()
      items.append(try parseValue(depth: depth))
      skipWhitespace()
      guard position < bytes.count else { throw fail("unexpected end of JSON in an array") }
      if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
      try expect(UInt8(ascii: "]"), "',' or ']' in an array")
      return .array(items)
    }
  }

  /// -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?, kept as text.
  mutating func parseNumber() throws -> String {
    let start = position
    func digits() -> Int {
      let s = position
      while position < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[position]) { position += 1 }
      return position - s
    }
    if bytes[position] == UInt8(ascii: "-") { position += 1 }
    guard position < bytes.count else { throw fail("invalid number", at: start) }
    if bytes[position] == UInt8(ascii: "0") {
      position += 1
    } else if digits() == 0 {
      throw fail("invalid number", at: start)
    }
    if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
      position += 1
      guard digits() > 0 else { throw fail("invalid number: no digits after '.'", at: start) }
    }
    if position < bytes.count, bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E") {
      position += 1
      if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") {
        position += 1
      }
      guard digits() > 0 else { throw fail("invalid number: no digits in the exponent", at: start) }
    }
    return String(decoding: bytes[start..<position], as: UTF8.self)
  }

  mutating func parseString() throws -> String {
    let start = position
    position += 1  // opening quote
    var scalars = String.UnicodeScalarView()
    var runStart = position
    func flushRun(_ end: Int) {
      if end > runStart { scalars.append(contentsOf: String(decoding: bytes[runStart..<end], as: UTF8.self).unicodeScalars) }
    }
    while true {
      guard position < bytes.count else { throw fail("unterminated string", at: start) }
      let b = bytes[position]
      if b == UInt8(ascii: "\"") {
        flushRun(position)
        position += 1
        return String(scalars)
      }
      if b < 0x20 { throw fail("control character in a string (must be escaped)") }
      if b != UInt8(ascii: "\\") {
        position += 1
        continue
      }
      flushRun(position)
      position += 1
      guard position < bytes.count else { throw fail("unterminated string", at: start) }
      let e = bytes[position]
      position += 1
      switch e {
      case UInt8(ascii: "\""): scalars.append("\"")
      case UInt8(ascii: "\\"): scalars.append("\\")
      case UInt8(ascii: "/"): scalars.append("/")
      case UInt8(ascii: "b"): scalars.append("\u{08}")
      case UInt8(ascii: "f"): scalars.append("\u{0C}")
      case UInt8(ascii: "n"): scalars.append("\n")
      case UInt8(ascii: "r"): scalars.append("\r")
      case UInt8(ascii: "t"): scalars.append("\t")
      case UInt8(ascii: "u"):
        var code = try hex4()
        if (0xD800..<0xDC00).contains(code) {  // high surrogate: a low one must follow
          guard position + 1 < bytes.count, bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u")
          else { throw fail("unpaired surrogate in \\u escape") }
          position += 2
          let low = try hex4()
          guard (0xDC00..<0xE000).contains(low) else { throw fail("unpaired surrogate in \\u escape") }
          code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
        } else if (0xDC00..<0xE000).contains(code) {
          throw fail("unpaired surrogate in \\u escape")
        }
        scalars.append(Unicode.Scalar(code)!)
      default: throw fail("invalid escape '\\\(Unicode.Scalar(e))'", at: position - 2)
      }
      runStart = position
    }
  }

  mutating func hex4() throws -> UInt32 {
    guard position + 4 <= bytes.count else { throw fail("truncated \\u escape") }
    var v: UInt32 = 0
    for _ in 0..<4 {
      let c = bytes[position]
      let d: UInt32
      switch c {
      case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(c - UInt8(ascii: "0"))
      case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(c - UInt8(ascii: "a") + 10)
      case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(c - UInt8(ascii: "A") + 10)
      default: throw fail("invalid hex digit in \\u escape")
      }
      v = v * 16 + d
      position += 1
    }
    return v
  }
}
