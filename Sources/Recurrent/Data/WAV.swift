import Foundation

/// A WAV file's audio, mixed to mono, as samples in [-1, 1].
///
/// Layout read (RIFF, little-endian):
///
///     offset 0   "RIFF", u32 riffSize (bytes after this field), "WAVE"
///     offset 12  chunks: 4-byte id, u32 size, size bytes of data, a pad byte if size is odd
///       "fmt "   u16 formatTag (1 PCM, 3 IEEE float, 0xFFFE extensible), u16 channels,
///                u32 sampleRate, u32 byteRate, u16 blockAlign, u16 bitsPerSample
///                [extensible: u16 cbSize >= 22, u16 validBits, u32 channelMask, 16-byte GUID
///                whose first two bytes are the real format tag]
///       "data"   frames of blockAlign bytes, channels interleaved
///       others   (LIST, fact, cue, ...) skipped
///
/// Encodings: 8-bit unsigned PCM (x = (b - 128) / 128), 16-, 24- and 32-bit signed PCM
/// (x = v / 2^(bits-1)), 32- and 64-bit IEEE float (as stored; must be finite). Any sample
/// rate and channel count; channels are averaged to mono in Double, then stored as Float
/// (16- and 24-bit samples are exact in Float).
///
/// Every header field is checked: the magic words, that the RIFF size and every chunk size fit
/// in the file (a truncated file is an error), the format tag and bit depth, channels >= 1,
/// sampleRate >= 1, blockAlign = channels * bits / 8, byteRate = sampleRate * blockAlign, a
/// `fmt ` chunk before the `data` chunk and a data size that is a whole number of frames.
/// Errors are `RecurrentError.invalidData` naming the file, the byte offset of the field and
/// what was expected. Bytes after the RIFF data (riffSize + 8) are ignored.
public struct WAVAudio: Sendable, Equatable {
  /// How samples are stored in the file.
  public enum Encoding: String, Sendable, CaseIterable {
    case pcm8 = "8-bit unsigned PCM"
    case pcm16 = "16-bit PCM"
    case pcm24 = "24-bit PCM"
    case pcm32 = "32-bit PCM"
    case float32 = "32-bit float"
    case float64 = "64-bit float"

    var bytesPerSample: Int {
      switch self {
      case .pcm8: 1
      case .pcm16: 2
      case .pcm24: 3
      case .pcm32, .float32: 4
      case .float64: 8
      }
    }
  }

  /// Names the file in errors and reports.
  public let source: String
  /// Samples per second.
  public let sampleRate: Int
  /// Channels in the file (the samples are their mean).
  public let channelCount: Int
  public let encoding: Encoding
  /// Mono samples in [-1, 1], one per frame.
  public let samples: [Float]

  /// Length in seconds.
  public var duration: Double { Double(samples.count) / Double(sampleRate) }

  /// Mono audio from samples (for tests and synthetic signals).
  public init(samples: [Float], sampleRate: Int, source: String = "<memory>") {
    self.source = source
    self.sampleRate = sampleRate
    self.channelCount = 1
    self.encoding = .float32
    self.samples = samples
  }

  /// Reads the file at `url`. Throws `RecurrentError.io` if it cannot be read.
  public init(contentsOf url: URL) throws {
    try self.init(bytes: AtomicFile.read(url), source: url.path)
  }

