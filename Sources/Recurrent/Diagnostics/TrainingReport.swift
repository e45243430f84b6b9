import Foundation

/// The self-contained HTML report of a training run, drawn from `DiagnosticsRecorder`'s records
/// (inline SVG and CSS, no scripts, nothing fetched): training curves, the gradient-flow curve
/// ||dL/dh_t|| over time steps at several points of training (log scale), gate saturation,
/// weight and gradient norms and the spectral norm of every recurrent matrix over training,
/// state ranges, and the last record's tables.
public struct TrainingReport: Sendable {
  public var title: String
  public var records: [DiagnosticsRecord]
  /// Per-epoch logs (loss, val_loss, metrics).
  public var history: History
  /// Every step's batch loss.
  public var stepLosses: [Double]
  /// Extra sections as (heading, HTML) pairs, appended at the end (e.g. the model summary).
  public var sections: [(String, String)] = []
  /// How many records the gradient-flow chart shows (the first, the last and evenly spaced ones).
  public var shownRecordCount = 6

  public init(title: String, records: [DiagnosticsRecord], history: History, stepLosses: [Double] = []) {
    self.title = title
    self.records = records
    self.history = history
    self.stepLosses = stepLosses
  }

  public init(title: String, recorder: DiagnosticsRecorder) {
    self.init(title: title, records: recorder.records, history: recorder.history, stepLosses: recorder.stepLosses)
  }

  /// The records shown on the gradient-flow chart: up to `shownRecordCount`, first and last included.
  public var shownRecords: [DiagnosticsRecord] {
    let n = records.count, k = min(shownRecordCount, n)
    guard k >= 2 else { return Array(records.prefix(k)) }
    var picked = [Int]()
    for i in 0..<k {
      let index = Int((Double(i) * Double(n - 1) / Double(k - 1)).rounded())
      if picked.last != index { picked.append(index) }
    }
    return picked.map { records[$0] }
  }

  /// The names of the recorded recurrent layers, in model order.
  public var layerNames: [String] { records.last?.layers.map(\.name) ?? [] }

  /// ||dL/dh_t|| over time steps for `layer` (the first recurrent layer when nil), one line per
  /// shown record, early records lighter.
  public func gradientFlowChart(layer: String? = nil) -> SVGLineChart {
    let name = layer ?? layerNames.first ?? ""
    let shown = shownRecords
    let colors = ["#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#08519c", "#08306b", "#d62728"]
    let series = shown.enumerated().map { i, r -> SVGLineChart.Series in
      let values = r.layers.first { $0.name == name }?.gradientNorms ?? []
      let color = i == shown.count - 1 ? colors.last! : colors[min(i, colors.count - 2)]
      return .init(name: "step \(r.step) (ep \(r.epoch + 1))", values: values, color: color)
    }
    let T = series.map(\.values.count).max() ?? 0
    return SVGLineChart(
      title: "Gradient flow through time: \(name)", xLabel: "time step t (0 = initial state)", yLabel: "||dL/dh_t||",
      series: series, logScale: true, xValues: (0..<T).map(Double.init))
  }

  /// One value per record and recurrent layer, against the training step.
  func overTraining(
    _ title: String, yLabel: String, logScale: Bool, _ value: (RecurrentLayerDiagnosis) -> Double
  ) -> SVGLineChart {
    SVGLineChart(
      title: title, xLabel: "training step", yLabel: yLabel,
      series: layerNames.map { name in
        .init(name: name, values: records.map { r in r.layers.first { $0.name == name }.map(value) ?? .nan })
      }, logScale: logScale, xValues: records.map { Double($0.step) })
  }

