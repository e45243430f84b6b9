import ArgumentParser
import Foundation
import Recurrent
import Testing

@testable import rnn

/// `rnn features` end to end, in process: WAV files in, NPY files out, exit codes for bad input.
@Suite struct FeaturesCommandTests {
  static func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("rnn-features-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
  }

  /// A chirp-like test signal of `count` samples.
  static func signal(_ count: Int, rate: Int, hz: Double) -> [Float] {
    (0..<count).map { n in
      let t = Double(n) / Double(rate)
      return Float(0.4 * sin(2 * Double.pi * (hz + 2000 * t) * t))
    }
  }

  static func writeWAV(_ url: URL, samples: [Float], channels: Int = 1, rate: Int) throws {
    try Data(WAVAudio.pcm16Bytes(interleaved: samples, channels: channels, sampleRate: rate)).write(to: url)
  }

  /// The exit code `body` ends with (0 if it returns).
  static func exitCode(_ body: () throws -> Void) -> Int32 {
    do {
      try body()
      return 0
    } catch {
      return Features.exitCode(for: error).rawValue
    }
  }

  @Test func writesOneNPYPerFileAndAStack() throws {
    let dir = try Self.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let a = dir.appendingPathComponent("a.wav"), b = dir.appendingPathComponent("b.WAV")
    let aSamples = Self.signal(4000, rate: 16000, hz: 300)
    let bStereo = Self.signal(2 * 2400, rate: 16000, hz: 900)
    try Self.writeWAV(a, samples: aSamples, rate: 16000)
    try Self.writeWAV(b, samples: bStereo, channels: 2, rate: 16000)
    let out = dir.appendingPathComponent("feats").path, stack = dir.appendingPathComponent("x.npy").path
    let cmd = try Features.parse(["--wav", a.path, b.path, "--out", out, "--stack", stack, "--mels", "24", "--quiet"])
    try cmd.run()

    // Per-file NPYs equal the library's frames exactly (read back from the written WAVs).
    let spec = try LogMelSpectrogram(sampleRate: 16000, melCount: 24)
    let fa = try NPYArray(contentsOf: URL(fileURLWithPath: out + "/a.npy"))
    let fb = try NPYArray(contentsOf: URL(fileURLWithPath: out + "/b.npy"))
    let expectA = try spec(WAVAudio(contentsOf: a)), expectB = try spec(WAVAudio(contentsOf: b))
    #expect(fa.dtype == .float32 && fa.shape == [23, 24] && fa.tensor(as: Float.self) == expectA)
    #expect(fb.shape == [13, 24] && fb.tensor(as: Float.self) == expectB)  // 2400 frames: 1 + 2000 / 160

    // The stack: [2, 23, 24], b zero-padded after its 13 frames; lengths next to it.
    let x = try NPYArray(contentsOf: URL(fileURLWithPath: stack)).tensor(as: Float.self)
    #expect(x.shape == [2, 23, 24])
    #expect(Array(x.scalars[0..<(23 * 24)]) == expectA.scalars)
    #expect(Array(x.scalars[(23 * 24)..<(23 * 24 + 13 * 24)]) == expectB.scalars)
    #expect(x.scalars[(23 * 24 + 13 * 24)...].allSatisfy { $0 == 0 })
    let lengths = try NPYArray(contentsOf: dir.appendingPathComponent("x_lengths.npy"))
    let counts = try lengths.integers()
    #expect(lengths.dtype == .int64 && counts == [23, 13])
  }

  @Test func optionsReachTheSpectrogramAndDirectoriesExpand() throws {
    let dir = try Self.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let clips = dir.appendingPathComponent("clips")
    try FileManager.default.createDirectory(at: clips, withIntermediateDirectories: true)
    try Self.writeWAV(clips.appendingPathComponent("2.wav"), samples: Self.signal(3000, rate: 8000, hz: 200), rate: 8000)
    try Self.writeWAV(clips.appendingPathComponent("1.wav"), samples: Self.signal(2000, rate: 8000, hz: 500), rate: 8000)
    try Data("not audio".utf8).write(to: clips.appendingPathComponent("notes.txt"))
    let stack = dir.appendingPathComponent("s.npy").path, lengths = dir.appendingPathComponent("n.npy").path
    let cmd = try Features.parse([
      "--wav", clips.path, "--stack", stack, "--lengths", lengths, "--mels", "16", "--window-ms", "32", "--hop-ms", "16",
      "--mel-scale", "htk", "--mel-norm", "none", "--pre-emphasis", "0.97", "--fmin", "20", "--fmax", "3800",
    ])
    let summary = try cmd.execute()
    #expect(summary.files.map { URL(fileURLWithPath: $0.input).lastPathComponent } == ["1.wav", "2.wav"])  // sorted
    let spec = try LogMelSpectrogram(
      sampleRate: 8000, melCount: 16, windowMilliseconds: 32, hopMilliseconds: 16, minFrequency: 20, maxFrequency: 3800,
      preEmphasis: 0.97, melScale: .htk, normalizeFilters: false)
    let expected = try spec(WAVAudio(contentsOf: clips.appendingPathComponent("1.wav")))
    #expect(summary.files[0].frames == expected && summary.stackShape == [2, 22, 16])  // 1 + (3000 - 256) / 128 = 22
    #expect(try NPYArray(contentsOf: URL(fileURLWithPath: lengths)).integers() == [expected.shape[0], 22])
    #expect(Features.defaultLengthsPath(forStack: "out/x.npy") == "out/x_lengths.npy")
    #expect(Features.defaultLengthsPath(forStack: "x") == "x_lengths.npy")
  }

