import Foundation
import Testing

@testable import Recurrent
import RecurrentTestSupport

@Suite struct LogMelTests {
  // MARK: - FFT

  /// X[k] = sum_n x[n] exp(-2 pi i k n / N), the O(N^2) definition.
  static func naiveDFT(_ x: [Double]) -> (re: [Double], im: [Double]) {
    let N = x.count
    var re = [Double](), im = [Double]()
    for k in 0...(N / 2) {
      var r = 0.0, i = 0.0
      for n in 0..<N {
        let angle = -2 * Double.pi * Double(k * n % N) / Double(N)
        r += x[n] * cos(angle)
        i += x[n] * sin(angle)
      }
      re.append(r)
      im.append(i)
    }
    return (re, im)
  }

  @Test func fftMatchesTheNaiveDFT() throws {
    var g = SeededGenerator(seed: 5)
    for size in [2, 4, 8, 16, 64, 256, 1024] {
      let x = (0..<size).map { _ in g.nextNormal() }
      let fft = try FFT(size: size)
      let (re, im) = fft.forward(x)
      let (r0, i0) = Self.naiveDFT(x)
      #expect(re.count == size / 2 + 1)
      let scale = max(1, r0.map(abs).max()!)
      let err = max(maxAbsoluteDifference(re, r0), maxAbsoluteDifference(im, i0)) / scale
      #expect(err < 1e-12, "N = \(size): relative error \(err)")
      // Parseval: sum |x|^2 = (|X_0|^2 + 2 sum_{0<k<N/2} |X_k|^2 + |X_{N/2}|^2) / N
      let p = fft.powerSpectrum(x)
      let energy = (p[0] + p[size / 2] + 2 * p[1..<(size / 2)].reduce(0, +)) / Double(size)
      #expect(abs(energy - x.map { $0 * $0 }.reduce(0, +)) < 1e-9 * energy)
    }
    // A pure cosine at bin 3 of 32.
    let tone = (0..<32).map { cos(2 * Double.pi * 3 * Double($0) / 32) }
    let p = try FFT(size: 32).powerSpectrum(tone)
    #expect(abs(p[3] - 256) < 1e-9 && p.enumerated().allSatisfy { $0.offset == 3 || $0.element < 1e-18 })
  }

