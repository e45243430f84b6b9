import Foundation
import Recurrent
import Testing

/// SVG and PNG charts: well-formed, and the PNG decodes (signature, chunk CRCs, zlib checksum).
@Suite struct DiagnosticsRenderingTests {
  static func chart() -> SVGLineChart {
    SVGLineChart(
      title: "Gradient flow", xLabel: "time step t", yLabel: "||dL/dh_t||",
      series: [
        .init(name: "rnn", values: (1...50).map { pow(0.8, Double(50 - $0)) }),
        .init(name: "lstm", values: (1...50).map { 0.5 + 0.01 * Double($0) }),
      ], logScale: true)
  }

  @Test func svgIsWellFormedAndEscapes() {
    var c = Self.chart()
    c.title = "a < b & \"c\""
    let svg = c.render()
    #expect(svg.hasPrefix("<svg") && svg.hasSuffix("</svg>"))
    #expect(svg.contains("a &lt; b &amp; &quot;c&quot;"))
    #expect(svg.components(separatedBy: "<path").count == 3)
    #expect(svg.contains("1e-5"))  // 0.8^49 ~ 1.8e-5: the log axis reaches 1e-5
    #expect(!svg.contains("nan") && !svg.contains("inf"))
  }

  @Test func pngDecodes() throws {
    let png = Self.chart().renderPNG()
    let bytes = png.encoded()
    #expect(Array(bytes[0..<8]) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
    // Walk the chunks, checking lengths and CRCs; inflate the stored blocks and compare pixels.
    var i = 8
    var idat = [UInt8]()
    var types = [String]()
    while i < bytes.count {
      let len = Int(bytes[i]) << 24 | Int(bytes[i + 1]) << 16 | Int(bytes[i + 2]) << 8 | Int(bytes[i + 3])
      let type = String(decoding: bytes[(i + 4)..<(i + 8)], as: UTF8.self)
      types.append(type)
      let data = Array(bytes[(i + 8)..<(i + 8 + len)])
      let crc = bytes[(i + 8 + len)..<(i + 12 + len)].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
      #expect(crc == crc32(Array(bytes[(i + 4)..<(i + 8)]) + data), "CRC of \(type)")
      if type == "IDAT" { idat += data }
      i += 12 + len
    }
    #expect(types == ["IHDR", "IDAT", "IEND"])
    var raw = [UInt8](), p = 2
    while true {
      let final = idat[p] & 1
      let n = Int(idat[p + 1]) | Int(idat[p + 2]) << 8
      raw += idat[(p + 5)..<(p + 5 + n)]
      p += 5 + n
      if final == 1 { break }
    }
    #expect(raw.count == png.height * (1 + 3 * png.width))
    var expected = [UInt8]()
    for y in 0..<png.height { expected.append(0); expected += png.pixels[(3 * y * png.width)..<(3 * (y + 1) * png.width)] }
    #expect(raw == expected)
    // Some pixels are the series' red.
    #expect(stride(from: 0, to: png.pixels.count, by: 3).contains { png.pixels[$0] == 0xD6 && png.pixels[$0 + 1] == 0x27 })
    try Data(bytes).write(to: URL(fileURLWithPath: NSTemporaryDirectory() + "recurrent-chart-test.png"))
  }

  func crc32(_ bytes: [UInt8]) -> UInt32 {
    var c: UInt32 = 0xFFFF_FFFF
    for b in bytes {
      c ^= UInt32(b)
      for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
    }
    return c ^ 0xFFFF_FFFF
  }
}
