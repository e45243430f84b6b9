import Foundation

/// Shared helpers of the data readers (text, CSV, WAV): whole-file reads with errors that name
/// the path, UTF-8 validation that names the byte offset and line, and number formatting.
enum DataSupport {
  /// The whole file at `url`. Throws `RecurrentError.io` naming the path when it is missing,
  /// a directory or unreadable.
  static func readFile(_ url: URL) throws -> [UInt8] {
    let path = url.path
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
      throw RecurrentError.io("cannot open '\(path)': no such file")
    }
    guard !isDirectory.boolValue else { throw RecurrentError.io("cannot read '\(path)': it is a directory") }
    do {
      return [UInt8](try Data(contentsOf: url))
    } catch {
      throw RecurrentError.io("cannot read '\(path)': \(error.localizedDescription)")
    }
  }

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
  /// above U+10FFFF) with `RecurrentError.invalidData` naming `source`, the byte offset and line.
  static func decodeUTF8(_ bytes: [UInt8], source: String) throws -> [UInt32] {
    var out = [UInt32]()
    out.reserveCapacity(bytes.count)
    let n = bytes.count
    var i = 0
    while i < n {
      let b = bytes[i]
      if b < 0x80 {
        out.append(UInt32(b))
        i += 1
        continue
      }
      let length: Int, minimum: UInt32
      var code: UInt32
      switch b {
      case 0xC2...0xDF: (length, minimum, code) = (2, 0x80, UInt32(b & 0x1F))
      case 0xE0...0xEF: (length, minimum, code) = (3, 0x800, UInt32(b & 0x0F))
      case 0xF0...0xF4: (length, minimum, code) = (4, 0x10000, UInt32(b & 0x07))
      default: throw invalidUTF8(bytes, at: i, source: source, why: "byte \(hex(b)) cannot start a UTF-8 sequence")
      }
      guard i + length <= n else {
        throw invalidUTF8(bytes, at: i, source: source, why: "the file ends inside a \(length)-byte sequence")
      }
      for k in 1..<length {
        let c = bytes[i + k]
        guard c & 0xC0 == 0x80 else {
          throw invalidUTF8(
            bytes, at: i, source: source, why: "byte \(hex(c)) at offset \(i + k) is not a continuation byte")
        }
        code = code << 6 | UInt32(c & 0x3F)
      }
      guard code >= minimum else { throw invalidUTF8(bytes, at: i, source: source, why: "overlong encoding") }
      guard code <= 0x10FFFF, !(0xD800...0xDFFF).contains(code) else {
        throw invalidUTF8(bytes, at: i, source: source, why: "U+\(String(code, radix: 16, uppercase: true)) is not a Unicode scalar")
      }
      out.append(code)
      i += length
    }
    return out
  }

  private static func invalidUTF8(_ bytes: [UInt8], at offset: Int, source: String, why: String) -> RecurrentError {
    .invalidData(
      "\(source): invalid UTF-8 at byte offset \(offset) (line \(lineNumber(of: offset, in: bytes))): \(why)")
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

  /// Shortest round-tripping text of a Double (Swift's `description`).
  static func format(_ x: Double) -> String { "\(x)" }
}
