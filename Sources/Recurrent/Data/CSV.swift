import Foundation

/// A CSV file as rows of text cells (RFC 4180), with its header if it has one.
///
/// **Syntax** (RFC 4180, plus what real files need):
/// - fields separated by the delimiter (comma, semicolon or tab; `.auto` picks the one that
///   occurs most often outside quotes on the first non-blank line, comma on a tie or none);
/// - records end with LF, CRLF or a lone CR; blank (empty or whitespace-only) lines are skipped;
/// - a field that starts with `"` is quoted: it runs to the next lone `"`, `""` inside stands
///   for one `"`, and it may hold delimiters and line breaks (read as LF); after the closing
///   quote only a delimiter or the end of the record may follow. A `"` inside an unquoted
///   field is kept as a literal character;
/// - a leading UTF-8 byte-order mark is skipped; the file must be valid UTF-8;
/// - every record has the same number of fields.
///
/// **Header.** `.auto` treats the first record as a header when, in some column, its cell is
/// text (not a number, not missing) while most of the non-missing cells below it (in the next
/// 20 records) are numbers; or, for a one-record file, when every cell is text. So a numeric
/// first row is data, and a first row with a text date is still data when the rows below have
/// dates there too. `.present` and `.absent` decide it explicitly. Without a header the
/// columns are named "0", "1", ...
///
/// **Errors** are `RecurrentError.invalidData` naming the file, the line (1-based, of the file,
/// counting line breaks inside quoted fields) and, where it applies, the column.
public struct CSVTable: Sendable {
  /// The field separator.
  public enum Delimiter: Sendable, Equatable {
    case auto, comma, semicolon, tab
    /// Any single ASCII byte other than `"`, CR and LF.
    case other(UInt8)

    var byte: UInt8? {
      switch self {
      case .auto: nil
      case .comma: UInt8(ascii: ",")
      case .semicolon: UInt8(ascii: ";")
      case .tab: UInt8(ascii: "\t")
      case .other(let b): b
      }
    }
  }

  /// Whether the first record names the columns.
  public enum Header: String, Sendable, CaseIterable {
    case auto, present, absent
  }

  /// Names the data in errors (the file path, or "<memory>").
  public let source: String
  /// The delimiter used (detected for `.auto`).
  public let delimiter: UInt8
  /// Whether the first record was taken as the header.
  public let hasHeader: Bool
  /// One name per column: the header's cells (trimmed), or "0", "1", ... without a header.
  public let columnNames: [String]
  /// The data records (header excluded), as raw cell text; each has `columnNames.count` cells.
  public let rows: [[String]]
  /// The file line each data record starts on (1-based).
  public let lineNumbers: [Int]

  public var columnCount: Int { columnNames.count }

  /// Reads and parses the file at `url`. Throws `RecurrentError.io` if it cannot be read.
  public init(contentsOf url: URL, delimiter: Delimiter = .auto, header: Header = .auto) throws {
    try self.init(bytes: AtomicFile.read(url), delimiter: delimiter, header: header, source: url.path)
  }

  /// Parses `text`.
  public init(text: String, delimiter: Delimiter = .auto, header: Header = .auto, source: String = "<memory>") throws {
    try self.init(bytes: Array(text.utf8), delimiter: delimiter, header: header, source: source)
  }

  /// Parses UTF-8 `bytes`; `source` names them in errors.
  public init(bytes: [UInt8], delimiter: Delimiter = .auto, header: Header = .auto, source: String = "<memory>") throws {
    try DataSupport.validateUTF8(bytes, source: source)
    var bytes = bytes
    if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
    if let d = delimiter.byte, d == UInt8(ascii: "\"") || d == 0x0A || d == 0x0D || d >= 0x80 {
      throw RecurrentError.invalidArgument("CSV delimiter must be an ASCII byte other than a quote or a line break")
    }
    let sep = delimiter.byte ?? Self.detectDelimiter(bytes)
    var (records, lines) = try Self.parse(bytes, delimiter: sep, source: source)
    guard let first = records.first else { throw RecurrentError.invalidData("\(source): no rows (the file is empty)") }
    for (r, record) in records.enumerated() where record.count != first.count {
      throw RecurrentError.invalidData(
        "\(source): line \(lines[r]): expected \(first.count) fields (as on line \(lines[0])), got \(record.count)")
    }
    let headerPresent: Bool
    switch header {
    case .present: headerPresent = true
    case .absent: headerPresent = false
    case .auto: headerPresent = Self.looksLikeHeader(records)
    }
    if headerPresent {
      var names = records.removeFirst().map { $0.trimmingCharacters(in: .whitespaces) }
      lines.removeFirst()
      for i in names.indices where names[i].isEmpty { names[i] = String(i) }
      columnNames = names
    } else {
      columnNames = first.indices.map(String.init)
    }
    self.source = source
    self.delimiter = sep
    self.hasHeader = headerPresent
    self.rows = records
    self.lineNumbers = lines
  }