  /// Parses the bytes of a WAV file; `source` names it in errors.
  public init(bytes: [UInt8], source: String = "<memory>") throws {
    func bad(_ offset: Int, _ message: String) -> RecurrentError {
      .invalidData("\(source): byte offset \(offset): \(message)")
    }
    func u16(_ o: Int) -> Int { Int(bytes[o]) | Int(bytes[o + 1]) << 8 }
    func u32(_ o: Int) -> Int { u16(o) | u16(o + 2) << 16 }
    func tag(_ o: Int) -> String {
      String(bytes[o..<(o + 4)].map { (0x20..<0x7F).contains($0) ? Character(UnicodeScalar($0)) : "?" })
    }

    guard bytes.count >= 12 else {
      throw bad(0, "truncated: the file has \(bytes.count) bytes; a WAV file starts with a 12-byte RIFF/WAVE header")
    }
    guard tag(0) == "RIFF" else {
      let hint = tag(0) == "RIFX" ? " (big-endian RIFX is not supported)" : tag(0) == "RF64" ? " (RF64 is not supported)" : ""
      throw bad(0, "expected \"RIFF\", found \"\(tag(0))\"\(hint): not a WAV file")
    }
    let riffSize = u32(4)
    guard riffSize >= 4 else { throw bad(4, "RIFF size \(riffSize) is too small to hold \"WAVE\"") }
    guard 8 + riffSize <= bytes.count else {
      throw bad(
        4, "RIFF size \(riffSize) needs \(8 + riffSize) bytes but the file has \(bytes.count) (truncated file?)")
    }
    guard tag(8) == "WAVE" else { throw bad(8, "expected \"WAVE\", found \"\(tag(8))\": not a WAV file") }
    let end = 8 + riffSize

    var format: (encoding: Encoding, channels: Int, rate: Int, blockAlign: Int)?
    var dataRange: Range<Int>?
    var pos = 12
    while pos < end {
      guard pos + 8 <= end else {
        throw bad(pos, "truncated chunk header: \(end - pos) bytes left in the RIFF data, a chunk header needs 8")
      }
      let id = tag(pos), size = u32(pos + 4), body = pos + 8
      guard size <= end - body else {
        throw bad(
          pos + 4, "chunk \"\(id)\" says it has \(size) bytes but only \(end - body) remain in the RIFF data (truncated file?)")
      }
      switch id {
      case "fmt ":
        guard format == nil else { throw bad(pos, "a second \"fmt \" chunk") }
        guard dataRange == nil else { throw bad(pos, "the \"fmt \" chunk comes after the \"data\" chunk") }
        format = try Self.parseFormat(bytes, body: body, size: size, bad: bad)
      case "data":
        guard let format else { throw bad(pos, "the \"data\" chunk comes before any \"fmt \" chunk") }
        if dataRange == nil {
          guard size % format.blockAlign == 0 else {
            throw bad(
              pos + 4, "data size \(size) is not a whole number of \(format.blockAlign)-byte frames (truncated frame?)")
          }
          dataRange = body..<(body + size)
        }
      default:
        break
      }
      pos = body + size + (size & 1)  // chunks are padded to an even size
    }
    guard let format else { throw bad(12, "no \"fmt \" chunk") }
    guard let dataRange else { throw bad(12, "no \"data\" chunk") }

    let C = format.channels, width = format.encoding.bytesPerSample
    let frames = dataRange.count / format.blockAlign
    var mono = [Float](repeating: 0, count: frames)
    let scale = 1 / Double(C)
    for f in 0..<frames {
      var sum = 0.0
      for c in 0..<C {
        let o = dataRange.lowerBound + f * format.blockAlign + c * width
        let x: Double
        switch format.encoding {
        case .pcm8: x = (Double(bytes[o]) - 128) / 128
        case .pcm16: x = Double(Int16(bitPattern: UInt16(u16(o)))) / 32768
        case .pcm24:
          let v = Int32(bitPattern: UInt32(bytes[o]) << 8 | UInt32(bytes[o + 1]) << 16 | UInt32(bytes[o + 2]) << 24) >> 8
          x = Double(v) / 8_388_608
        case .pcm32: x = Double(Int32(bitPattern: UInt32(u32(o)))) / 2_147_483_648
        case .float32:
          x = Double(Float(bitPattern: UInt32(u32(o))))
          guard x.isFinite else { throw bad(o, "sample is \(x) (frame \(f), channel \(c)); float samples must be finite") }
        case .float64:
          x = Double(bitPattern: UInt64(u32(o)) | UInt64(u32(o + 4)) << 32)
          guard x.isFinite else { throw bad(o, "sample is \(x) (frame \(f), channel \(c)); float samples must be finite") }
        }
        sum += x
      }
      mono[f] = Float(sum * scale)
    }
    self.source = source
    self.sampleRate = format.rate
    self.channelCount = C
    self.encoding = format.encoding
    self.samples = mono
  }

