/// An RGB raster with line drawing and a tiny built-in 3x5 pixel font, encoded as PNG without
/// any library (stored deflate blocks, CRC-32, Adler-32): enough for charts in terminals and
/// READMEs.
public struct PNGImage: Sendable {
  public let width: Int
  public let height: Int
  /// RGB bytes, row-major.
  public private(set) var pixels: [UInt8]

  public init(width: Int, height: Int, background: (UInt8, UInt8, UInt8) = (255, 255, 255)) {
    precondition(width > 0 && height > 0, "PNGImage: empty size")
    self.width = width
    self.height = height
    pixels = [UInt8](repeating: 0, count: width * height * 3)
    for i in 0..<(width * height) {
      pixels[3 * i] = background.0
      pixels[3 * i + 1] = background.1
      pixels[3 * i + 2] = background.2
    }
  }

  public mutating func set(_ x: Int, _ y: Int, _ c: (UInt8, UInt8, UInt8)) {
    guard x >= 0, y >= 0, x < width, y < height else { return }
    let i = 3 * (y * width + x)
    pixels[i] = c.0
    pixels[i + 1] = c.1
    pixels[i + 2] = c.2
  }

  /// A line `thickness` pixels wide (Bresenham with a square pen).
  public mutating func line(_ x0: Int, _ y0: Int, _ x1: Int, _ y1: Int, _ c: (UInt8, UInt8, UInt8), thickness: Int = 1) {
    var x = x0, y = y0
    let dx = abs(x1 - x0), dy = -abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1
    var err = dx + dy
    while true {
      for a in 0..<thickness { for b in 0..<thickness { set(x + a - thickness / 2, y + b - thickness / 2, c) } }
      if x == x1 && y == y1 { break }
      let e2 = 2 * err
      if e2 >= dy { err += dy; x += sx }
      if e2 <= dx { err += dx; y += sy }
    }
  }

  /// Draws `text` (upper-cased; digits, letters and . - + / ( ) : = _ |) with its top-left at
  /// (x, y), each font pixel `scale` pixels wide.
  public mutating func text(_ text: String, x: Int, y: Int, scale: Int = 2, color: (UInt8, UInt8, UInt8) = (0, 0, 0)) {
    var cx = x
    for ch in text.uppercased() {
      let glyph = Self.font[ch] ?? 0
      for row in 0..<5 {
        for col in 0..<3 where glyph & (1 << (14 - row * 3 - col)) != 0 {
          for a in 0..<scale { for b in 0..<scale { set(cx + col * scale + a, y + row * scale + b, color) } }
        }
      }
      cx += 4 * scale
    }
  }

  /// Width in pixels of `text` drawn at `scale`.
  public static func textWidth(_ text: String, scale: Int = 2) -> Int { text.count * 4 * scale }

  // 3x5 glyphs, 15 bits, rows top to bottom, MSB = top-left.
  static let font: [Character: Int] = {
    let rows: [Character: [Int]] = [
      "0": [7, 5, 5, 5, 7], "1": [2, 6, 2, 2, 7], "2": [7, 1, 7, 4, 7], "3": [7, 1, 7, 1, 7],
      "4": [5, 5, 7, 1, 1], "5": [7, 4, 7, 1, 7], "6": [7, 4, 7, 5, 7], "7": [7, 1, 1, 1, 1],
      "8": [7, 5, 7, 5, 7], "9": [7, 5, 7, 1, 7], "A": [2, 5, 7, 5, 5], "B": [6, 5, 6, 5, 6],
      "C": [3, 4, 4, 4, 3], "D": [6, 5, 5, 5, 6], "E": [7, 4, 6, 4, 7], "F": [7, 4, 6, 4, 4],
      "G": [3, 4, 5, 5, 3], "H": [5, 5, 7, 5, 5], "I": [7, 2, 2, 2, 7], "J": [1, 1, 1, 5, 2],
      "K": [5, 5, 6, 5, 5], "L": [4, 4, 4, 4, 7], "M": [5, 7, 7, 5, 5], "N": [6, 5, 5, 5, 5],
      "O": [2, 5, 5, 5, 2], "P": [6, 5, 6, 4, 4], "Q": [2, 5, 5, 6, 3], "R": [6, 5, 6, 5, 5],
      "S": [3, 4, 2, 1, 6], "T": [7, 2, 2, 2, 2], "U": [5, 5, 5, 5, 7], "V": [5, 5, 5, 5, 2],
      "W": [5, 5, 7, 7, 5], "X": [5, 5, 2, 5, 5], "Y": [5, 5, 2, 2, 2], "Z": [7, 1, 2, 4, 7],
      ".": [0, 0, 0, 0, 2], "-": [0, 0, 7, 0, 0], "+": [0, 2, 7, 2, 0], "/": [1, 1, 2, 4, 4],
      "(": [2, 4, 4, 4, 2], ")": [2, 1, 1, 1, 2], ":": [0, 2, 0, 2, 0], "=": [0, 7, 0, 7, 0],
      "_": [0, 0, 0, 0, 7], "|": [2, 2, 2, 2, 2], " ": [0, 0, 0, 0, 0],
    ]
    return rows.mapValues { r in r.reduce(0) { $0 << 3 | $1 } }
  }()

