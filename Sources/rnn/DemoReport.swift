import Foundation
import Recurrent

/// The demo's HTML report: SimpleRNN, LSTM and GRU on one gradient-flow chart, the verdict and
/// the training curves; plus the chart as a PNG.
extension Demo {
  /// ||dŷ/dh_t|| for t = 0 ... T, mean over the sequences of `data`, from one forward and one
  /// backward pass with dL_n/dŷ_n = 1 per sequence. BPTT's dL/dh_t is the gradient with respect
  /// to h_t with the rest of the state at step t held fixed (c_t for an LSTM), the same figure
  /// `stateGradientNorms` gets from the initial-state gradient of the suffix run: this gives
  /// every step at the cost of one pass. Parameter gradients are cleared afterwards.
  static func gradientCurve<Cell: RecurrentCell>(
    _ rnn: RNN<Cell, Float>, _ head: DenseLayer<Float>, _ data: TaskDataset<Float>
  ) -> [Double] {
    guard let engine = rnn.engine else { return [] }
    let full = engine.forward(data.x)
    let prediction = head.forward(full.last, context: LayerContext(training: false))
    let dhT = head.backward(Tensor(shape: prediction.shape, repeating: 1))
    _ = engine.backward(sequenceGradient: nil, finalStateGradient: RecurrentState(h: dhT))
    engine.store.zeroGradients()
    return engine.hiddenGradientNorms()
  }

  /// The gradient-flow chart: each cell after training (solid) and at its initial weights (dashed).
  static func gradientFlowChart(_ results: [CellResult], steps T: Int) -> SVGLineChart {
    let colors: [CellKind: String] = [.rnn: "#d62728", .lstm: "#1f77b4", .gru: "#2ca02c"]
    var series = [SVGLineChart.Series]()
    for r in results { series.append(.init(name: r.kind.displayName, values: r.gradientCurve, color: colors[r.kind])) }
    for r in results {
      series.append(.init(name: "\(r.kind.displayName) init", values: r.initialGradientCurve, color: colors[r.kind], dashed: true))
    }
    return SVGLineChart(
      title: "Gradient reaching each step, adding problem T = \(T)", xLabel: "time step t", yLabel: "||dy/dh_t||",
      series: series, logScale: true, xValues: (0...T).map(Double.init))
  }

  /// Writes report.html and gradient-flow.png into `directory`; returns their names.
  static func writeReport(_ results: [CellResult], steps T: Int, samples: Int, directory: String) throws -> [String] {
    var report = DiagnosticsReport(title: "rnn demo: SimpleRNN vs LSTM vs GRU on the adding problem, T = \(T)")
    let chart = gradientFlowChart(results, steps: T)
    var verdict = "<p>How strongly the prediction y (read from h<sub>\(T)</sub>) depends on the hidden state at each "
      + "step t: mean ||dy/dh<sub>t</sub>|| over \(samples) validation sequences, log scale; solid after training, dashed "
      + "at the initial weights. Credit for the first marked value (somewhere in the first half) can only arrive through "
      + "this gradient: where the line has fallen by many orders of magnitude, nothing is learned.</p>\n"
    verdict += chart.render() + "\n<pre class=\"wide\">\(escapeXML(verdictTable(results, steps: T)))</pre>\n"
    verdict += "<pre class=\"wide\">\(escapeXML(explanation(results, steps: T).joined(separator: "\n")))</pre>\n"
    report.sections.append(("Gradient flow through time", verdict))

    var curves = [SVGLineChart.Series]()
    for (i, r) in results.enumerated() {
      let color = SVGLineChart.palette[i % SVGLineChart.palette.count]
      curves.append(.init(name: "\(r.kind.displayName) val", values: r.history["val_loss"], color: color))
      curves.append(.init(name: "\(r.kind.displayName) train", values: r.history["loss"], color: color, dashed: true))
    }
    let training = SVGLineChart(
      title: "MSE per epoch (baseline 0.167)", xLabel: "epoch", yLabel: "MSE", series: curves, logScale: true)
    report.sections.append(("Training curves", training.render()))

    var inside = DiagnosticsReport(title: "")
    inside.layers = results.compactMap { r in
      guard var d = r.diagnosis else { return nil }
      d.name = r.kind.displayName
      d.gradientNorms = r.gradientCurve
      return d
    }
    report.sections.append(("Inside the trained cells", inside.layerTables()))

    try makeDirectory(directory)
    try AtomicFile.write(Array(report.html().utf8), to: URL(fileURLWithPath: "\(directory)/report.html"))
    try AtomicFile.write(chart.renderPNG().encoded(), to: URL(fileURLWithPath: "\(directory)/gradient-flow.png"))
    return ["report.html", "gradient-flow.png"]
  }
}