  @Test func fftSizeMustBeAPowerOfTwo() {
    for bad in [0, 1, 3, 12, 1000, -4] { #expect(dataError { _ = try FFT(size: bad) } != nil, "\(bad)") }
    #expect(FFT.nextPowerOfTwo(400) == 512 && FFT.nextPowerOfTwo(512) == 512 && FFT.nextPowerOfTwo(1) == 2)
  }

  // MARK: - Mel scale and filterbank

  @Test func melScales() {
    #expect(abs(MelScale.slaney.mel(fromHertz: 1000) - 15) < 1e-12)
    #expect(abs(MelScale.slaney.mel(fromHertz: 500) - 7.5) < 1e-12)
    #expect(abs(MelScale.htk.mel(fromHertz: 700) - 2595 * Foundation.log10(2.0)) < 1e-9)
    for scale in MelScale.allCases {
      for f in [0.0, 123.4, 999.9, 1000, 4321, 8000, 22050] {
        #expect(abs(scale.hertz(fromMel: scale.mel(fromHertz: f)) - f) < 1e-9 * max(1, f), "\(scale) \(f)")
      }
    }
  }

  @Test func filterbankShape() throws {
    let plain = try LogMelSpectrogram(sampleRate: 16000, melScale: .htk, normalizeFilters: false)
    #expect(plain.windowLength == 400 && plain.hopLength == 160 && plain.fftSize == 512)
    let K = 257
    #expect(plain.filterbank.count == 40 * K && plain.emptyFilters.isEmpty)
    for m in 0..<40 {
      let row = plain.filterbank[(m * K)..<((m + 1) * K)]
      #expect(row.allSatisfy { $0 >= 0 && $0 <= 1 })
      #expect(row.max()! > 0.5)  // each triangle reaches near its peak of 1
    }
    // Slaney normalisation: weight x 2 / (f_{m+2} - f_m); more mels than bins leaves some empty.
    let dense = try LogMelSpectrogram(sampleRate: 8000, melCount: 128, windowMilliseconds: 8)
    #expect(!dense.emptyFilters.isEmpty)
  }

  @Test func aToneLightsUpTheMelBandAroundItsFrequency() throws {
    let spec = try LogMelSpectrogram(sampleRate: 16000)
    let tone = (0..<8000).map { Float(0.5 * sin(2 * Double.pi * 1000 * Double($0) / 16000)) }
    let frames = spec(tone)
    #expect(frames.shape == [1 + (8000 - 400) / 160, 40])
    let first = Array(frames.scalars[0..<40])
    let peak = first.indices.max { first[$0] < first[$1] }!
    // Band edges of the peak filter (Slaney scale, 0...8000 Hz in 42 points).
    let hi = MelScale.slaney.mel(fromHertz: 8000)
    let lower = MelScale.slaney.hertz(fromMel: hi * Double(peak) / 41)
    let upper = MelScale.slaney.hertz(fromMel: hi * Double(peak + 2) / 41)
    #expect(lower < 1000 && 1000 < upper, "peak filter \(peak): \(lower)...\(upper) Hz")
  }

  @Test func shortSignalsAndSilence() throws {
    let spec = try LogMelSpectrogram(sampleRate: 16000)
    #expect(spec.frameCount(sampleCount: 399) == 0 && spec.frameCount(sampleCount: 400) == 1 && spec.frameCount(sampleCount: 560) == 2)
    #expect(spec([Float](repeating: 0.1, count: 100)).shape == [0, 40])
    let silent = spec([Float](repeating: 0, count: 1000))
    #expect(silent.shape == [4, 40] && silent.scalars.allSatisfy { $0 == Float(log(1e-6)) })
  }

  @Test func configurationIsValidated() throws {
    let cases: [() throws -> Void] = [
      { _ = try LogMelSpectrogram(sampleRate: 0) },
      { _ = try LogMelSpectrogram(sampleRate: 16000, melCount: 0) },
      { _ = try LogMelSpectrogram(sampleRate: 16000, windowMilliseconds: 0.05) },  // 1 sample
      { _ = try LogMelSpectrogram(sampleRate: 16000, hopMilliseconds: 0.01) },
      { _ = try LogMelSpectrogram(sampleRate: 16000, windowMilliseconds: -.infinity) },
      { _ = try LogMelSpectrogram(sampleRate: 16000, maxFrequency: 9000) },
      { _ = try LogMelSpectrogram(sampleRate: 16000, minFrequency: 4000, maxFrequency: 3000) },
      { _ = try LogMelSpectrogram(sampleRate: 16000, preEmphasis: 1) },
    ]
    for (i, make) in cases.enumerated() {
      #expect(dataErrorText(make)?.hasPrefix("invalid argument: log-mel:") == true, "case \(i)")
    }
    let spec = try LogMelSpectrogram(sampleRate: 16000)
    let audio = WAVAudio(samples: [Float](repeating: 0, count: 800), sampleRate: 8000, source: "a.wav")
    #expect(dataErrorText { _ = try spec(audio) }?.contains("a.wav is sampled at 8000 Hz") == true)
  }

  // MARK: - Against the committed numpy/librosa reference

  /// The *_logmel.txt reference written by Scripts/fixtures/make_audio_fixtures.py.
  static func reference(_ name: String) throws -> (shape: [Int], values: [Double]) {
    let url = try #require(Bundle.module.url(forResource: name, withExtension: "txt", subdirectory: "Fixtures"))
    let text = try String(contentsOf: url, encoding: .utf8)
    var shape = [Int](), values = [Double]()
    for line in text.split(separator: "\n") {
      if line.hasPrefix("# shape") {
        shape = line.split(separator: " ").dropFirst(2).map { Int($0)! }
      } else if !line.hasPrefix("#") {
        values += line.split(separator: " ").map { Double($0)! }
      }
    }
    return (shape, values)
  }

  static func audio(_ name: String) throws -> WAVAudio {
    try WAVAudio(contentsOf: try #require(Bundle.module.url(forResource: name, withExtension: "wav", subdirectory: "Fixtures")))
  }

  // Tolerance: the reference is float64 and ours is computed in Double and rounded to Float at
  // the end, so the difference is the Float rounding of |value| < 16, at most 16 * 2^-24 ~ 1e-6
  // (the FFT and filterbank differ from numpy's only by ~1e-13 relative). 1e-5 leaves a 10x margin
  // while a wrong window, scale, normalisation or framing moves values by > 1e-2.
  static let tolerance = 1e-5

  @Test func defaultsMatchTheReferenceChirp() throws {
    let (shape, expected) = try Self.reference("audio_chirp_16k_logmel")
    let frames = try LogMelSpectrogram(sampleRate: 16000)(Self.audio("audio_chirp_16k"))
    #expect(frames.shape == shape && shape == [23, 40])
    let diff = maxAbsoluteDifference(frames.scalars.map(Double.init), expected)
    #expect(diff < Self.tolerance, "max |difference| \(diff)")
  }

  @Test func stereoHTKPreEmphasisMatchesTheReference() throws {
    let (shape, expected) = try Self.reference("audio_stereo_22k_logmel")
    let spec = try LogMelSpectrogram(
      sampleRate: 22050, melCount: 24, windowMilliseconds: 20, hopMilliseconds: 10, minFrequency: 50, maxFrequency: 8000,
      preEmphasis: 0.97, melScale: .htk, normalizeFilters: false)
    #expect(spec.windowLength == 441 && spec.hopLength == 221 && spec.fftSize == 512)
    let frames = try spec(Self.audio("audio_stereo_22k"))
    #expect(frames.shape == shape && shape == [8, 24])
    let diff = maxAbsoluteDifference(frames.scalars.map(Double.init), expected)
    #expect(diff < Self.tolerance, "max |difference| \(diff)")
  }
}
