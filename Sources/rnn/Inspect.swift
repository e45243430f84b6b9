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

      Example:
        rnn inspect --model model.safetensors --x x.npy --report inspect-out
      """)

  @Option(name: .long, help: "Checkpoint (.safetensors) saved by Recurrent.")
  var model: String

  @Option(name: .long, help: "Input .npy the model accepts ([batch, steps, features] or token ids [batch, steps]).")
  var x: String

  @Option(name: .long, help: "Optional .npy of integer sequence lengths [batch].")
  var lengths: String?

  @Option(name: .long, help: "Samples used for the probe pass.")
  var batch: Int = 32

  @Option(name: .long, help: "Folder for report.html and gradient-flow.png.")
  var report: String = "rnn-inspect"

  func validate() throws {
    guard batch >= 1 else { throw ValidationError("--batch must be >= 1, got \(batch)") }
  }

  func run() throws {
    try ExitCodes.reporting("inspect") {
      let net = try Sequential<Float>.load(from: model)
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