  /// The image as PNG file bytes (8-bit RGB, no interlace).
  public func encoded() -> [UInt8] {
    var raw = [UInt8]()
    raw.reserveCapacity(height * (1 + 3 * width))
    for y in 0..<height {
      raw.append(0)  // filter: none
      raw.append(contentsOf: pixels[(3 * y * width)..<(3 * (y + 1) * width)])
    }
    // zlib stream of stored (uncompressed) deflate blocks.
    var z: [UInt8] = [0x78, 0x01]
    var offset = 0
    repeat {
      let n = min(65535, raw.count - offset)
      let last = offset + n == raw.count
      z.append(last ? 1 : 0)
      z.append(UInt8(n & 0xFF)); z.append(UInt8(n >> 8))
      z.append(UInt8(~n & 0xFF)); z.append(UInt8((~n >> 8) & 0xFF))
      z.append(contentsOf: raw[offset..<(offset + n)])
      offset += n
    } while offset < raw.count
    z.append(contentsOf: Self.bigEndian(Self.adler32(raw)))

    var ihdr = Self.bigEndian(UInt32(width)) + Self.bigEndian(UInt32(height))
    ihdr += [8, 2, 0, 0, 0]  // bit depth 8, colour type RGB, deflate, no filter, no interlace
    var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
    png += Self.chunk("IHDR", ihdr) + Self.chunk("IDAT", z) + Self.chunk("IEND", [])
    return png
  }

  static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
    let t = Array(type.utf8)
    return bigEndian(UInt32(data.count)) + t + data + bigEndian(crc32(t + data))
  }

  static func bigEndian(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)] }

  static let crcTable: [UInt32] = (0..<256).map { n in
    var c = UInt32(n)
    for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
    return c
  }

  static func crc32(_ bytes: [UInt8]) -> UInt32 {
    var c: UInt32 = 0xFFFF_FFFF
    for b in bytes { c = crcTable[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
    return c ^ 0xFFFF_FFFF
  }

  static func adler32(_ bytes: [UInt8]) -> UInt32 {
    var a: UInt32 = 1, b: UInt32 = 0
    for x in bytes {
      a = (a + UInt32(x)) % 65521
      b = (b + a) % 65521
    }
    return b << 16 | a
  }
}

extension SVGLineChart {
  /// The same chart rasterised as a PNG image (for terminals and READMEs).
  public func renderPNG() -> PNGImage {
    var img = PNGImage(width: width, height: height)
    let left = 70, right = 170, top = 34, bottom = 40
    let plotW = width - left - right, plotH = height - top - bottom
    let ys = series.flatMap { $0.values.compactMap(plotted) }
    var yMin = ys.min() ?? 0, yMax = ys.max() ?? 1
    if logScale { yMin = yMin.rounded(.down); yMax = yMax.rounded(.up) }
    if yMax - yMin < 1e-12 { yMax = yMin + 1 }
    let axis = xAxis()
    func pxValue(_ x: Double) -> Int { left + Int((Double(plotW) * (x - axis.min) / (axis.max - axis.min)).rounded()) }
    func px(_ i: Int) -> Int { pxValue(xValue(i)) }
    func py(_ y: Double) -> Int { top + Int((Double(plotH) * (1 - (y - yMin) / (yMax - yMin))).rounded()) }
    let grey: (UInt8, UInt8, UInt8) = (230, 230, 230), dark: (UInt8, UInt8, UInt8) = (60, 60, 60)
    img.text(title, x: left, y: 10, scale: 2)
    for y in yTickValues(&yMin, &yMax) {
      img.line(left, py(y), left + plotW, py(y), grey)
      let label = logScale ? "1E\(Int(y.rounded()))" : shortNumber(y)
      img.text(label, x: left - 6 - PNGImage.textWidth(label), y: py(y) - 5)
    }
    for x in axis.ticks {
      let label = shortNumber(x)
      img.text(label, x: pxValue(x) - PNGImage.textWidth(label) / 2, y: top + plotH + 6)
    }
    img.text(xLabel, x: left + plotW / 2 - PNGImage.textWidth(xLabel) / 2, y: height - 14)
    img.line(left, top, left, top + plotH, dark)
    img.line(left, top + plotH, left + plotW, top + plotH, dark)
    for (n, s) in series.enumerated() {
      let c = Self.rgb(s.color)
      var prev: (Int, Int)?
      for (i, v) in s.values.enumerated() {
        guard let y = plotted(v) else { prev = nil; continue }
        let p = (px(i), py(y))
        // dashed series: every other segment (long curves) or pixel run (short ones) left out
        if let q = prev, !s.dashed || i % 2 == 0 { img.line(q.0, q.1, p.0, p.1, c, thickness: 2) } else { img.set(p.0, p.1, c) }
        prev = p
      }
      let ly = top + 8 + n * 18
      if s.dashed {
        img.line(left + plotW + 10, ly, left + plotW + 17, ly, c, thickness: 3)
        img.line(left + plotW + 23, ly, left + plotW + 30, ly, c, thickness: 3)
      } else {
        img.line(left + plotW + 10, ly, left + plotW + 30, ly, c, thickness: 3)
      }
      img.text(s.name, x: left + plotW + 36, y: ly - 5)
    }
    return img
  }

  static func rgb(_ hex: String) -> (UInt8, UInt8, UInt8) {
    let digits = Array(hex.hasPrefix("#") ? hex.dropFirst() : Substring(hex))
    guard digits.count == 6, let v = Int(String(digits), radix: 16) else { return (0, 0, 0) }
    return (UInt8(v >> 16), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF))
  }
}
