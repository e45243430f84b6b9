import Foundation

/// The mel scale: a frequency warping close to perceived pitch.
///
///     .htk     mel = 2595 * log10(1 + f / 700)                       (HTK, Kaldi, librosa htk=True)
///     .slaney  mel = 3 f / 200                     for f < 1000 Hz    (Slaney's Auditory Toolbox,
///              mel = 15 + 27 * ln(f / 1000) / ln(6.4)  for f >= 1000    librosa's default)
public enum MelScale: String, Sendable, CaseIterable {
  case htk, slaney

  /// Hertz to mels.
  public func mel(fromHertz f: Double) -> Double {
    switch self {
    case .htk:
      return 2595 * Foundation.log10(1 + f / 700)
    case .slaney:
      // As librosa: f_sp = 200 / 3 Hz per mel below 1 kHz, log-spaced above.
      let fsp = 200.0 / 3, minLogMel = 1000 / fsp, logStep = log(6.4) / 27
      return f >= 1000 ? minLogMel + log(f / 1000) / logStep : f / fsp
    }
  }

  /// Mels to hertz (the inverse of `mel(fromHertz:)`).
  public func hertz(fromMel m: Double) -> Double {
    switch self {
    case .htk:
      return 700 * (pow(10, m / 2595) - 1)
    case .slaney:
      let fsp = 200.0 / 3, minLogMel = 1000 / fsp, logStep = log(6.4) / 27
      return m >= minLogMel ? 1000 * exp(logStep * (m - minLogMel)) : fsp * m
    }
  }
}

/// Log-mel spectrogram frames of a mono signal: [frames, n_mels].
///
/// Per frame t (window length W = round(sr * windowMs / 1000) samples, hop R = round(sr * hopMs /
/// 1000), FFT size N = the next power of two >= W):
///
///     y[n]      = x[n] - a x[n-1] (y[0] = x[0])        optional pre-emphasis (a = `preEmphasis`)
///     f_t[n]    = y[t R + n] * w[n],  n < W;  0 for W <= n < N      (frames start at 0; only whole
///                                                                    frames: T = 1 + floor((L - W) / R),
///                                                                    0 when L < W)
///     w[n]      = 0.5 - 0.5 cos(2 pi n / W)                          periodic Hann (scipy/librosa/PyTorch)
///     P_t[k]    = |FFT_N(f_t)[k]|^2,  k = 0 ... N/2                  power spectrum, not normalised
///     M_t[m]    = sum_k B[m, k] P_t[k]                               mel filterbank B [n_mels, N/2 + 1]
///     out[t, m] = ln(M_t[m] + 1e-6)
///
/// The filterbank is librosa's `filters.mel` (so this matches
/// `log(librosa.feature.melspectrogram(..., center=False) + 1e-6)` on the same frames): n_mels + 2
/// points equally spaced in mels from fmin to fmax, converted to Hz, f_0 < ... < f_{n+1};
/// filter m is the triangle rising from f_m to f_{m+1} and falling to f_{m+2}, evaluated at the
/// bin frequencies k * sr / N:
///
///     B[m, k] = max(0, min((f_k - f_m) / (f_{m+1} - f_m), (f_{m+2} - f_k) / (f_{m+2} - f_{m+1})))
///
/// times 2 / (f_{m+2} - f_m) with `normalizeFilters` (Slaney's equal-area normalisation,
/// librosa's `norm="slaney"`, the default) so each filter has the same area. The default scale
/// is `.slaney` (librosa's default); `.htk` gives HTK/Kaldi-style centres. Computed in Double,
/// returned as Float.
///
/// Defaults: 40 mels, 25 ms windows, 10 ms hop, fmin 0, fmax sr/2, no pre-emphasis. At 16 kHz:
/// W = 400, R = 160, N = 512, 100 frames per second.
public struct LogMelSpectrogram: Sendable {
  public let sampleRate: Int
  public let melCount: Int
  /// W: samples per frame.
  public let windowLength: Int
  /// R: samples between frame starts.
  public let hopLength: Int
  /// N: FFT length (next power of two >= W).
  public let fftSize: Int
  public let minFrequency: Double
  public let maxFrequency: Double
  public let preEmphasis: Double?
  public let melScale: MelScale
  public let normalizeFilters: Bool
  /// Added to the mel energies before the log.
  public static let logOffset = 1e-6

  /// The filterbank B, row-major [n_mels, N/2 + 1].
  public let filterbank: [Double]
  /// Indices of filters that are all zero (too many mels for the FFT resolution at low
  /// frequencies); their output is ln(1e-6) in every frame.
  public let emptyFilters: [Int]
  private let window: [Double]
  private let fft: FFT
  private let filterBins: [Range<Int>]  // nonzero bins of each filter