  /// The 0-based index of `column`: a header name (exact, then ignoring case), or failing that
  /// a 0-based index written as a number. Throws `invalidArgument` listing the columns when
  /// there is no such column, or when the name is ambiguous (it appears twice in the header).
  public func columnIndex(_ column: CSVColumn) throws -> Int {
    let list = columnNames.map { "'\($0)'" }.joined(separator: ", ")
    switch column {
    case .index(let i):
      guard (0..<columnCount).contains(i) else {
        throw RecurrentError.invalidArgument(
          "\(source): column index \(i) is outside 0..<\(columnCount) (columns: \(list))")
      }
      return i
    case .name(let name):
      for matches in [columnNames.indices.filter { columnNames[$0] == name },
                      columnNames.indices.filter { columnNames[$0].lowercased() == name.lowercased() }] {
        if matches.count > 1 {
          throw RecurrentError.invalidArgument(
            "\(source): column name '\(name)' is ambiguous (columns \(matches.map(String.init).joined(separator: ", "))); "
              + "select it by index")
        }
        if let i = matches.first { return i }
      }
      if let i = Int(name) { return try columnIndex(.index(i)) }
      throw RecurrentError.invalidArgument("\(source): no column '\(name)' (columns: \(list))")
    }
  }

  /// "column 'temp' (index 2)" for messages.
  func describeColumn(_ c: Int) -> String { "column '\(columnNames[c])' (index \(c))" }

  // MARK: - Parsing

  static let quote = UInt8(ascii: "\""), lf: UInt8 = 0x0A, cr: UInt8 = 0x0D

  /// The candidate (comma, semicolon, tab) occurring most often outside quotes on the first
  /// non-blank line; comma on a tie or when none occurs.
  static func detectDelimiter(_ bytes: [UInt8]) -> UInt8 {
    let candidates: [UInt8] = [UInt8(ascii: ","), UInt8(ascii: ";"), UInt8(ascii: "\t")]
    var counts = [Int](repeating: 0, count: 3)
    var inQuotes = false, sawContent = false
    for b in bytes {
      if b == quote { inQuotes.toggle() }
      if !inQuotes, b == lf || b == cr {
        if sawContent { break }
        continue
      }
      if b != UInt8(ascii: " ") { sawContent = true }
      if !inQuotes, let k = candidates.firstIndex(of: b) { counts[k] += 1 }
    }
    let best = counts.indices.max { counts[$0] < counts[$1] || (counts[$0] == counts[$1] && $0 > $1) }!
    return counts[best] > 0 ? candidates[best] : candidates[0]
  }

  /// Records and the line each starts on.
  static func parse(_ bytes: [UInt8], delimiter: UInt8, source: String) throws -> ([[String]], [Int]) {
    enum State { case fieldStart, unquoted, quoted, afterQuote }
    var records = [[String]](), lines = [Int]()
    var fields = [String](), field = [UInt8]()
    var state = State.fieldStart
    var line = 1, recordLine = 1, quoteLine = 1
    var anyQuoted = false  // a quoted field in this record (so it is not blank)

    func endField() {
      fields.append(String(decoding: field, as: UTF8.self))
      field.removeAll(keepingCapacity: true)
    }
    func endRecord() {
      endField()
      let blank = !anyQuoted && fields.count == 1 && fields[0].allSatisfy { $0 == " " || $0 == "\t" }
      if !blank {
        records.append(fields)
        lines.append(recordLine)
      }
      fields.removeAll(keepingCapacity: true)
      anyQuoted = false
      state = .fieldStart
    }

    var i = 0
    let n = bytes.count
    while i < n {
      let c = bytes[i]
      let isBreak = c == lf || c == cr
      if isBreak, c == cr, i + 1 < n, bytes[i + 1] == lf { i += 1 }  // CRLF is one break
      if state == .fieldStart, fields.isEmpty, field.isEmpty { recordLine = line }
      switch state {
      case .fieldStart, .unquoted:
        if c == quote && state == .fieldStart {
          state = .quoted
          anyQuoted = true
          quoteLine = line
        } else if c == delimiter {
          endField()
          state = .fieldStart
        } else if isBreak {
          endRecord()
        } else {
          field.append(c)
          state = .unquoted
        }
      case .quoted:
        if c == quote {
          if i + 1 < n, bytes[i + 1] == quote {
            field.append(quote)
            i += 1
          } else {
            state = .afterQuote
          }
        } else if isBreak {
          field.append(lf)
        } else {
          field.append(c)
        }
      case .afterQuote:
        if c == delimiter {
          endField()
          state = .fieldStart
        } else if isBreak {
          endRecord()
        } else {
          throw RecurrentError.invalidData(
            "\(source): line \(line), field \(fields.count + 1): unexpected character "
              + "\(DataSupport.describe(scalar: UInt32(c))) after the closing quote (expected the delimiter or the end of the line)")
        }
      }
      if isBreak { line += 1 }
      i += 1
    }
    if state == .quoted {
      throw RecurrentError.invalidData(
        "\(source): line \(quoteLine), field \(fields.count + 1): the quoted field opened here is never closed")
    }
    if !(state == .fieldStart && fields.isEmpty && field.isEmpty) { endRecord() }
    return (records, lines)
  }