  @Test func badUsageExits64() throws {
    let dir = try Self.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let a = dir.appendingPathComponent("a.wav")
    try Self.writeWAV(a, samples: Self.signal(1000, rate: 16000, hz: 300), rate: 16000)
    let bad: [[String]] = [
      ["--out", dir.path],  // no input
      ["--wav", a.path],  // no output
      ["--wav", a.path, "--out", dir.path, "--mels", "0"],
      ["--wav", a.path, "--out", dir.path, "--window-ms", "-5"],
      ["--wav", a.path, "--out", dir.path, "--hop-ms", "0"],
      ["--wav", a.path, "--out", dir.path, "--mel-scale", "bark"],
      ["--wav", a.path, "--out", dir.path, "--mel-norm", "l2"],
      ["--wav", a.path, "--out", dir.path, "--pre-emphasis", "1.5"],
      ["--wav", a.path, "--out", dir.path, "--lengths", "l.npy"],
    ]
    for args in bad {
      #expect(Self.exitCode { var c = try Features.parseAsRoot(args); try c.run() } == 64, "\(args)")
    }
    // Library-level argument errors map to 64 too: fmax above Nyquist, colliding output names.
    let sub = dir.appendingPathComponent("sub")
    try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: true)
    try Self.writeWAV(sub.appendingPathComponent("a.wav"), samples: Self.signal(1000, rate: 16000, hz: 300), rate: 16000)
    for args in [
      ["--wav", a.path, "--out", dir.path, "--fmax", "9000"],
      ["--wav", a.path, sub.appendingPathComponent("a.wav").path, "--out", dir.appendingPathComponent("o").path],
    ] {
      #expect(Self.exitCode { try Features.parse(args).run() } == 64, "\(args)")
    }
    let empty = dir.appendingPathComponent("empty")
    try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
    #expect(Self.exitCode { try Features.parse(["--wav", empty.path, "--out", dir.path]).run() } == 64)
  }

  @Test func badDataExits65AndIOErrorsExit74() throws {
    let dir = try Self.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let good = dir.appendingPathComponent("good.wav")
    try Self.writeWAV(good, samples: Self.signal(1000, rate: 16000, hz: 300), rate: 16000)
    // Not a WAV file, a truncated one, one shorter than a window, mixed sample rates in a stack.
    let text = dir.appendingPathComponent("text.wav")
    try Data("hello, this is not audio at all".utf8).write(to: text)
    let truncated = dir.appendingPathComponent("cut.wav")
    try Data(WAVAudio.pcm16Bytes(interleaved: Self.signal(1000, rate: 16000, hz: 300), sampleRate: 16000).dropLast(100))
      .write(to: truncated)
    let short = dir.appendingPathComponent("short.wav")
    try Self.writeWAV(short, samples: Self.signal(100, rate: 16000, hz: 300), rate: 16000)
    let other = dir.appendingPathComponent("other.wav")
    try Self.writeWAV(other, samples: Self.signal(1000, rate: 8000, hz: 300), rate: 8000)
    let out = dir.appendingPathComponent("o").path
    for (file, expected) in [(text, "expected \"RIFF\""), (truncated, "byte offset 4: RIFF size"), (short, "fewer than one")] {
      let message = Self.errorText { _ = try Features.parse(["--wav", file.path, "--out", out]).execute() }
      #expect(message?.contains(file.path) == true && message?.contains(expected) == true, "\(message ?? "no error")")
      #expect(Self.exitCode { try Features.parse(["--wav", good.path, file.path, "--out", out, "--quiet"]).run() } == 65)
    }
    let mixed = Self.errorText { _ = try Features.parse(["--wav", good.path, other.path, "--stack", dir.path + "/s.npy"]).execute() }
    #expect(mixed?.contains("--stack needs one sample rate") == true)
    #expect(Self.exitCode { try Features.parse(["--wav", good.path, other.path, "--stack", dir.path + "/s.npy"]).run() } == 65)
    // Different rates without --stack are fine.
    #expect(Self.exitCode { try Features.parse(["--wav", good.path, other.path, "--out", out, "--quiet"]).run() } == 0)

    // I/O: a missing input; an output directory that cannot be created (a file is in the way).
    #expect(Self.exitCode { try Features.parse(["--wav", dir.path + "/missing.wav", "--out", out]).run() } == 74)
    let blocker = dir.appendingPathComponent("file")
    try Data("x".utf8).write(to: blocker)
    #expect(Self.exitCode { try Features.parse(["--wav", good.path, "--out", blocker.path + "/sub", "--quiet"]).run() } == 74)
    #expect(Self.exitCode { try Features.parse(["--wav", good.path, "--stack", blocker.path + "/x.npy", "--quiet"]).run() } == 74)
  }

  static func errorText(_ body: () throws -> Void) -> String? {
    do {
      try body()
      return nil
    } catch {
      return "\(error)"
    }
  }

  @Test func isRegisteredAsASubcommand() throws {
    #expect(RNNCommand.configuration.subcommands.contains { $0 == Features.self })
    let parsed = try RNNCommand.parseAsRoot(["features", "--wav", "a.wav", "--out", "d"])
    #expect(parsed is Features)
  }
}
