import Foundation

/// A radix-2 fast Fourier transform of real signals of length N = 2^m, in Double:
///
///     X[k] = sum_{n=0}^{N-1} x[n] exp(-2 pi i k n / N),     k = 0 ... N/2
///
/// (the other half is the complex conjugate mirror, X[N-k] = conj(X[k]), so it is not returned).
///
/// Method: the N real samples are packed into M = N/2 complex ones, z[n] = x[2n] + i x[2n+1],
/// transformed by an iterative Cooley-Tukey FFT (bit-reversal permutation, then log2(M)
/// stages of butterflies), and split into the spectra of the even and odd samples:
///
///     E[k] = (Z[k] + conj(Z[M-k])) / 2,     O[k] = (Z[k] - conj(Z[M-k])) / (2i)
///     X[k] = E[k] + exp(-2 pi i k / N) O[k]                                (Z[M] = Z[0])
///
/// Twiddles cos/sin(2 pi j / N), j < N/2, are tabulated once per plan. O(N log N); exact to
/// about 1e-15 relative to the largest magnitude (tests compare with a naive O(N^2) DFT).
public struct FFT: Sendable {
  /// N: the transform length.
  public let size: Int
  private let cosTable: [Double]  // cos(2 pi j / N), j in 0..<N/2
  private let sinTable: [Double]  // sin(2 pi j / N)
  private let reversed: [Int]  // bit reversal of 0..<M

  /// A plan for length `size` (a power of two >= 2); throws `invalidArgument` otherwise.
  public init(size: Int) throws {
    guard size >= 2, size & (size - 1) == 0, size <= 1 << 30 else {
      throw RecurrentError.invalidArgument("FFT size must be a power of two >= 2, got \(size)")
    }
    self.size = size
    let half = size / 2
    cosTable = (0..<half).map { cos(2 * Double.pi * Double($0) / Double(size)) }
    sinTable = (0..<half).map { sin(2 * Double.pi * Double($0) / Double(size)) }
    var bits = 0
    while 1 << bits < half { bits += 1 }
    reversed = (0..<half).map { i in
      var r = 0
      for b in 0..<bits where i & (1 << b) != 0 { r |= 1 << (bits - 1 - b) }
      return r
    }
  }

  /// The smallest power of two >= n (and >= 2).
  public static func nextPowerOfTwo(_ n: Int) -> Int {
    var p = 2
    while p < n { p <<= 1 }
    return p
  }

  /// X[0...N/2] of the real signal `x` (`x.count` == N) as real and imaginary parts.
  public func forward(_ x: [Double]) -> (real: [Double], imaginary: [Double]) {
    precondition(x.count == size, "FFT: input has \(x.count) samples, plan is for \(size)")
    let M = size / 2
    var zr = [Double](repeating: 0, count: M), zi = [Double](repeating: 0, count: M)
    for n in 0..<M {
      zr[reversed[n]] = x[2 * n]
      zi[reversed[n]] = x[2 * n + 1]
    }
    // Butterflies: blocks of `len`, twiddle w_j = exp(-2 pi i j / len) = table[j * N / len].
    var len = 2
    while len <= M {
      let half = len / 2, stride = size / len
      var start = 0
      while start < M {
        for j in 0..<half {
          let c = cosTable[j * stride], s = sinTable[j * stride]
          let a = start + j, b = a + half
          let vr = zr[b] * c + zi[b] * s  // v = z[b] * (c - i s)
          let vi = zi[b] * c - zr[b] * s
          zr[b] = zr[a] - vr
          zi[b] = zi[a] - vi
          zr[a] += vr
          zi[a] += vi
        }
        start += len
      }
      len <<= 1
    }
    // Split into the spectrum of the real signal.
    var re = [Double](repeating: 0, count: M + 1), im = [Double](repeating: 0, count: M + 1)
    re[0] = zr[0] + zi[0]
    re[M] = zr[0] - zi[0]
    for k in 1..<max(1, M) {
      let er = (zr[k] + zr[M - k]) / 2, ei = (zi[k] - zi[M - k]) / 2
      let or = (zi[k] + zi[M - k]) / 2, oi = -(zr[k] - zr[M - k]) / 2
      let c = cosTable[k], s = sinTable[k]
      re[k] = er + c * or + s * oi  // E + (c - i s) O
      im[k] = ei + c * oi - s * or
    }
    return (re, im)
  }

  /// |X[k]|^2 for k = 0 ... N/2 (no normalisation, as `numpy.abs(numpy.fft.rfft(x))**2`).
  public func powerSpectrum(_ x: [Double]) -> [Double] {
    let (re, im) = forward(x)
    return zip(re, im).map { $0 * $0 + $1 * $1 }
  }
}