  /// Throws `invalidArgument` when sampleRate < 1, melCount < 1, the window is shorter than 2
  /// samples (or over 2^20), the hop is shorter than 1 sample, 0 <= fmin < fmax <= sr / 2 fails,
  /// or pre-emphasis is outside [0, 1).
  public init(
    sampleRate: Int, melCount: Int = 40, windowMilliseconds: Double = 25, hopMilliseconds: Double = 10,
    minFrequency: Double = 0, maxFrequency: Double? = nil, preEmphasis: Double? = nil, melScale: MelScale = .slaney,
    normalizeFilters: Bool = true
  ) throws {
    func bad(_ m: String) -> RecurrentError { .invalidArgument("log-mel: \(m)") }
    guard sampleRate >= 1 else { throw bad("sample rate must be >= 1 Hz, got \(sampleRate)") }
    guard (1...1024).contains(melCount) else { throw bad("mel count must be in 1...1024, got \(melCount)") }
    guard windowMilliseconds.isFinite, hopMilliseconds.isFinite, windowMilliseconds > 0, hopMilliseconds > 0 else {
      throw bad("window and hop must be positive milliseconds, got \(windowMilliseconds) and \(hopMilliseconds)")
    }
    let W = Int((Double(sampleRate) * windowMilliseconds / 1000).rounded())
    let R = Int((Double(sampleRate) * hopMilliseconds / 1000).rounded())
    guard (2...(1 << 20)).contains(W) else {
      throw bad("a \(windowMilliseconds) ms window at \(sampleRate) Hz is \(W) samples; need 2...\(1 << 20)")
    }
    guard R >= 1 else { throw bad("a \(hopMilliseconds) ms hop at \(sampleRate) Hz is less than one sample") }
    let nyquist = Double(sampleRate) / 2
    let fmax = maxFrequency ?? nyquist
    guard minFrequency.isFinite, fmax.isFinite, minFrequency >= 0, minFrequency < fmax, fmax <= nyquist else {
      throw bad("need 0 <= fmin < fmax <= sample rate / 2 = \(nyquist) Hz, got fmin \(minFrequency), fmax \(fmax)")
    }
    if let a = preEmphasis, !(a.isFinite && a >= 0 && a < 1) {
      throw bad("pre-emphasis must be in [0, 1), got \(a)")
    }
    self.sampleRate = sampleRate
    self.melCount = melCount
    self.windowLength = W
    self.hopLength = R
    self.fftSize = FFT.nextPowerOfTwo(W)
    self.minFrequency = minFrequency
    self.maxFrequency = fmax
    self.preEmphasis = preEmphasis
    self.melScale = melScale
    self.normalizeFilters = normalizeFilters
    self.fft = try FFT(size: fftSize)
    self.window = (0..<W).map { 0.5 - 0.5 * cos(2 * Double.pi * Double($0) / Double(W)) }
    let (weights, bins) = Self.melFilterbank(
      sampleRate: sampleRate, fftSize: fftSize, melCount: melCount, fmin: minFrequency, fmax: fmax, scale: melScale,
      normalize: normalizeFilters)
    filterbank = weights
    filterBins = bins
    emptyFilters = bins.indices.filter { bins[$0].isEmpty }
  }

  /// Number of frames for `sampleCount` samples: 1 + floor((L - W) / R), or 0 when L < W.
  public func frameCount(sampleCount L: Int) -> Int { L < windowLength ? 0 : 1 + (L - windowLength) / hopLength }

  /// Log-mel frames [frames, n_mels] of `samples` (mono, at `sampleRate`).
  public func callAsFunction(_ samples: [Float]) -> Tensor<Float> {
    let T = frameCount(sampleCount: samples.count), W = windowLength, N = fftSize, K = N / 2 + 1
    var y = samples.map { Double($0) }
    if let a = preEmphasis, a != 0 {
      for n in stride(from: y.count - 1, to: 0, by: -1) { y[n] -= a * y[n - 1] }
    }
    var out = [Float](repeating: 0, count: T * melCount)
    var frame = [Double](repeating: 0, count: N)
    for t in 0..<T {
      let start = t * hopLength
      for n in 0..<W { frame[n] = y[start + n] * window[n] }
      let power = fft.powerSpectrum(frame)
      for m in 0..<melCount {
        var energy = 0.0
        for k in filterBins[m] { energy += filterbank[m * K + k] * power[k] }
        out[t * melCount + m] = Float(log(energy + Self.logOffset))
      }
    }
    return Tensor(shape: [T, melCount], scalars: out)
  }

  /// Log-mel frames of `audio`; throws `invalidArgument` if its sample rate differs from this
  /// spectrogram's.
  public func callAsFunction(_ audio: WAVAudio) throws -> Tensor<Float> {
    guard audio.sampleRate == sampleRate else {
      throw RecurrentError.invalidArgument(
        "log-mel: \(audio.source) is sampled at \(audio.sampleRate) Hz, the spectrogram is set up for \(sampleRate) Hz")
    }
    return self(audio.samples)
  }

  /// librosa's `filters.mel` (see the type's documentation): weights [n_mels, N/2 + 1] and the
  /// nonzero bin range of each filter.
  static func melFilterbank(
    sampleRate: Int, fftSize N: Int, melCount: Int, fmin: Double, fmax: Double, scale: MelScale, normalize: Bool
  ) -> ([Double], [Range<Int>]) {
    let K = N / 2 + 1
    // Rounded as numpy.fft.rfftfreq and numpy.linspace, which librosa uses.
    let binStep = 1 / (Double(N) * (1 / Double(sampleRate)))
    let binHz = (0..<K).map { Double($0) * binStep }
    let lo = scale.mel(fromHertz: fmin), hi = scale.mel(fromHertz: fmax)
    let melStep = (hi - lo) / Double(melCount + 1)
    let points = (0..<(melCount + 2)).map { i in
      scale.hertz(fromMel: i == melCount + 1 ? hi : lo + Double(i) * melStep)
    }
    var weights = [Double](repeating: 0, count: melCount * K)
    var ranges = [Range<Int>]()
    for m in 0..<melCount {
      let left = points[m], center = points[m + 1], right = points[m + 2]
      let enorm = normalize ? 2 / (right - left) : 1
      var first = K, last = -1
      for k in 0..<K {
        let rising = (binHz[k] - left) / (center - left)
        let falling = (right - binHz[k]) / (right - center)
        let w = max(0, min(rising, falling))
        if w > 0 {
          weights[m * K + k] = w * enorm
          first = min(first, k)
          last = k
        }
      }
      ranges.append(last >= first ? first..<(last + 1) : 0..<0)
    }
    return (weights, ranges)
  }
}
