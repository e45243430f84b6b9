import Foundation
import Testing

/// The README's "Training a model in Swift" section shows `Examples/TrainSine/main.swift`
/// verbatim. The example is an executable target, so every build compiles it; this test keeps
/// the README from drifting away from the code that compiles.
@Suite struct ReadmeExampleTests {
  static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

  @Test func readmeShowsTheTrainSineExampleVerbatim() throws {
    let readme = try String(contentsOf: Self.root.appendingPathComponent("README.md"), encoding: .utf8)
    let code = try String(
      contentsOf: Self.root.appendingPathComponent("Examples/TrainSine/main.swift"), encoding: .utf8)
    let section = try #require(readme.range(of: "## Training a model in Swift"), "README has no such section")
    let block = "```swift\n" + code.trimmingCharacters(in: .whitespacesAndNewlines) + "\n```"
    let found = try #require(readme.range(of: block), "the README's Swift block differs from Examples/TrainSine/main.swift")
    #expect(found.lowerBound > section.lowerBound)
    // The example really trains, evaluates, predicts and saves.
    for call in ["model.compile(", "model.fit(", "validationSplit:", "model.evaluate(", "model.predict(", "model.save(to:"] {
      #expect(code.contains(call), "the example no longer calls \(call)")
    }
  }
}
