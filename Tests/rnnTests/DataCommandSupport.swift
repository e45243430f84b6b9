import ArgumentParser
import Foundation
import Recurrent
import Testing

@testable import rnn

/// Shared helpers of the CSV / NPY command tests.
enum DataCommandSupport {
  static func temporaryDirectory(_ name: String) throws -> String {
    let path = temporaryFolder(name)
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
  }

  /// The exit code a command run ends with: 0, the `ExitCode` that `ExitCodes.reporting`
  /// throws, or ArgumentParser's code for a parse / validation error.
  static func exitCode(_ body: () throws -> Void) -> Int32 {
    do {
      try body()
      return 0
    } catch let e as ExitCode {
      return e.rawValue
    } catch {
      return Train.exitCode(for: error).rawValue
    }
  }

  /// The message of the error `body` throws (RecurrentError text, or ArgumentParser's).
  static func errorText(_ body: () throws -> Void) -> String {
    do {
      try body()
      return ""
    } catch {
      return Train.message(for: error)
    }
  }

  /// Runs `rnn train ARGS` in process as `run()` would (errors mapped to exit codes).
  static func train(_ args: [String]) throws -> (Train.Result, String) {
    let cmd = try Train.parse(args)
    let captured = CapturedOutput()
    let result = try ExitCodes.reporting("train") { try cmd.execute(output: captured.output, progress: captured.progress) }
    return (result, captured.text)
  }

  static func evaluate(_ args: [String]) throws -> (Evaluate.Result, String) {
    let cmd = try Evaluate.parse(args)
    let captured = CapturedOutput()
    let result = try ExitCodes.reporting("evaluate") { try cmd.execute(output: captured.output) }
    return (result, captured.text)
  }

  /// `time,value` rows of 100 + 10 sin(2 pi t / period), hourly time stamps as text.
  static func sineCSV(rows: Int, period: Double = 16, start: Int = 0) -> String {
    var text = "time,value\n"
    for t in start..<(start + rows) {
      text += "2024-01-\(String(1 + t / 24).leftPadded(2)) \(String(t % 24).leftPadded(2)):00,\(sineValue(t, period: period))\n"
    }
    return text
  }

  static func sineValue(_ t: Int, period: Double = 16) -> Double { 100 + 10 * sin(2 * Double.pi * Double(t) / period) }

  static func write(_ text: String, to path: String) throws {
    try Data(text.utf8).write(to: URL(fileURLWithPath: path))
  }
}