  /// See the type's documentation.
  static func looksLikeHeader(_ records: [[String]]) -> Bool {
    let first = records[0]
    func isNumber(_ s: String) -> Bool { CSVNumber.parse(s) != nil }
    func isText(_ s: String) -> Bool { !isNumber(s) && !CSVNumber.isMissing(s) }
    if records.count == 1 { return first.allSatisfy(isText) }
    let below = records.dropFirst().prefix(20)
    return first.indices.contains { c in
      guard isText(first[c]) else { return false }
      let cells = below.map { $0[c] }.filter { !CSVNumber.isMissing($0) }
      return !cells.isEmpty && 2 * cells.filter(isNumber).count > cells.count
    }
  }
}

extension CSVTable {
  /// RFC 4180 text of `rows` (after `header`, if given): a field is quoted, with its quotes
  /// doubled, when it holds the delimiter, a quote, CR or LF, or starts or ends with a space;
  /// records end with "\n". `CSVTable(text:)` reads it back unchanged (e.g. forecasts written
  /// by `rnn predict`).
  public static func format(header: [String]?, rows: [[String]], delimiter: Delimiter = .comma) -> String {
    let sep = Unicode.Scalar(delimiter.byte ?? UInt8(ascii: ","))
    func field(_ s: String) -> String {
      // Scalars, not Characters: "\r\n" is one Character, and a combining mark can follow the delimiter.
      let scalars = s.unicodeScalars
      let needsQuotes = scalars.contains { $0 == sep || $0 == "\"" || $0 == "\n" || $0 == "\r" }
        || scalars.first == " " || scalars.last == " "
      guard needsQuotes else { return s }
      var quoted = String.UnicodeScalarView()
      quoted.append("\"")
      for c in scalars {
        if c == "\"" { quoted.append("\"") }
        quoted.append(c)
      }
      quoted.append("\"")
      return String(quoted)
    }
    var out = ""
    for record in (header.map { [$0] } ?? []) + rows {
      out += record.map(field).joined(separator: String(Character(sep))) + "\n"
    }
    return out
  }
}

/// A column chosen by header name or by 0-based index.
///
/// `.name` also accepts a 0-based index written as a number when no column has that name, so
/// a command-line value can always be passed as `.name(value)`.
public enum CSVColumn: Equatable, Hashable, Sendable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral,
  CustomStringConvertible
{
  case name(String)
  case index(Int)

  public init(stringLiteral value: String) { self = .name(value) }
  public init(integerLiteral value: Int) { self = .index(value) }

  public var description: String {
    switch self {
    case .name(let s): "'\(s)'"
    case .index(let i): "index \(i)"
    }
  }
}

/// Number cells: what counts as a number and what as missing.
enum CSVNumber {
  /// Cells that mean "no value" (after trimming spaces): empty, NA, N/A, null (any case).
  static func isMissing(_ s: String) -> Bool {
    let t = s.trimmingCharacters(in: .whitespaces).lowercased()
    return t.isEmpty || t == "na" || t == "n/a" || t == "null"
  }

  /// The finite value of a decimal number cell (spaces trimmed; "1e-3", "-2.5", "+4"), or nil.
  /// NaN and infinity parse (so callers can name them) as non-finite values.
  static func parse(_ s: String) -> Double? {
    let t = s.trimmingCharacters(in: .whitespaces)
    guard let first = t.unicodeScalars.first, first == "+" || first == "-" || first == "." || ("0"..."9").contains(first)
      || first == "i" || first == "I" || first == "n" || first == "N"
    else { return nil }
    return Double(t)
  }
}
