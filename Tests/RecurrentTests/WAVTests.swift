import Foundation
import Testing

@testable import Recurrent

@Suite struct WAVTests {
  /// A WAV file from parts, every field overridable, so tests can break one at a time.
  struct Builder {
    var formatTag = 1, channels = 1, sampleRate = 8000, bits = 16
    var blockAlign: Int?, byteRate: Int?
    var fmtExtra: [UInt8] = []
    var data: [UInt8] = []
    var chunksBeforeFormat: [UInt8] = []
    var chunksBeforeData: [UInt8] = []
    var riffSize: Int?
    var dataSize: Int?

    static func le(_ v: Int, _ n: Int) -> [UInt8] { (0..<n).map { UInt8((v >> (8 * $0)) & 0xFF) } }
    static func chunk(_ id: String, _ body: [UInt8], size: Int? = nil) -> [UInt8] {
      Array(id.utf8) + le(size ?? body.count, 4) + body + (body.count % 2 == 1 ? [0] : [])
    }

    var fmtBody: [UInt8] {
      let align = blockAlign ?? channels * bits / 8
      return Self.le(formatTag, 2) + Self.le(channels, 2) + Self.le(sampleRate, 4)
        + Self.le(byteRate ?? sampleRate * align, 4) + Self.le(align, 2) + Self.le(bits, 2) + fmtExtra
    }

    var bytes: [UInt8] {
      let body = Array("WAVE".utf8) + chunksBeforeFormat + Self.chunk("fmt ", fmtBody) + chunksBeforeData
        + Self.chunk("data", data, size: dataSize)
      return Array("RIFF".utf8) + Self.le(riffSize ?? body.count, 4) + body
    }
  }

  static func pcm16(_ values: [Int]) -> [UInt8] { values.flatMap { Builder.le($0 & 0xFFFF, 2) } }

  @Test func sixteenBitRoundTripMonoAndStereo() throws {
    let mono: [Float] = [0, 0.5, -0.5, -1, 32767 / 32768, 1 / 32768]
    let a = try WAVAudio(bytes: WAVAudio.pcm16Bytes(interleaved: mono, sampleRate: 16000))
    #expect(a.samples == mono && a.sampleRate == 16000 && a.channelCount == 1 && a.encoding == .pcm16)
    #expect(a.duration == 6.0 / 16000)
    // Stereo frames (L, R) are averaged.
    let stereo: [Float] = [0.5, 0.25, -1, 1 - 1 / 32768, 0, 0]
    let s = try WAVAudio(bytes: WAVAudio.pcm16Bytes(interleaved: stereo, channels: 2, sampleRate: 44100))
    #expect(s.channelCount == 2 && s.samples == [0.375, -1 / 65536, 0])
    // Clipping on write.
    let clipped = try WAVAudio(bytes: WAVAudio.pcm16Bytes(interleaved: [2, -2], sampleRate: 8000))
    #expect(clipped.samples == [32767 / 32768, -1])
  }

  @Test func otherEncodings() throws {
    var b = Builder()
    b.bits = 8
    b.data = [0, 128, 255, 64, 7]  // odd size: a pad byte follows
    #expect(try WAVAudio(bytes: b.bytes).samples == [-1, 0, 127 / 128, -0.5, -121 / 128])

    b = Builder()
    b.bits = 24
    b.data = [0x00, 0x00, 0x80, 0xFF, 0xFF, 0x7F, 0x01, 0x00, 0x00, 0xFF, 0xFF, 0xFF]
    let s24 = try WAVAudio(bytes: b.bytes)
    #expect(s24.encoding == .pcm24 && s24.samples == [-1, Float(8_388_607.0 / 8_388_608), Float(1.0 / 8_388_608), Float(-1.0 / 8_388_608)])

    b = Builder()
    b.bits = 32
    b.data = Builder.le(Int(Int32.min) & 0xFFFF_FFFF, 4) + Builder.le(1 << 30, 4)
    #expect(try WAVAudio(bytes: b.bytes).samples == [-1, 0.5])

    b = Builder()
    b.formatTag = 3
    b.bits = 32
    b.data = [Float(0.25), -0.75].flatMap { Builder.le(Int($0.bitPattern), 4) }
    #expect(try WAVAudio(bytes: b.bytes).samples == [0.25, -0.75])

    b.bits = 64
    b.data = [Double(0.125), -2].flatMap { Builder.le(Int(bitPattern: UInt($0.bitPattern)), 8) }
    let f64 = try WAVAudio(bytes: b.bytes)
    #expect(f64.encoding == .float64 && f64.samples == [0.125, -2])

    // WAVE_FORMAT_EXTENSIBLE carrying PCM, 3 channels.
    b = Builder()
    b.formatTag = 0xFFFE
    b.channels = 3
    b.fmtExtra = Builder.le(22, 2) + Builder.le(16, 2) + Builder.le(7, 4) + Builder.le(1, 2)
      + [0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71]
    b.data = Self.pcm16([3000, 6000, 9000])
    let ext = try WAVAudio(bytes: b.bytes)
    #expect(ext.channelCount == 3 && ext.samples == [Float(6000.0 / 32768)])
  }

  @Test func unknownChunksAreSkipped() throws {
    var b = Builder()
    b.chunksBeforeFormat = Builder.chunk("JUNK", [1, 2, 3])  // odd: padded
    b.chunksBeforeData = Builder.chunk("LIST", Array("INFOISFT".utf8)) + Builder.chunk("fact", [4, 0, 0, 0])
    b.data = Self.pcm16([16384, -16384])
    var bytes = b.bytes
    bytes += [9, 9, 9]  // bytes after the RIFF data are ignored
    #expect(try WAVAudio(bytes: bytes).samples == [0.5, -0.5])
  }

