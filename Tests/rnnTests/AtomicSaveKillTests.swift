#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Recurrent
import Testing

/// Saves are atomic under SIGKILL: `rnn-save-stress` (Tests/SaveStress) saves generation after
/// generation of a 101 KB checkpoint to one path; it is killed at a random moment 100 times
/// (restarting from the next generation), and after every kill the path must load as exactly
/// one complete generation: its "generation" metadata and all of its weights agree. Temporary
/// files left by a kill (".NAME.tmp-XXXXXX") are never what the path loads, and the path never
/// goes missing or back in time.
@Suite(.serialized) struct AtomicSaveKillTests {
  /// The weights of the helper's generation `g` (keep in sync with Tests/SaveStress/main.swift).
  static func expectedWeights(generation g: Int, count: Int) -> [Float] {
    (0..<count).map { Float(1000 * g) + Float($0 % 997) }
  }

  static func model(generation g: Int) throws -> Sequential<Float> {
    let model = Sequential<Float>(seed: 0) { Dense(units: 256) }
    try model.build(inputShape: [100])
    model.store.params = expectedWeights(generation: g, count: model.store.count)
    return model
  }

  static var helper: URL? {
    RNNProcess.binary.map { $0.deletingLastPathComponent().appendingPathComponent("rnn-save-stress") }
  }

  @Test func killingTheSaverAtRandomNeverCorruptsTheCheckpoint() throws {
    let helper = try #require(Self.helper, "build the rnn-save-stress helper (swift build --build-tests)")
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rnn-kill-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let path = dir.appendingPathComponent("model.safetensors")
    try Self.model(generation: 0).save(to: path, metadata: ["generation": "0"])

    var rng = SystemRandomNumberGenerator()
    var last = 0
    var next = 1
    var killedBeforeAnySave = 0, strayTemporaries = 0
    let started = Date()
    for kill in 0..<100 {
      let process = Process()
      process.executableURL = helper
      process.arguments = [path.path, "\(next)"]
      process.standardOutput = FileHandle.nullDevice
      process.standardError = FileHandle.nullDevice
      try process.run()
      // A random moment within the first 0.25 s: before, during or after one or more saves.
      usleep(UInt32.random(in: 10_000...250_000, using: &rng))
      Glibc.kill(process.processIdentifier, SIGKILL)
      process.waitUntilExit()
      #expect(process.terminationReason == .uncaughtSignal)

      // The path holds one complete generation, never an older one than before the kill.
      let file = try SafetensorsFile(contentsOf: path)
      let generation = try #require(file.metadata["generation"].flatMap { Int($0) }, "kill \(kill): no generation")
      #expect(generation >= last, "kill \(kill): went back from generation \(last) to \(generation)")
      if generation == last { killedBeforeAnySave += 1 }
      let loaded = try Sequential<Float>.load(from: path)
      #expect(
        loaded.store.params == Self.expectedWeights(generation: generation, count: loaded.store.count),
        "kill \(kill): generation \(generation) has other weights")
      last = generation
      next = generation + 1

      // Temporaries a kill left behind are separate files, never the checkpoint.
      let names = try FileManager.default.contentsOfDirectory(atPath: dir.path)
      for name in names where name != "model.safetensors" {
        #expect(name.hasPrefix(".model.safetensors.tmp-"), "unexpected file \(name)")
        strayTemporaries += 1
        try FileManager.default.removeItem(at: dir.appendingPathComponent(name))
      }
    }
    // Some kills must have landed after a save and some mid-way, or the test proved little.
    #expect(last >= 10, "only \(last) generations saved in 100 runs")
    print(
      "AtomicSaveKillTests: 100 kills in \(String(format: "%.1f", Date().timeIntervalSince(started))) s, "
        + "\(last) generations saved, \(killedBeforeAnySave) kills before the run's first save completed, "
        + "\(strayTemporaries) stray temporary files")
  }

  @Test func savingIntoAReadOnlyDirectoryIsExit74() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rnn-ro-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer {
      chmod(dir.path, 0o755)
      try? FileManager.default.removeItem(at: dir)
    }
    chmod(dir.path, 0o555)
    let target = geteuid() == 0 ? "/proc/m.safetensors" : dir.appendingPathComponent("m.safetensors").path
    let outcome = try RNNProcess.run([
      "train", "--task", "parity", "--steps", "4", "--epochs", "1", "--samples", "8", "--validation-samples", "4",
      "--units", "2", "--save", target,
    ])
    #expect(outcome.status == 74 && !outcome.signaled, "\(outcome)")
    #expect(outcome.stderr.contains(target), "\(outcome)")
  }
}
