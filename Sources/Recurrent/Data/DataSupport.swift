import Foundation

/// Shared helpers of the data readers (text, CSV, WAV): UTF-8 validation that names the byte
/// offset and line, and message formatting. (Files are read with `AtomicFile.read`, whose
/// `RecurrentError.io` names the path.)
enum DataSupport {
  /// 1-based line number of byte `offset` (lines end with "\n", "\r\n" or a lone "\r").
  static func lineNumber(of offset: Int, in bytes: [UInt8]) -> Int {
    var line = 1
    var i = 0
    let end = min(offset, bytes.count)
    while i < end {
      if bytes[i] == 0x0A {
        line += 1
      } else if bytes[i] == 0x0D {
        line += 1
        if i + 1 < end, bytes[i + 1] == 0x0A { i += 1 }
      }
      i += 1
    }
    return line
  }

  /// Decodes UTF-8 `bytes` into Unicode scalar values, rejecting invalid sequences (bad lead
  /// or continuation bytes, truncated sequences, overlong forms, UTF-16 surrogates and values
  /// above U+10FFFF; `JSONValue.firstInvalidUTF8`) with `RecurrentError.invalidData` naming
  /// `source`, the byte offset and line, and the bytes found there.
  static func decodeUTF8(_ bytes: [UInt8], source: String) throws -> [UInt32] {
    try validateUTF8(bytes, source: source)
    return String(decoding: bytes, as: UTF8.self).unicodeScalars.map(\.value)
  }

  /// Throws like `decodeUTF8` unless `bytes` is valid UTF-8.
  static func validateUTF8(_ bytes: [UInt8], source: String) throws {
    guard let offset = JSONValue.firstInvalidUTF8(bytes) else { return }
    let shown = bytes[offset..<min(bytes.count, offset + 4)].map(hex).joined(separator: " ")
    throw RecurrentError.invalidData(
      "\(source): invalid UTF-8 at byte offset \(offset) (line \(lineNumber(of: offset, in: bytes))): "
        + "no valid UTF-8 sequence starts with bytes \(shown)\(bytes.count > offset + 4 ? " ..." : "")")
  }

  /// The JSON object in `text`, or `RecurrentError.invalidData` starting with `what` (e.g.
  /// "vocabulary metadata") saying why not.
  static func jsonObject(_ text: String, what: String) throws -> JSONObject {
    let value: JSONValue
    do {
      value = try JSONValue.parse(text)
    } catch {
      throw RecurrentError.invalidData("\(what): not valid JSON (\(error))")
    }
    guard let object = value.object else {
      throw RecurrentError.invalidData("\(what): expected a JSON object, got \(value.typeDescription)")
    }
    return object
  }

  static func hex(_ b: UInt8) -> String {
    let s = String(b, radix: 16, uppercase: true)
    return "0x" + (s.count < 2 ? "0" + s : s)
  }

  /// A Unicode scalar for messages: printable ones quoted, others as U+XXXX.
  static func describe(scalar value: UInt32) -> String {
    let code = "U+" + String(repeating: "0", count: max(0, 4 - String(value, radix: 16).count))
      + String(value, radix: 16, uppercase: true)
    guard let scalar = Unicode.Scalar(value), value >= 0x20, value != 0x7F else { return code }
    return "'\(Character(scalar))' (\(code))"
  }
}