  @Test func readsTheFixture() throws {
    let url = try #require(Bundle.module.url(forResource: "audio_chirp_16k", withExtension: "wav", subdirectory: "Fixtures"))
    let audio = try WAVAudio(contentsOf: url)
    #expect(audio.sampleRate == 16000 && audio.channelCount == 1 && audio.samples.count == 4000)
    #expect(audio.samples.allSatisfy { abs($0) <= 1 } && audio.samples.contains { abs($0) > 0.4 })
    let stereo = try WAVAudio(
      contentsOf: try #require(Bundle.module.url(forResource: "audio_stereo_22k", withExtension: "wav", subdirectory: "Fixtures")))
    #expect(stereo.sampleRate == 22050 && stereo.channelCount == 2 && stereo.samples.count == 2205)
    let missing = URL(fileURLWithPath: "/nonexistent/a.wav")
    #expect(dataError { _ = try WAVAudio(contentsOf: missing) } == .io("cannot open '/nonexistent/a.wav': No such file or directory"))
  }

  @Test func malformedFilesNameTheByteOffset() {
    var cases: [(String, [UInt8], String)] = []
    func add(_ what: String, _ expected: String, _ change: (inout Builder) -> Void) {
      var b = Builder()
      b.data = Self.pcm16([1, 2, 3, 4])
      change(&b)
      cases.append((what, b.bytes, expected))
    }
    let good = { () -> [UInt8] in var b = Builder(); b.data = Self.pcm16([1, 2, 3, 4]); return b.bytes }()
    cases.append(("short", Array(good.prefix(10)), "byte offset 0: truncated: the file has 10 bytes"))
    cases.append(("not RIFF", Array("RIFX".utf8) + good.dropFirst(4), "byte offset 0: expected \"RIFF\", found \"RIFX\" (big-endian RIFX is not supported)"))
    cases.append(("not WAVE", Array(good.prefix(8)) + Array("AVI ".utf8) + good.dropFirst(12), "byte offset 8: expected \"WAVE\", found \"AVI \""))
    cases.append(("truncated", Array(good.dropLast(3)), "byte offset 4: RIFF size 44 needs 52 bytes but the file has 49 (truncated file?)"))
    add("chunk too long", "byte offset 40: chunk \"data\" says it has 100 bytes but only 8 remain") { $0.dataSize = 100 }
    var short = Array("RIFF".utf8) + Builder.le(4 + 8 + 14, 4) + Array("WAVE".utf8)
    short += Builder.chunk("fmt ", Array(Builder().fmtBody.prefix(14)))
    cases.append(("fmt too short", short, "byte offset 16: \"fmt \" chunk has 14 bytes, expected at least 16"))
    add("ADPCM", "byte offset 20: format tag 2 is not supported") { $0.formatTag = 2 }
    add("12-bit", "byte offset 34: 12 bits per sample is not supported for PCM (expected 8, 16, 24 or 32)") { $0.bits = 12; $0.blockAlign = 2 }
    add("float16", "byte offset 34: 16 bits per sample is not supported for float (expected 32 or 64)") { $0.formatTag = 3 }
    add("no channels", "byte offset 22: 0 channels") { $0.channels = 0; $0.blockAlign = 2; $0.byteRate = 16000 }
    add("no rate", "byte offset 24: sample rate 0") { $0.sampleRate = 0 }
    add("block align", "byte offset 32: block align 4, expected channels x bytes per sample = 1 x 2 = 2") { $0.blockAlign = 4; $0.byteRate = 32000 }
    add("byte rate", "byte offset 28: byte rate 1234, expected sample rate x block align = 8000 x 2 = 16000") { $0.byteRate = 1234 }
    add("partial frame", "byte offset 40: data size 7 is not a whole number of 2-byte frames") { $0.data = [1, 2, 3, 4, 5, 6, 7] }
    add("NaN sample", "byte offset 48: sample is nan (frame 1, channel 0); float samples must be finite") { b in
      b.formatTag = 3
      b.bits = 32
      b.data = Builder.le(0, 4) + Builder.le(Int(Float.nan.bitPattern), 4)
    }
    add("bad GUID", "byte offset 44: unknown extensible sub-format GUID") { b in
      b.formatTag = 0xFFFE
      b.fmtExtra = Builder.le(22, 2) + Builder.le(16, 2) + Builder.le(4, 4) + Builder.le(1, 2) + [UInt8](repeating: 0, count: 14)
    }
    // Chunk order and presence.
    let fmt = Builder.chunk("fmt ", Builder().fmtBody), data = Builder.chunk("data", Self.pcm16([1, 2]))
    func riff(_ body: [UInt8]) -> [UInt8] { Array("RIFF".utf8) + Builder.le(4 + body.count, 4) + Array("WAVE".utf8) + body }
    cases.append(("data first", riff(data + fmt), "byte offset 12: the \"data\" chunk comes before any \"fmt \" chunk"))
    cases.append(("no data", riff(fmt), "byte offset 12: no \"data\" chunk"))
    cases.append(("no fmt", riff(Builder.chunk("LIST", [1, 2])), "byte offset 12: no \"fmt \" chunk"))
    cases.append(("two fmt", riff(fmt + fmt + data), "byte offset 36: a second \"fmt \" chunk"))
    cases.append(("cut header", riff(fmt + data + [0x4C, 0x49, 0x53]), "byte offset 48: truncated chunk header: 3 bytes left"))

    #expect(cases.count >= 20)
    for (what, bytes, expected) in cases {
      let message = dataErrorText { _ = try WAVAudio(bytes: bytes, source: "x.wav") }
      #expect(message?.contains("x.wav: \(expected)") == true, "\(what): \(message ?? "no error")")
      #expect(message?.hasPrefix("invalid data:") == true, "\(what)")
    }
  }
}
