import ArgumentParser
import Foundation
import Recurrent

/// Exit codes of the `rnn` commands, from sysexits(3), and the mapping of library errors to
/// them. A command wraps its work in `ExitCodes.reporting`, which prints the error to stderr and
/// exits with the matching code:
///
///     0   success
///     64  EX_USAGE    bad options or arguments (ArgumentParser's `ValidationError` too;
///                     `RecurrentError.invalidArgument`)
///     65  EX_DATAERR  input data malformed or not what the model expects
///                     (`RecurrentError.invalidData`, `.shapeMismatch`)
///     74  EX_IOERR    a file cannot be read or written (`RecurrentError.io`)
enum ExitCodes {
  static let usage: Int32 = 64
  static let dataError: Int32 = 65
  static let ioError: Int32 = 74

  /// The exit code for `error`.
  static func code(for error: RecurrentError) -> Int32 {
    switch error {
    case .invalidArgument: usage
    case .shapeMismatch, .invalidData: dataError
    case .io: ioError
    }
  }

  /// Runs `body`; a `RecurrentError` is printed as "rnn <command>: <error>" on stderr and
  /// rethrown as the matching `ExitCode`. Other errors pass through unchanged.
  static func reporting<R>(_ command: String, _ body: () throws -> R) throws -> R {
    do {
      return try body()
    } catch let error as RecurrentError {
      FileHandle.standardError.write(Data("rnn \(command): \(error)\n".utf8))
      throw ExitCode(code(for: error))
    }
  }
}
