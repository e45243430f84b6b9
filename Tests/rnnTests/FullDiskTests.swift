#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Recurrent
import Testing

/// A save into a full file system: a clear I/O error (exit 74), the old checkpoint untouched,
/// no temporary file left behind. The full file system is a 256 KiB tmpfs mounted for the test,
/// which needs root (as in this project's sandbox and CI); elsewhere the suite is skipped.
@Suite(.serialized, .enabled(if: SmallFileSystem.canMount, "needs root to mount a small tmpfs"))
struct FullDiskTests {
  @Test func atomicWriteIntoAFullFileSystemKeepsTheOldFile() throws {
    try SmallFileSystem.withMount { dir in
      let url = dir.appendingPathComponent("model.safetensors")
      let old = [UInt8](repeating: 7, count: 10_000)
      try AtomicFile.write(old, to: url)
      // 1 MiB does not fit in 256 KiB.
      #expect {
        try AtomicFile.write([UInt8](repeating: 1, count: 1 << 20), to: url)
      } throws: { error in
        "\(error)".contains("model.safetensors") && "\(error)".contains("No space left on device")
      }
      #expect(try AtomicFile.read(url) == old)
      let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0 != "model.safetensors" }
      #expect(leftovers.isEmpty, "\(leftovers)")
    }
  }

  @Test func trainSaveIntoAFullFileSystemExits74() throws {
    try SmallFileSystem.withMount { dir in
      let path = dir.appendingPathComponent("sine.safetensors").path
      // An LSTM with 160 units is ~420 KB of weights: training runs, the save cannot fit.
      let outcome = try RNNProcess.run(
        ["train", "--task", "sine", "--units", "160", "--epochs", "1", "--samples", "32", "--validation-samples", "8",
         "--save", path],
        timeout: 300)
      #expect(!outcome.signaled && outcome.status == 74, "\(outcome)")
      #expect(outcome.stderr.contains(path) && outcome.stderr.contains("No space left on device"), "\(outcome)")
      #expect(!FileManager.default.fileExists(atPath: path))
      #expect((try? FileManager.default.contentsOfDirectory(atPath: dir.path))?.isEmpty == true)
    }
  }
}

/// Mounts a 256 KiB tmpfs on a fresh directory for the duration of a body.
enum SmallFileSystem {
  static let canMount: Bool = {
    guard getuid() == 0, FileManager.default.isExecutableFile(atPath: "/bin/mount") else { return false }
    do {
      try withMount { _ in }
      return true
    } catch {
      return false
    }
  }()

  static func withMount(_ body: (URL) throws -> Void) throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rnn-full-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    guard run("/bin/mount", ["-t", "tmpfs", "-o", "size=256k", "tmpfs", dir.path]) == 0 else {
      throw RecurrentError.io("cannot mount a tmpfs on \(dir.path)")
    }
    defer { _ = run("/bin/umount", [dir.path]) }
    try body(dir)
  }

  private static func run(_ tool: String, _ args: [String]) -> Int32 {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: tool)
    p.arguments = args
    p.standardError = FileHandle.nullDevice
    p.standardOutput = FileHandle.nullDevice
    do { try p.run() } catch { return -1 }
    p.waitUntilExit()
    return p.terminationStatus
  }
}
