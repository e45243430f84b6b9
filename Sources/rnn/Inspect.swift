import ArgumentParser
import Foundation
import Recurrent

/// `rnn inspect`: what a saved model's recurrent layers do on real inputs, as a table and a
/// self-contained HTML report (gradient flow over time, gates, spectral norms) plus a PNG of
/// the gradient-flow chart.
struct Inspect: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Report gradient flow through time, gate saturation and spectral norms of a saved model.",
    discussion: """
      Runs a probe pass on the first --batch samples of --x (loss ½||y||² of the model output, so
      no labels are needed) and measures ||dL/dh_t|| at every time step, the gate activation
      statistics, the largest singular value of each recurrent matrix and the state ranges.
      Writes DIR/report.html (inline SVG, no network) and DIR/gradient-flow.png.

      With --text FILE instead of --x, the model must be a character model whose checkpoint
      carries its vocabulary (metadata key "vocabulary"): the probe pass reads the passage, and
      the report adds a heatmap of hidden units coloured over its characters: the --units you
      name, or the units that track a property of the text best (inside quotes, position in
      the line, ...).

      Examples:
        rnn inspect --model model.safetensors --x x.npy --report inspect-out
        rnn inspect --model char.safetensors --text passage.txt --units 3,17
      """)

  @Option(name: .long, help: "Checkpoint (.safetensors) saved by Recurrent.")
  var model: String

  @Option(name: .long, help: "Input .npy the model accepts ([batch, steps, features] or token ids [batch, steps]).")
  var x: String?

  @Option(name: .long, help: "A passage (UTF-8 text file) for a character model: adds the hidden-unit heatmap.")
  var text: String?

  @Option(name: .long, help: "Hidden units to show over the text, e.g. 3,17 (default: the most interpretable ones).")
  var units: String?

  @Option(name: .long, help: "Characters of the passage to read (--text).")
  var characters: Int = 1000

  @Option(name: .long, help: "Optional .npy of integer sequence lengths [batch].")
  var lengths: String?

  @Option(name: .long, help: "Samples used for the probe pass.")
  var batch: Int = 32

  @Option(name: .long, help: "Folder for report.html and gradient-flow.png.")
  var report: String = "rnn-inspect"

  func validate() throws {
    guard batch >= 1 else { throw ValidationError("--batch must be >= 1, got \(batch)") }
    guard (x == nil) != (text == nil) else { throw ValidationError("give exactly one of --x X.npy or --text FILE") }
    guard units == nil || text != nil else { throw ValidationError("--units applies to --text only") }
    _ = try unitList()
    guard (1...100_000).contains(characters) else { throw ValidationError("--characters must be 1...100000, got \(characters)") }
  }

  /// --units "3,17" as [3, 17].
  func unitList() throws -> [Int]? {
    guard let units else { return nil }
    let parts = units.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
    let values = parts.compactMap { Int($0) }
    guard values.count == parts.count, !values.isEmpty, values.allSatisfy({ $0 >= 0 }) else {
      throw ValidationError("--units must be unit indices separated by commas, e.g. 3,17; got '\(units)'")
    }
    return values
  }

  func run() throws {
    try ExitCodes.reporting("inspect") {
      let net = try Sequential<Float>.load(from: model)
      guard let x else { return try runText(net) }
      var input = try Forward.input(NPYArray(contentsOf: URL(fileURLWithPath: x)), for: net, source: x)
      guard input.rank >= 2 else {
        throw RecurrentError.shapeMismatch("\(x): expected [batch, steps, ...], got \(input.shape)")
      }
      var lens = try lengths.map { try InputChecks.lengths(at: $0, batch: input.shape[0], steps: input.shape[1]) }
      let n = min(batch, input.shape[0])
      if n < input.shape[0] {
        let row = input.count / input.shape[0]
        input = Tensor(shape: [n] + Array(input.shape.dropFirst()), scalars: Array(input.scalars[0..<(n * row)]))
        lens = lens.map { Array($0.prefix(n)) }
      }
      let layers = try net.diagnose(input, lengths: lens)
      guard !layers.isEmpty else { throw RecurrentError.invalidData("\(model): the model has no recurrent layer to inspect") }
      print(Self.table(layers))
      var rep = DiagnosticsReport(title: "rnn inspect: \((model as NSString).lastPathComponent)")
      rep.layers = layers
      rep.sections.append(("Model", "<pre>\(escapeXML(net.summary()))</pre>"))
      try write(rep)
    }
  }

  /// Writes report.html and gradient-flow.png into --report.
  func write(_ rep: DiagnosticsReport) throws {
    let dir = URL(fileURLWithPath: report, isDirectory: true)
    do {
      try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
      try Data(rep.html().utf8).write(to: dir.appendingPathComponent("report.html"), options: .atomic)
      try Data(rep.gradientFlowChart().renderPNG().encoded()).write(
        to: dir.appendingPathComponent("gradient-flow.png"), options: .atomic)
    } catch {
      throw RecurrentError.io("cannot write the report to \(dir.path): \(error.localizedDescription)")
    }
    print("\nreport: \(dir.appendingPathComponent("report.html").path)")
    print("chart:  \(dir.appendingPathComponent("gradient-flow.png").path)")
  }

  /// --text: the probe pass over the passage, the table, and the report with the heatmap.
  func runText(_ net: Sequential<Float>) throws {
    guard let text else { return }
    let file = try SafetensorsFile(contentsOf: URL(fileURLWithPath: model))
    guard let json = file.metadata[Vocabulary.metadataKey] else {
      throw RecurrentError.invalidData(
        "\(model): no '\(Vocabulary.metadataKey)' in the checkpoint metadata, so it is not a character model "
          + "(--text needs one, e.g. saved by rnn train --text; use --x for other models)")
    }
    let vocabulary = try Vocabulary(json: json)
    let passage = String(decoding: try AtomicFile.read(URL(fileURLWithPath: text)), as: UTF8.self)
    let heatmap: HiddenUnitHeatmap
    do {
      heatmap = try HiddenUnitHeatmap.compute(
        model: net, vocabulary: vocabulary, text: passage, units: try unitList(), maxCharacters: characters)
    } catch RecurrentError.invalidData(let message) {
      throw RecurrentError.invalidData("\(text): \(message)")
    }
    let (input, _) = try HiddenUnitHeatmap.input(for: net, vocabulary: vocabulary, text: passage, maxCharacters: characters)
    let layers = try net.diagnose(input)
    print(Self.table(layers))
    print("")
    var rows = [["unit", "tracks best", "r"]]
    for u in heatmap.units { rows.append(["\(u.index)", u.feature, formatScientific(u.correlation)]) }
    print(TextTable.render(rows))
    var rep = DiagnosticsReport(title: "rnn inspect: \((model as NSString).lastPathComponent) on \((text as NSString).lastPathComponent)")
    rep.layers = layers
    rep.heatmap = heatmap
    rep.sections.append(("Model", "<pre>\(escapeXML(net.summary()))</pre>"))
    try write(rep)
  }

  static func table(_ layers: [RecurrentLayerDiagnosis]) -> String {
    var rows = [["layer", "|dL/dh_1|/|dL/dh_T|", "sigma_max(W_hh)", "saturated gates (low/high)"]]
    for l in layers {
      let gates = l.gates.map { "\($0.gate) \(Int(($0.saturatedLow * 100).rounded()))/\(Int(($0.saturatedHigh * 100).rounded()))%" }
      rows.append([l.name, formatScientific(l.firstToLastGradientRatio), formatScientific(l.spectralNorm),
                   gates.isEmpty ? "-" : gates.joined(separator: ", ")])
    }
    return TextTable.render(rows)
  }
}
