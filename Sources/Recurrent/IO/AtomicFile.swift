#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Whole-file reads and crash-safe whole-file writes, with errors that name the path.
///
/// `write` never leaves a half-written target: it writes a unique temporary file in the
/// target's directory, `fsync`s it, `rename`s it over the target (atomic on POSIX file
/// systems) and `fsync`s the directory so the rename itself is durable. If anything fails
/// before the rename, the temporary file is removed and the old target is untouched.
public enum AtomicFile {
  /// Writes `bytes` to `url` atomically (see the type's documentation). Throws
  /// `RecurrentError.io` naming the path and the system's reason.
  public static func write(_ bytes: [UInt8], to url: URL) throws {
    try write(bytes, to: url, beforeRename: {})
  }

  /// `write`, with a hook run after the temporary file is complete and before the rename
  /// (tests use it to fail at the last moment).
  static func write(_ bytes: [UInt8], to url: URL, beforeRename: () throws -> Void) throws {
    let path = url.path
    let (fd, temporary, dir) = try createTemporary(next: url)
    var closed = false
    var renamed = false
    defer {
      if !closed { close(fd) }
      if !renamed { unlink(temporary) }
    }
    _ = fchmod(fd, 0o644)
    var written = 0
    try bytes.withUnsafeBytes { raw in
      while written < raw.count {
        let n = Glibc_write(fd, raw.baseAddress! + written, raw.count - written)
        if n < 0 {
          if errno == EINTR { continue }
          throw RecurrentError.io("cannot save '\(path)': writing '\(temporary)' failed: \(errorText())")
        }
        written += n
      }
    }
    guard fsync(fd) == 0 else {
      throw RecurrentError.io("cannot save '\(path)': fsync of '\(temporary)' failed: \(errorText())")
    }
    closed = true
    guard close(fd) == 0 else {
      throw RecurrentError.io("cannot save '\(path)': closing '\(temporary)' failed: \(errorText())")
    }
    try beforeRename()
    guard rename(temporary, path) == 0 else {
      throw RecurrentError.io("cannot save '\(path)': renaming '\(temporary)' over it failed: \(errorText())")
    }
    renamed = true
    // Make the rename durable. Some file systems cannot fsync a directory (EINVAL); the file
    // itself is complete either way.
    let dfd = open(dir, O_RDONLY)
    if dfd >= 0 {
      defer { close(dfd) }
      if fsync(dfd) != 0 && errno != EINVAL && errno != EROFS {
        throw RecurrentError.io("saved '\(path)', but fsync of its directory '\(dir)' failed: \(errorText())")
      }
    }
  }

  /// A new unique temporary file `.NAME.tmp-XXXXXX` in `url`'s directory (open, empty):
  /// its descriptor, its path and the directory.
  private static func createTemporary(next url: URL) throws -> (fd: Int32, path: String, directory: String) {
    let path = url.path
    guard !path.isEmpty, !url.hasDirectoryPath else {
      throw RecurrentError.io("cannot save '\(path)': it is a directory, not a file path")
    }
    let directory = url.deletingLastPathComponent().path
    let dir = directory.isEmpty ? "." : directory
    var template = Array("\(dir)/.\(url.lastPathComponent).tmp-XXXXXX".utf8CString)
    let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
    guard fd >= 0 else {
      throw RecurrentError.io("cannot save '\(path)': cannot create a temporary file in '\(dir)': \(errorText())")
    }
    return (fd, template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }, dir)
  }

  /// Throws `RecurrentError.io` naming the path unless `write(_:to:)` could create its
  /// temporary file next to `url` now (the directory exists and is writable): long jobs call
  /// this before working for hours, so a typo in the output path fails at once. Creates and
  /// removes one temporary file; `url` itself is not touched.
  public static func checkWritable(_ url: URL) throws {
    let (fd, temporary, _) = try createTemporary(next: url)
    close(fd)
    unlink(temporary)
  }

  /// `checkWritable(_:)` for a file path.
  public static func checkWritable(path: String) throws { try checkWritable(URL(fileURLWithPath: path)) }

  /// The whole file at `url`. Throws `RecurrentError.io` naming the path when it cannot be
  /// opened or read (missing, a directory, no permission). Allocates exactly the file's size.
  public static func read(_ url: URL) throws -> [UInt8] {
    let path = url.path
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { throw RecurrentError.io("cannot open '\(path)': \(errorText())") }
    defer { close(fd) }
    var info = stat()
    guard fstat(fd, &info) == 0 else { throw RecurrentError.io("cannot stat '\(path)': \(errorText())") }
    guard (info.st_mode & S_IFMT) == S_IFREG else {
      throw RecurrentError.io("cannot read '\(path)': not a regular file")
    }
    let size = Int(info.st_size)
    var bytes = [UInt8](repeating: 0, count: size)
    var got = 0
    try bytes.withUnsafeMutableBytes { raw in
      while got < size {
        let n = Glibc_read(fd, raw.baseAddress! + got, size - got)
        if n < 0 {
          if errno == EINTR { continue }
          throw RecurrentError.io("cannot read '\(path)': \(errorText())")
        }
        if n == 0 { break }  // the file shrank while we read it
        got += n
      }
    }
    guard got == size else {
      throw RecurrentError.io("cannot read '\(path)': the file changed size while being read (\(got) of \(size) bytes)")
    }
    return bytes
  }

  static func errorText() -> String { String(cString: strerror(errno)) }
}

// `write` and `read` are shadowed inside `AtomicFile` by its own static methods.
@inline(__always) private func Glibc_write(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int {
  write(fd, p, n)
}
@inline(__always) private func Glibc_read(_ fd: Int32, _ p: UnsafeMutableRawPointer, _ n: Int) -> Int {
  read(fd, p, n)
}
