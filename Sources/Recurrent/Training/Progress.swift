#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Prints training progress: a live bar on a terminal, plain lines otherwise.
///
/// verbose 0: nothing. 1: a bar redrawn in place on a terminal (one plain line per epoch when
/// stdout is not a terminal). 2: one line per epoch.
public struct ProgressReporter {
  public var verbose: Int
  public var isTerminal: Bool
  /// Where lines go (stdout by default; tests capture them).
  public var write: (String) -> Void

  public init(verbose: Int = 1, isTerminal: Bool? = nil, write: ((String) -> Void)? = nil) {
    self.verbose = verbose
    self.isTerminal = isTerminal ?? (isatty(STDOUT_FILENO) != 0)
    self.write = write ?? { s in
      // write(2) to fd 1: no shared FILE* (Swift 6 concurrency safety), unbuffered.
      var bytes = Array(s.utf8)
      var off = 0
      while off < bytes.count {
        let n = bytes.withUnsafeMutableBytes { writeToStandardOutput($0.baseAddress! + off, $0.count - off) }
        if n <= 0 { break }
        off += n
      }
    }
  }

  /// Call before the first batch of epoch `epoch` (0-based) of `epochs` (custom training
  /// loops, e.g. `CharLanguageModel.trainEpoch`, drive the reporter as `fit` does).
  public func epochBegins(_ epoch: Int, of epochs: Int) {
    guard verbose > 0, isTerminal, verbose == 1 else { return }
    write("Epoch \(epoch + 1)/\(epochs)\n")
  }

  /// Call after batch `batch` (0-based) of `batches`, with the running mean loss and the
  /// seconds since the epoch began (redraws the bar on a terminal; nothing otherwise).
  public func batchEnds(_ batch: Int, of batches: Int, loss: Double, elapsed: Double) {
    guard verbose == 1, isTerminal else { return }
    let width = 30
    let done = Int(Double(width) * Double(batch + 1) / Double(max(1, batches)))
    let bar = String(repeating: "=", count: max(0, done - 1)) + (done > 0 ? (batch + 1 == batches ? "=" : ">") : "")
      + String(repeating: ".", count: width - done)
    let eta = batch + 1 < batches ? " - ETA \(formatSeconds(elapsed / Double(batch + 1) * Double(batches - batch - 1)))" : ""
    write("\r\(batch + 1)/\(batches) [\(bar)] - loss: \(formatFigure(loss))\(eta)\u{1B}[K")
  }

  /// Call at the end of an epoch with its figures (`loss`, `val_loss`, ...; training figures
  /// first, validation figures, prefixed `val_`, last) and its seconds.
  public func epochEnds(_ epoch: Int, of epochs: Int, logs: [String: Double], elapsed: Double) {
    guard verbose > 0 else { return }
    let figures = Self.order(logs).map { "\($0): \(formatFigure(logs[$0]!))" }.joined(separator: " - ")
    if verbose == 1 && isTerminal {
      write(" - \(formatSeconds(elapsed))\n    \(figures)\n")
    } else {
      write("Epoch \(epoch + 1)/\(epochs) - \(formatSeconds(elapsed)) - \(figures)\n")
    }
  }

  /// loss first, then other training figures, then validation figures.
  static func order(_ logs: [String: Double]) -> [String] {
    logs.keys.sorted { a, b in
      func rank(_ k: String) -> Int { (k.hasPrefix("val_") ? 2 : 0) + (k.hasSuffix("loss") ? 0 : 1) }
      return rank(a) != rank(b) ? rank(a) < rank(b) : a < b
    }
  }
}

/// "0.1235" style: 4 significant decimals, scientific when tiny or huge.
func formatFigure(_ x: Double) -> String {
  if x.isNaN || x.isInfinite { return "\(x)" }
  let a = abs(x)
  if a != 0 && (a < 1e-3 || a >= 1e6) {
    var e = 0, m = a
    while m >= 10 { m /= 10; e += 1 }
    while m < 1 { m *= 10; e -= 1 }
    return "\(x < 0 ? "-" : "")\(fixed(m, 3))e\(e)"
  }
  return fixed(x, 4)
}

func fixed(_ x: Double, _ digits: Int) -> String {
  var scale = 1.0
  for _ in 0..<digits { scale *= 10 }
  let r = (abs(x) * scale).rounded()
  let whole = Int(r / scale), frac = Int(r.truncatingRemainder(dividingBy: scale))
  let f = String(frac)
  return "\(x < 0 && r != 0 ? "-" : "")\(whole).\(String(repeating: "0", count: digits - f.count))\(f)"
}

func formatSeconds(_ s: Double) -> String {
  s < 1 ? "\(Int((s * 1000).rounded()))ms" : (s < 60 ? "\(fixed(s, 1))s" : "\(Int(s) / 60)m\(Int(s) % 60)s")
}

/// Seconds since an arbitrary point (monotonic).
func monotonicSeconds() -> Double {
  var ts = timespec()
  clock_gettime(CLOCK_MONOTONIC, &ts)
  return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// write(2) on file descriptor 1.
func writeToStandardOutput(_ p: UnsafeRawPointer, _ n: Int) -> Int {
  #if canImport(Glibc)
  return Glibc.write(STDOUT_FILENO, p, n)
  #else
  return Darwin.write(STDOUT_FILENO, p, n)
  #endif
}
