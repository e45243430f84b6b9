/// Plain-text tables with aligned columns for terminal output.
enum TextTable {
  /// Renders `rows` (the first is the header) with columns padded to their widest cell.
  static func render(_ rows: [[String]]) -> String {
    guard let header = rows.first else { return "" }
    var widths = header.map(\.count)
    for row in rows { for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) } }
    func line(_ row: [String]) -> String {
      row.enumerated().map { i, c in c.padding(toLength: widths[i]) }.joined(separator: "  ")
        .trimmingTrailingSpaces()
    }
    var out = [line(header), widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")]
    out += rows.dropFirst().map(line)
    return out.joined(separator: "\n")
  }
}

extension String {
  func padding(toLength n: Int) -> String { count >= n ? self : self + String(repeating: " ", count: n - count) }
  func trimmingTrailingSpaces() -> String {
    var s = self
    while s.last == " " { s.removeLast() }
    return s
  }
}

/// `1.23e-09` style formatting without Foundation.
func formatScientific(_ x: Double, digits: Int = 2) -> String {
  if x == 0 { return "0" }
  if !x.isFinite { return "\(x)" }
  var e = 0, m = abs(x)
  while m >= 10 { m /= 10; e += 1 }
  while m < 1 { m *= 10; e -= 1 }
  var scale = 1.0
  for _ in 0..<digits { scale *= 10 }
  var r = (m * scale).rounded() / scale
  if r >= 10 { r /= 10; e += 1 }
  var mant = "\(r)"
  let parts = mant.split(separator: ".")
  let frac = parts.count > 1 ? String(parts[1]) : ""
  mant = String(parts[0]) + "." + (frac + String(repeating: "0", count: digits)).prefix(digits)
  let sign = x < 0 ? "-" : ""
  return "\(sign)\(mant)e\(e < 0 ? "-" : "+")\(abs(e) < 10 ? "0" : "")\(abs(e))"
}
