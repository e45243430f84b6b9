#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing

/// Runs the built `rnn` binary as a child process, so a test sees its real exit status, its
/// stderr, and whether it died of a signal (a Swift trap is SIGILL/SIGTRAP, an abort SIGABRT).
enum RNNProcess {
  /// What a run ended with.
  struct Outcome: CustomStringConvertible {
    var status: Int32
    /// Set when the process was killed by a signal (a crash), then `status` is the signal.
    var signaled: Bool
    var stdout: String
    var stderr: String

    var description: String {
      (signaled ? "killed by signal \(status)" : "exit \(status)") + "; stderr: \(stderr.isEmpty ? "(empty)" : stderr)"
    }
  }

  /// The `rnn` executable next to the test bundle (SwiftPM puts products and test bundles in
  /// the same directory), or `RNN_BINARY` from the environment.
  static let binary: URL? = {
    if let path = ProcessInfo.processInfo.environment["RNN_BINARY"] { return URL(fileURLWithPath: path) }
    var candidates = [Bundle.main.bundleURL, Bundle.main.executableURL?.deletingLastPathComponent()].compactMap { $0 }
    candidates.append(URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent())
    for dir in candidates {
      for base in [dir, dir.deletingLastPathComponent()] {
        let url = base.appendingPathComponent("rnn")
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue,
          FileManager.default.isExecutableFile(atPath: url.path)
        {
          return url
        }
      }
    }
    return nil
  }()

  /// Runs `rnn args...` to completion (stdin closed). `timeout` kills a hung run (a failure).
  static func run(_ args: [String], timeout: Double = 60) throws -> Outcome {
    guard let binary else {
      throw RecurrentTestError("the rnn binary was not found next to the tests; build it (swift build) or set RNN_BINARY")
    }
    let process = Process()
    process.executableURL = binary
    process.arguments = args
    // Output goes to temporary files: nothing to drain while the child runs.
    let base = FileManager.default.temporaryDirectory.appendingPathComponent("rnn-process-\(UUID().uuidString)")
    let outURL = base.appendingPathExtension("out"), errURL = base.appendingPathExtension("err")
    FileManager.default.createFile(atPath: outURL.path, contents: nil)
    FileManager.default.createFile(atPath: errURL.path, contents: nil)
    defer {
      try? FileManager.default.removeItem(at: outURL)
      try? FileManager.default.removeItem(at: errURL)
    }
    process.standardOutput = try FileHandle(forWritingTo: outURL)
    process.standardError = try FileHandle(forWritingTo: errURL)
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let deadline = Date().addingTimeInterval(timeout)
    while process.isRunning && Date() < deadline { usleep(2_000) }
    if process.isRunning {
      kill(process.processIdentifier, SIGKILL)
      process.waitUntilExit()
      throw RecurrentTestError("rnn \(args.joined(separator: " ")) did not finish in \(timeout) s")
    }
    let outData = (try? Data(contentsOf: outURL)) ?? Data()
    let errData = (try? Data(contentsOf: errURL)) ?? Data()
    process.waitUntilExit()
    return Outcome(
      status: process.terminationStatus, signaled: process.terminationReason == .uncaughtSignal,
      stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errData, as: UTF8.self))
  }
}

struct RecurrentTestError: Error, CustomStringConvertible {
  var description: String
  init(_ description: String) { self.description = description }
}
