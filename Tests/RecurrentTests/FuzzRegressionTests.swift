import Foundation
import Testing

@testable import Recurrent

/// Replays every input under Fuzz/regressions/TARGET/ (inputs that once crashed or misbehaved
/// under Scripts/fuzz.sh) through the same calls as the fuzz entry Fuzz/TARGET.swift. A
/// regression is a crash of this test process; each input must also be handled within its
/// budget (no hang).
@Suite struct FuzzRegressionTests {
  static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("Fuzz/regressions")

  static func inputs(_ target: String) -> [URL] {
    let dir = root.appendingPathComponent(target)
    let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
    return names.filter { !$0.hasPrefix(".") }.sorted().map { dir.appendingPathComponent($0) }
  }

  // The bodies of the fuzz entries (keep in sync with Fuzz/*.swift).

  static func safetensors(_ bytes: [UInt8]) {
    guard let file = try? SafetensorsFile(bytes: bytes, source: "fuzz.safetensors") else { return }
    for info in file.tensors {
      _ = try? file.doubles(info.name)
      _ = try? file.tensor(info.name, as: Float.self)
    }
    _ = try? Sequential<Float>.model(from: file)
  }

  static func npy(_ bytes: [UInt8]) {
    guard let array = try? NPYArray(bytes: bytes, source: "fuzz.npy") else { return }
    _ = array.tensor(as: Float.self)
    _ = try? array.integers(source: "fuzz.npy")
    _ = try? NPYArray(bytes: array.serialized(), source: "round trip")
  }

  static func csv(_ bytes: [UInt8]) {
    guard let table = try? CSVTable(bytes: bytes, source: "fuzz.csv") else { return }
    for policy in MissingValuePolicy.allCases {
      guard let series = try? TimeSeries(table: table, target: .index(table.columnCount - 1), missing: policy) else { continue }
      _ = series.featureTensor(as: Float.self)
      _ = try? series.split(validationFraction: 0.25)
    }
  }

  static func wav(_ bytes: [UInt8]) {
    guard let audio = try? WAVAudio(bytes: bytes, source: "fuzz.wav") else { return }
    _ = audio.duration
    if (8...48_000).contains(audio.sampleRate), let mel = try? LogMelSpectrogram(sampleRate: audio.sampleRate) {
      _ = try? mel(audio)
    }
  }

  static func modelJSON(_ bytes: [UInt8]) {
    guard let text = String(validating: bytes, as: UTF8.self),
      let architecture = try? ModelArchitecture(json: text, source: "fuzz.json")
    else { return }
    _ = architecture.json.description
    guard let plan = (try? architecture.partialParameterPlan(source: "fuzz.json"))?.plan else { return }
    // The loader builds only after the file's tensors matched the plan (or, for an incomplete
    // plan, held at least its parameters), so the file bounds the weights: mimic a 1 MB file.
    let total = plan.values.reduce(0) { $0 &+ $1.reduce(1, &*) }
    guard total >= 0, total <= 1 << 18 else { return }
    _ = try? architecture.makeModel(Float.self, source: "fuzz.json")
  }

  static let targets = ["safetensors", "npy", "csv", "wav", "model_json"]

  static func replay(_ target: String, _ bytes: [UInt8]) {
    switch target {
    case "safetensors": safetensors(bytes)
    case "npy": npy(bytes)
    case "csv": csv(bytes)
    case "wav": wav(bytes)
    default: modelJSON(bytes)
    }
  }

  @Test(arguments: ["safetensors", "npy", "csv", "wav", "model_json"])
  func regressionInputsNoLongerCrash(_ target: String) throws {
    for url in Self.inputs(target) {
      let start = Date()
      Self.replay(target, try AtomicFile.read(url))
      #expect(Date().timeIntervalSince(start) < 10, "\(url.lastPathComponent) took too long")
    }
  }

  /// Every target has an entry file and the script knows it.
  @Test func everyTargetHasAnEntryFile() throws {
    let fuzz = Self.root.deletingLastPathComponent()
    let script = try String(contentsOf: fuzz.deletingLastPathComponent().appendingPathComponent("Scripts/fuzz.sh"), encoding: .utf8)
    for target in Self.targets {
      #expect(FileManager.default.fileExists(atPath: fuzz.appendingPathComponent("\(target).swift").path), "\(target)")
      #expect(script.contains("\(target))"), "\(target)")
    }
  }
}