  /// The report as one HTML document.
  public func html() -> String {
    var body = "<h1>\(escapeXML(title))</h1>\n"
    let steps = records.map(\.step)
    body += "<p class=\"note\">\(records.count) records (training steps \(steps.map(String.init).joined(separator: ", "))) "
      + "taken by DiagnosticsRecorder from the training steps themselves: no extra forward or backward pass.</p>\n"

    // Training curves.
    body += "<h2>Training curves</h2>\n"
    if !history.epochs.isEmpty {
      let keys = Set(history.epochs.flatMap(\.keys)).filter { $0 != "learning_rate" }.sorted()
      let losses = keys.filter { $0.hasSuffix("loss") }, others = keys.filter { !$0.hasSuffix("loss") }
      body += SVGLineChart(
        title: "Loss per epoch", xLabel: "epoch", yLabel: "loss",
        series: losses.map { .init(name: $0, values: history[$0]) }, logScale: true).render() + "\n"
      if !others.isEmpty {
        body += SVGLineChart(
          title: "Metrics per epoch", xLabel: "epoch", yLabel: "value",
          series: others.map { .init(name: $0, values: history[$0]) }).render() + "\n"
      }
    }
    if stepLosses.count >= 2 {
      body += SVGLineChart(
        title: "Batch loss per step", xLabel: "training step", yLabel: "loss",
        series: [.init(name: "loss", values: stepLosses, color: "#7f7f7f")], logScale: true).render() + "\n"
    }
    guard let last = records.last, !last.layers.isEmpty else {
      body += "<p>No recurrent layer was recorded.</p>\n"
      return htmlPage(title: title, body: body)
    }

    // Gradient flow at several points of training.
    body += "<h2>Gradient flow through time, during training</h2>\n<p>||dL/dh<sub>t</sub>|| (mean over the batch) "
      + "at every time step of the recorded step's batch, log scale. A line falling steeply to the left is a vanishing "
      + "gradient (early inputs get no credit); rising to the left, an exploding one.</p>\n"
    for name in layerNames { body += gradientFlowChart(layer: name).render() + "\n" }

    // Gates.
    let gated = last.layers.contains { !$0.gates.isEmpty }
    if gated {
      body += "<h2>Gate saturation during training</h2>\n<p>Fraction of gate activations below 0.05 or above 0.95 "
        + "(below −0.95 or above 0.95 for tanh candidates), per gate; saturated gates pass almost no gradient. "
        + "A forget (LSTM) or update (GRU) gate near 1 keeps memory.</p>\n"
      for l in last.layers where !l.gates.isEmpty {
        var series = [SVGLineChart.Series]()
        for g in l.gates.map(\.gate) {
          let stats = records.map { r in r.layers.first { $0.name == l.name }?.gates.first { $0.gate == g } }
          series.append(.init(name: "\(g) sat.", values: stats.map { $0.map { $0.saturatedLow + $0.saturatedHigh } ?? .nan }))
          series.append(.init(name: "\(g) mean", values: stats.map { $0?.mean ?? .nan }, dashed: true))
        }
        for (i, _) in series.enumerated() { series[i].color = SVGLineChart.palette[(i / 2) % SVGLineChart.palette.count] }
        body += SVGLineChart(
          title: "Gates: \(l.name)", xLabel: "training step", yLabel: "fraction saturated / mean", series: series,
          xValues: records.map { Double($0.step) }).render() + "\n"
      }
    }

    // Norms.
    body += "<h2>Weight and gradient norms</h2>\n<p>L2 norm of each layer's parameters and of the gradient the "
      + "optimizer applied (after clipping) at the recorded step.</p>\n"
    let layerNames = last.layerNorms.map(\.name)
    var normSeries = [SVGLineChart.Series]()
    for (i, name) in layerNames.enumerated() {
      let norms = records.map { r in r.layerNorms.first { $0.name == name } }
      let color = SVGLineChart.palette[i % SVGLineChart.palette.count]
      normSeries.append(.init(name: "\(name) weight", values: norms.map { $0?.weight ?? .nan }, color: color))
      normSeries.append(.init(name: "\(name) grad", values: norms.map { $0?.gradient ?? .nan }, color: color, dashed: true))
    }
    var normChart = SVGLineChart(
      title: "Weight (solid) and gradient (dashed) norms", xLabel: "training step", yLabel: "L2 norm",
      series: normSeries, logScale: true, xValues: records.map { Double($0.step) })
    normChart.height = max(320, 60 + 18 * normSeries.count)
    body += normChart.render() + "\n"
    body += overTraining("Spectral norm σ_max(W_hh)", yLabel: "σ_max", logScale: false) { $0.spectralNorm }.render() + "\n"
    body += "<p class=\"note\">σ<sub>max</sub>(W<sub>hh</sub>) bounds how much one step can stretch the hidden state's "
      + "gradient (tanh' ≤ 1): below 1 a SimpleRNN's gradient must vanish geometrically.</p>\n"

    // States.
    body += "<h2>State ranges</h2>\n"
    body += overTraining("max |h_t| over the batch", yLabel: "max |h|", logScale: false) {
      max(abs($0.hiddenRange.lowerBound), abs($0.hiddenRange.upperBound))
    }.render() + "\n"
    if last.layers.contains(where: { $0.cellRange != nil }) {
      body += overTraining("max |c_t| over the batch (LSTM cell state)", yLabel: "max |c|", logScale: false) {
        $0.cellRange.map { max(abs($0.lowerBound), abs($0.upperBound)) } ?? .nan
      }.render() + "\n"
    }

    // The last record's tables.
    var final = DiagnosticsReport(title: title)
    final.layers = last.layers
    body += "<h2>At the last record (step \(last.step), epoch \(last.epoch + 1))</h2>\n" + final.layerTables()
    body += "<table><tr><th>parameter</th><th>weight norm</th><th>gradient norm</th></tr>\n"
    for p in last.parameters {
      body += "<tr><td>\(escapeXML(p.name))</td><td>\(shortNumber(p.weight))</td><td>\(shortNumber(p.gradient))</td></tr>\n"
    }
    body += "</table>\n"
    for (heading, html) in sections { body += "<h2>\(escapeXML(heading))</h2>\n\(html)\n" }
    return htmlPage(title: title, body: body)
  }

  /// Writes `report.html` and `gradient-flow.png` (the first recurrent layer's chart) into
  /// `directory` (created if missing), each atomically. Returns the two paths.
  @discardableResult
  public func write(toDirectory directory: String) throws -> [String] {
    do {
      try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    } catch {
      throw RecurrentError.io("cannot create the report folder '\(directory)': \(error.localizedDescription)")
    }
    let html = URL(fileURLWithPath: directory).appendingPathComponent("report.html")
    let png = URL(fileURLWithPath: directory).appendingPathComponent("gradient-flow.png")
    try AtomicFile.write(Array(self.html().utf8), to: html)
    try AtomicFile.write(gradientFlowChart().renderPNG().encoded(), to: png)
    return [html.path, png.path]
  }
}
