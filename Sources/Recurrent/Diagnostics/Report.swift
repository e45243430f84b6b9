/// A self-contained HTML report (inline SVG, inline CSS, no scripts, nothing fetched):
/// gradient flow over time steps, gate saturation, spectral norms, state ranges, training
/// curves and an optional per-character heatmap of hidden units.
public struct DiagnosticsReport: Sendable {
  public var title: String
  public var layers: [RecurrentLayerDiagnosis] = []
  /// Training curves, one series per logged figure.
  public var history: History?
  /// Extra sections as (heading, HTML) pairs, e.g. a verdict table.
  public var sections: [(String, String)] = []
  /// Hidden units coloured over the characters of a passage (character models).
  public var heatmap: HiddenUnitHeatmap?

  public init(title: String) { self.title = title }

  /// The gradient-flow chart of every layer on one log-scale plot.
  public func gradientFlowChart() -> SVGLineChart {
    SVGLineChart(
      title: "Gradient flow through time", xLabel: "time step t (0 = initial state)", yLabel: "||dL/dh_t||",
      series: layers.map { .init(name: $0.name, values: $0.gradientNorms) }, logScale: true,
      xValues: (0..<(layers.map(\.gradientNorms.count).max() ?? 0)).map(Double.init))
  }

  /// The report as one HTML document.
  public func html() -> String {
    var body = "<h1>\(escapeXML(title))</h1>\n"
    if !layers.isEmpty {
      body += "<h2>Gradient flow</h2>\n<p>How much of the loss gradient reaches each time step. A line falling "
        + "steeply to the left is a vanishing gradient: early inputs cannot be learned from.</p>\n"
      body += gradientFlowChart().render() + "\n"
      body += layerTables()
    }
    if let history, !history.epochs.isEmpty {
      let keys = Set(history.epochs.flatMap(\.keys)).filter { $0 != "learning_rate" }.sorted()
      let losses = keys.filter { $0.hasSuffix("loss") }, others = keys.filter { !$0.hasSuffix("loss") }
      body += "<h2>Training</h2>\n"
      body += SVGLineChart(title: "Loss", xLabel: "epoch", yLabel: "loss",
                           series: losses.map { .init(name: $0, values: history[$0]) }, logScale: true).render() + "\n"
      if !others.isEmpty {
        body += SVGLineChart(title: "Metrics", xLabel: "epoch", yLabel: "value",
                             series: others.map { .init(name: $0, values: history[$0]) }).render() + "\n"
      }
    }
    if let heatmap { body += "<h2>Hidden units over the text</h2>\n" + heatmap.html() }
    for (heading, html) in sections { body += "<h2>\(escapeXML(heading))</h2>\n\(html)\n" }
    return htmlPage(title: title, body: body)
  }

  /// The per-layer tables: gradient ratio, σ_max, state ranges; gate means and saturation.
  public func layerTables() -> String {
    var body = ""
    body += "<table><tr><th>layer</th><th>||dL/dh<sub>1</sub>|| / ||dL/dh<sub>T</sub>||</th><th>σ<sub>max</sub>(W<sub>hh</sub>)</th>"
      + "<th>h range</th><th>c range</th></tr>\n"
    for l in layers {
      body += "<tr><td>\(escapeXML(l.name))</td><td>\(shortNumber(l.firstToLastGradientRatio))</td>"
        + "<td>\(shortNumber(l.spectralNorm))</td><td>\(shortNumber(l.hiddenRange.lowerBound)) … \(shortNumber(l.hiddenRange.upperBound))</td>"
        + "<td>\(l.cellRange.map { "\(shortNumber($0.lowerBound)) … \(shortNumber($0.upperBound))" } ?? "–")</td></tr>\n"
    }
    body += "</table>\n<h2>Gates</h2>\n<p>Mean activation and the fraction saturated (below 0.05 / above 0.95; "
      + "below −0.95 for tanh candidates). A forget gate near 1 keeps memory; saturated gates pass no gradient.</p>\n"
    body += "<table><tr><th>layer</th><th>gate</th><th>mean</th><th>low</th><th>high</th><th></th></tr>\n"
    for l in layers {
      for g in l.gates {
        let lowW = Int((g.saturatedLow * 200).rounded()), highW = Int((g.saturatedHigh * 200).rounded())
        body += "<tr><td>\(escapeXML(l.name))</td><td>\(g.gate)</td><td>\(shortNumber(g.mean))</td>"
          + "<td>\(percent(g.saturatedLow))</td><td>\(percent(g.saturatedHigh))</td>"
          + "<td><svg width=\"210\" height=\"12\"><rect width=\"\(lowW)\" height=\"12\" fill=\"#1f77b4\"/>"
          + "<rect x=\"\(210 - highW)\" width=\"\(highW)\" height=\"12\" fill=\"#d62728\"/></svg></td></tr>\n"
      }
    }
    body += "</table>\n"
    return body
  }

  func percent(_ x: Double) -> String { x.isNaN ? "–" : "\(shortNumber(100 * x, digits: 1))%" }

}

/// A complete HTML document around `body`: inline CSS, no scripts, nothing fetched.
func htmlPage(title: String, body: String) -> String {
  """
  <!DOCTYPE html>
  <html lang="en"><head><meta charset="utf-8"><title>\(escapeXML(title))</title>
  <style>
  body { font-family: sans-serif; max-width: 900px; margin: 2em auto; color: #222; }
  table { border-collapse: collapse; margin: 1em 0; } td, th { border: 1px solid #ccc; padding: 3px 8px; font-size: 13px; }
  pre { white-space: pre-wrap; font-size: 13px; line-height: 1.5; } .unit { margin: 1em 0; }
  svg { max-width: 100%; height: auto; } .note { color: #555; font-size: 13px; }
  pre.wide { white-space: pre; overflow-x: auto; font-size: 12px; }
  </style></head>
  <body>
  \(body)</body></html>

  """
}
