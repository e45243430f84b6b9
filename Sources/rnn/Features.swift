import ArgumentParser
import Foundation
import Recurrent

/// `rnn features`: WAV files to log-mel spectrogram frames, as NPY.
///
/// - `--wav FILE...`: 16-bit (or 8/24/32-bit, float) PCM WAV files, mixed to mono; a directory
///   stands for the `.wav` files in it, sorted by name.
/// - `--out DIR`: one float32 NPY [frames, n_mels] per file, named after the file (a.wav ->
///   DIR/a.npy); the directory is created if needed.
/// - `--stack OUT.npy`: every file padded with zeros to the longest and stacked, float32
///   [files, T_max, n_mels] in the order given, plus int64 lengths [files] (`--lengths`,
///   default OUT_lengths.npy) for `rnn train --x OUT.npy` / `rnn forward --lengths`.
///
/// The features are `LogMelSpectrogram`'s (see its documentation for the formulas): Hann
/// window, radix-2 FFT, power spectrum, mel filterbank (Slaney by default, or HTK),
/// ln(mel + 1e-6). Exit codes (see `ExitCodes`): 64 usage, 65 bad WAV data, 74 I/O.
struct Features: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Turn WAV files into log-mel spectrogram frames (NPY).",
    discussion: """
      Each WAV file (PCM 8/16/24/32-bit or float, any sample rate, channels
      averaged to mono) becomes float32 frames [frames, mels]: 25 ms Hann
      windows every 10 ms, power spectrum, mel filterbank, ln(mel + 1e-6).
      Frames start at sample 0 and only whole windows count:
        frames = 1 + (samples - window) / hop
      --out DIR writes DIR/<name>.npy per file. --stack OUT.npy pads all files
      to the longest and stacks them into [files, frames, mels], with int64
      lengths [files] in OUT_lengths.npy, ready for `rnn train --x OUT.npy`;
      stacked files must share one sample rate.
      Exit codes: 64 bad usage, 65 bad WAV data, 74 file not readable/writable.

      Examples:
        rnn features --wav speech/*.wav --out features/
        rnn features --wav clips/ --stack x.npy --mels 64 --window-ms 32 --hop-ms 16
        rnn features --wav a.wav --out f --mel-scale htk --mel-norm none \\
          --pre-emphasis 0.97 --fmin 20 --fmax 7600
      """)

  @Option(name: .long, parsing: .upToNextOption, help: "WAV files (or directories of .wav files).")
  var wav: [String] = []

  @Option(name: .long, help: "Directory for one <name>.npy [frames, mels] per WAV file.")
  var out: String?

  @Option(name: .long, help: "Also stack all files, zero-padded, into one float32 NPY [files, frames, mels].")
  var stack: String?

  @Option(name: .long, help: "Where --stack writes the int64 frame counts [files] (default: <stack>_lengths.npy).")
  var lengths: String?

  @Option(name: .long, help: "Mel bands per frame.")
  var mels: Int = 40

  @Option(name: .customLong("window-ms"), help: "Window length in milliseconds.")
  var windowMs: Double = 25

  @Option(name: .customLong("hop-ms"), help: "Hop between frame starts in milliseconds.")
  var hopMs: Double = 10

  @Option(name: .long, help: "Lowest filterbank frequency in Hz.")
  var fmin: Double = 0

  @Option(name: .long, help: "Highest filterbank frequency in Hz (default: half the sample rate).")
  var fmax: Double?

  @Option(name: .customLong("pre-emphasis"), help: "Pre-emphasis coefficient a in [0, 1): y[n] = x[n] - a x[n-1] (default: none).")
  var preEmphasis: Double?

  @Option(name: .customLong("mel-scale"), help: "Mel scale: slaney (librosa's default, area-normalised filters) or htk.")
  var melScale: String = "slaney"

  @Option(name: .customLong("mel-norm"), help: "Filter normalisation: slaney (equal area, librosa's default) or none (peak 1).")
  var melNorm: String = "slaney"

  @Flag(name: .long, help: "Print nothing on success.")
  var quiet = false

  func validate() throws {
    guard !wav.isEmpty else { throw ValidationError("give at least one input: --wav FILE...") }
    guard out != nil || stack != nil else { throw ValidationError("say where to write: --out DIR and/or --stack OUT.npy") }
    if lengths != nil, stack == nil { throw ValidationError("--lengths needs --stack") }
    guard (1...1024).contains(mels) else { throw ValidationError("--mels must be 1...1024, got \(mels)") }
    guard windowMs.isFinite, windowMs > 0 else { throw ValidationError("--window-ms must be positive, got \(windowMs)") }
    guard hopMs.isFinite, hopMs > 0 else { throw ValidationError("--hop-ms must be positive, got \(hopMs)") }
    guard MelScale(rawValue: melScale) != nil else {
      throw ValidationError("--mel-scale must be slaney or htk, got '\(melScale)'")
    }
    guard melNorm == "slaney" || melNorm == "none" else {
      throw ValidationError("--mel-norm must be slaney or none, got '\(melNorm)'")
    }
    if let preEmphasis, !(preEmphasis >= 0 && preEmphasis < 1) {
      throw ValidationError("--pre-emphasis must be in [0, 1), got \(preEmphasis)")
    }
  }

  /// One input's result.
  struct FileFeatures {
    var input: String
    var audio: WAVAudio
    var frames: Tensor<Float>  // [T, mels]
    var output: String?
  }

  /// What `execute` wrote.
  struct Summary {
    var files: [FileFeatures]
    var stackShape: [Int]?
    var lengthsPath: String?
  }

  /// The WAV files `wav` names: files as given, directories expanded to their .wav files.
  func inputFiles() throws -> [String] {
    var files = [String]()
    for path in wav {
      var isDirectory: ObjCBool = false
      if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
        let names: [String]
        do {
          names = try FileManager.default.contentsOfDirectory(atPath: path)
        } catch {
          throw RecurrentError.io("cannot list '\(path)': \(error.localizedDescription)")
        }
        let found = names.filter { $0.lowercased().hasSuffix(".wav") }.sorted()
        guard !found.isEmpty else { throw RecurrentError.invalidArgument("'\(path)' is a directory with no .wav files") }
        files += found.map { URL(fileURLWithPath: path).appendingPathComponent($0).path }
      } else {
        files.append(path)
      }
    }
    return files
  }

  /// Reads every file, computes its frames and writes the outputs. Throws `RecurrentError`.
  func execute() throws -> Summary {
    let inputs = try inputFiles()
    // Output names must not collide (a.wav in two folders).
    var outputs = [String?](repeating: nil, count: inputs.count)
    if let out {
      var seen = [String: String]()
      for (i, input) in inputs.enumerated() {
        let name = URL(fileURLWithPath: input).deletingPathExtension().lastPathComponent + ".npy"
        let target = URL(fileURLWithPath: out).appendingPathComponent(name).path
        if let other = seen[target] {
          throw RecurrentError.invalidArgument("'\(other)' and '\(input)' would both be written to '\(target)'")
        }
        seen[target] = input
        outputs[i] = target
      }
    }
    var spectrograms = [Int: LogMelSpectrogram]()
    var results = [FileFeatures]()
    for (i, input) in inputs.enumerated() {
      let audio = try WAVAudio(contentsOf: URL(fileURLWithPath: input))
      if spectrograms[audio.sampleRate] == nil {
        do {
          spectrograms[audio.sampleRate] = try LogMelSpectrogram(
            sampleRate: audio.sampleRate, melCount: mels, windowMilliseconds: windowMs, hopMilliseconds: hopMs,
            minFrequency: fmin, maxFrequency: fmax, preEmphasis: preEmphasis, melScale: MelScale(rawValue: melScale)!,
            normalizeFilters: melNorm == "slaney")
        } catch RecurrentError.invalidArgument(let message) {
          throw RecurrentError.invalidArgument("\(input) (\(audio.sampleRate) Hz): \(message)")
        }
      }
      let spectrogram = spectrograms[audio.sampleRate]!
      let frames = try spectrogram(audio)
      guard frames.shape[0] > 0 else {
        throw RecurrentError.invalidData(
          "\(input): \(audio.samples.count) samples (\(String(format: "%.4f", audio.duration)) s) are fewer than one "
            + "\(windowMs) ms window (\(spectrogram.windowLength) samples at \(audio.sampleRate) Hz)")
      }
      results.append(FileFeatures(input: input, audio: audio, frames: frames, output: outputs[i]))
    }
    if stack != nil, let first = results.first, let other = results.first(where: { $0.audio.sampleRate != first.audio.sampleRate }) {
      throw RecurrentError.invalidData(
        "--stack needs one sample rate: \(first.input) is \(first.audio.sampleRate) Hz, \(other.input) is "
          + "\(other.audio.sampleRate) Hz (resample them first)")
    }
    if let out {
      do {
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
      } catch {
        throw RecurrentError.io("cannot create the output directory '\(out)': \(error.localizedDescription)")
      }
      for r in results { try NPYArray(r.frames, dtype: .float32).write(to: URL(fileURLWithPath: r.output!)) }
    }
    var summary = Summary(files: results)
    if let stack {
      let (stacked, counts) = Self.stacked(results.map(\.frames), mels: mels)
      let lengthsPath = lengths ?? Self.defaultLengthsPath(forStack: stack)
      try NPYArray(stacked, dtype: .float32).write(to: URL(fileURLWithPath: stack))
      try NPYArray(integers: counts, shape: [counts.count], dtype: .int64).write(to: URL(fileURLWithPath: lengthsPath))
      summary.stackShape = stacked.shape
      summary.lengthsPath = lengthsPath
    }
    return summary
  }

  /// "x.npy" -> "x_lengths.npy" (".npy" appended when the stack path has no such extension).
  static func defaultLengthsPath(forStack stack: String) -> String {
    (stack.hasSuffix(".npy") ? String(stack.dropLast(4)) : stack) + "_lengths.npy"
  }

  /// [N, T_max, M] with each [T_i, M] block at the start of its row and zeros after; T_i.
  static func stacked(_ blocks: [Tensor<Float>], mels M: Int) -> (Tensor<Float>, [Int]) {
    let counts = blocks.map { $0.shape[0] }
    let tMax = counts.max() ?? 0
    var out = Tensor<Float>(shape: [blocks.count, tMax, M])
    for (n, block) in blocks.enumerated() {
      out.scalars.replaceSubrange((n * tMax * M)..<(n * tMax * M + block.count), with: block.scalars)
    }
    return (out, counts)
  }

  func run() throws {
    let summary = try ExitCodes.reporting("features") { try execute() }
    guard !quiet else { return }
    for f in summary.files {
      let a = f.audio
      let line = "\(f.input): \(a.sampleRate) Hz, \(a.channelCount) channel\(a.channelCount == 1 ? "" : "s"), "
        + "\(a.encoding.rawValue), \(String(format: "%.3f", a.duration)) s -> \(f.frames.shape[0]) frames x \(mels) mels"
      print(f.output.map { line + " -> \($0)" } ?? line)
    }
    if let shape = summary.stackShape, let stack, let lengthsPath = summary.lengthsPath {
      print("wrote \(stack): float32 \(shape) (zero-padded), lengths int64 [\(shape[0])] -> \(lengthsPath)")
    }
  }
}
