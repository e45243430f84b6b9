/// Errors Recurrent reports for bad input: each names what was wrong and what was expected.
public enum RecurrentError: Error, Equatable, CustomStringConvertible, Sendable {
  /// A tensor's shape does not fit where it is used, e.g. "Dense(units: 10) expects input [batch, 32], got [4, 16]".
  case shapeMismatch(String)
  /// An argument or configuration value is out of range or inconsistent.
  case invalidArgument(String)
  /// Data (a file or array) is malformed: names the source and the offset, line or tensor.
  case invalidData(String)
  /// Reading or writing a file failed.
  case io(String)

  public var description: String {
    switch self {
    case .shapeMismatch(let s): "shape mismatch: \(s)"
    case .invalidArgument(let s): "invalid argument: \(s)"
    case .invalidData(let s): "invalid data: \(s)"
    case .io(let s): "I/O error: \(s)"
    }
  }
}
