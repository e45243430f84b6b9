#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing

/// The bad-input corpus: every case in Tests/Fixtures/bad/manifest.txt runs the real `rnn`
/// binary on committed broken files and must end with the listed exit code (64 usage, 65 data,
/// 74 I/O) and a stderr message containing every listed fragment, never with a signal (a Swift
/// trap or crash) and never with exit 0.
///
/// Manifest lines (one case each; `#` starts a comment):
///
///     EXIT | ARGUMENTS | FRAGMENT | FRAGMENT ...
///
/// ARGUMENTS are split on spaces; `@path` is a file of the corpus directory, `$OUT` a fresh
/// empty directory for the case's outputs, `$RO` a directory nobody may write to. Fragments
/// usually name the file and the tensor, line or offset. To add a case, add its files (by
/// Scripts/fixtures/make_bad_inputs.py or by hand) and one line.
@Suite struct BadInputCorpusTests {
  struct Case: CustomTestStringConvertible, Sendable {
    var line: Int
    var exitCode: Int32
    var arguments: [String]
    var fragments: [String]
    var testDescription: String { "line \(line): rnn \(arguments.joined(separator: " "))" }
  }

  static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("Fixtures/bad")

  static let cases: [Case] = {
    guard let text = try? String(contentsOf: directory.appendingPathComponent("manifest.txt"), encoding: .utf8) else {
      return []
    }
    var cases = [Case]()
    for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
      let line = raw.trimmingCharacters(in: .whitespaces)
      if line.isEmpty || line.hasPrefix("#") { continue }
      let fields = line.components(separatedBy: " | ").map { $0.trimmingCharacters(in: .whitespaces) }
      guard fields.count >= 2, let code = Int32(fields[0]) else {
        cases.append(Case(line: i + 1, exitCode: -1, arguments: [line], fragments: []))  // reported by the test
        continue
      }
      cases.append(
        Case(
          line: i + 1, exitCode: code, arguments: fields[1].split(separator: " ").map(String.init),
          fragments: Array(fields.dropFirst(2))))
    }
    return cases
  }()

  @Test func theCorpusIsLargeAndEveryFileIsUsed() throws {
    #expect(Self.cases.count >= 40)
    #expect(Self.cases.allSatisfy { [64, 65, 74].contains($0.exitCode) })
    let used = Set(Self.cases.flatMap(\.arguments).filter { $0.hasPrefix("@") }.map { String($0.dropFirst()) })
    let root = Self.directory.path + "/"
    let files = FileManager.default.enumerator(atPath: Self.directory.path)!.compactMap { $0 as? String }
      .filter { !$0.hasSuffix("manifest.txt") && !$0.hasPrefix(".") }
      .filter { var d: ObjCBool = false; return FileManager.default.fileExists(atPath: root + $0, isDirectory: &d) && !d.boolValue }
    for file in files where !used.contains(file) {
      Issue.record("corpus file \(file) is used by no case in manifest.txt")
    }
    for file in used where !FileManager.default.fileExists(atPath: root + file) {
      Issue.record("manifest.txt uses @\(file), which does not exist")
    }
  }

  @Test(arguments: cases)
  func badInputGivesAClearErrorAndExitCode(_ c: Case) throws {
    try #require(c.exitCode >= 0, "malformed manifest line \(c.line): \(c.arguments.joined())")
    let out = FileManager.default.temporaryDirectory.appendingPathComponent("rnn-bad-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: out) }
    let readOnly = out.appendingPathComponent("read-only")
    try FileManager.default.createDirectory(at: readOnly, withIntermediateDirectories: true)
    chmod(readOnly.path, 0o555)
    defer { chmod(readOnly.path, 0o755) }
    // Root ignores permission bits; /proc refuses new files even to root.
    let ro = geteuid() == 0 ? "/proc" : readOnly.path
    let args = c.arguments.map { arg -> String in
      if arg.hasPrefix("@") { return Self.directory.appendingPathComponent(String(arg.dropFirst())).path }
      return arg.replacingOccurrences(of: "$OUT", with: out.path).replacingOccurrences(of: "$RO", with: ro)
    }
    let outcome = try RNNProcess.run(args)
    #expect(!outcome.signaled, "line \(c.line): \(outcome)")
    #expect(outcome.status == c.exitCode, "line \(c.line): expected exit \(c.exitCode), got \(outcome)")
    for fragment in c.fragments where !outcome.stderr.contains(fragment) {
      Issue.record("line \(c.line): stderr lacks \"\(fragment)\": \(outcome.stderr)")
    }
    #expect(!outcome.stderr.contains("Fatal error"), "line \(c.line): \(outcome.stderr)")
  }
}