  private static func parseFormat(
    _ bytes: [UInt8], body: Int, size: Int, bad: (Int, String) -> RecurrentError
  ) throws -> (encoding: Encoding, channels: Int, rate: Int, blockAlign: Int) {
    func u16(_ o: Int) -> Int { Int(bytes[o]) | Int(bytes[o + 1]) << 8 }
    func u32(_ o: Int) -> Int { u16(o) | u16(o + 2) << 16 }
    guard size >= 16 else { throw bad(body - 4, "\"fmt \" chunk has \(size) bytes, expected at least 16") }
    var formatTag = u16(body)
    let channels = u16(body + 2), rate = u32(body + 4), byteRate = u32(body + 8)
    let blockAlign = u16(body + 12), bits = u16(body + 14)
    if formatTag == 0xFFFE {
      guard size >= 40 else {
        throw bad(body - 4, "extensible \"fmt \" chunk has \(size) bytes, expected at least 40")
      }
      let cbSize = u16(body + 16)
      guard cbSize >= 22 else { throw bad(body + 16, "extensible format extension size \(cbSize), expected >= 22") }
      let guidTail: [UInt8] = [0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71]
      guard Array(bytes[(body + 26)..<(body + 40)]) == guidTail else {
        throw bad(body + 24, "unknown extensible sub-format GUID (expected PCM or IEEE float)")
      }
      formatTag = u16(body + 24)
    }
    let encoding: Encoding
    switch (formatTag, bits) {
    case (1, 8): encoding = .pcm8
    case (1, 16): encoding = .pcm16
    case (1, 24): encoding = .pcm24
    case (1, 32): encoding = .pcm32
    case (3, 32): encoding = .float32
    case (3, 64): encoding = .float64
    case (1, _), (3, _):
      throw bad(
        body + 14, "\(bits) bits per sample is not supported for \(formatTag == 1 ? "PCM" : "float") (expected "
          + (formatTag == 1 ? "8, 16, 24 or 32)" : "32 or 64)"))
    default:
      throw bad(body, "format tag \(formatTag) is not supported (expected 1 PCM, 3 IEEE float or 0xFFFE extensible)")
    }
    guard channels >= 1 else { throw bad(body + 2, "0 channels") }
    guard rate >= 1 else { throw bad(body + 4, "sample rate 0") }
    let expectedAlign = channels * encoding.bytesPerSample
    guard blockAlign == expectedAlign else {
      throw bad(
        body + 12, "block align \(blockAlign), expected channels x bytes per sample = \(channels) x "
          + "\(encoding.bytesPerSample) = \(expectedAlign)")
    }
    guard byteRate == rate * blockAlign else {
      throw bad(
        body + 8, "byte rate \(byteRate), expected sample rate x block align = \(rate) x \(blockAlign) = \(rate * blockAlign)")
    }
    return (encoding, channels, rate, blockAlign)
  }

  /// The bytes of a 16-bit PCM WAV file of `channels` interleaved channels (frames x channels
  /// samples in [-1, 1]; each is stored as round(x * 32768) clamped to [-32768, 32767]).
  public static func pcm16Bytes(interleaved samples: [Float], channels: Int = 1, sampleRate: Int) -> [UInt8] {
    precondition(channels >= 1 && samples.count % channels == 0, "WAVAudio.pcm16Bytes: samples not a whole number of frames")
    var out = [UInt8]()
    func put32(_ v: Int) { for k in 0..<4 { out.append(UInt8((v >> (8 * k)) & 0xFF)) } }
    func put16(_ v: Int) { for k in 0..<2 { out.append(UInt8((v >> (8 * k)) & 0xFF)) } }
    let dataSize = samples.count * 2
    out += Array("RIFF".utf8)
    put32(36 + dataSize)
    out += Array("WAVEfmt ".utf8)
    put32(16)
    put16(1)
    put16(channels)
    put32(sampleRate)
    put32(sampleRate * channels * 2)
    put16(channels * 2)
    put16(16)
    out += Array("data".utf8)
    put32(dataSize)
    for x in samples {
      let v = Int(max(-32768, min(32767, (Double(x) * 32768).rounded())))
      put16(v & 0xFFFF)
    }
    return out
  }
}
