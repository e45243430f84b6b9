/// A self-contained SVG line chart (no scripts, no fonts to fetch), for HTML reports.
///
/// Each series is a list of y values at x = 1, 2, ... (or at `xValues`). With `logScale` the y
/// axis is log10 (non-positive values are dropped), which is how gradient-flow curves read:
/// a vanishing gradient is a straight line falling to the left.
public struct SVGLineChart: Sendable {
  public struct Series: Sendable {
    public var name: String
    public var values: [Double]
    public var color: String
    /// Drawn as a dashed line (e.g. a "before training" curve next to the trained one).
    public var dashed: Bool
    public init(name: String, values: [Double], color: String? = nil, dashed: Bool = false) {
      self.name = name
      self.values = values
      self.color = color ?? ""
      self.dashed = dashed
    }
  }

  public var title: String
  public var xLabel: String
  public var yLabel: String
  public var series: [Series]
  public var logScale: Bool
  /// The x value of each index (shared by every series); nil: 1, 2, 3, ...
  public var xValues: [Double]?
  public var width = 640
  public var height = 320

  public static let palette = ["#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]

  public init(
    title: String, xLabel: String, yLabel: String, series: [Series], logScale: Bool = false, xValues: [Double]? = nil
  ) {
    self.title = title
    self.xValues = xValues
    self.xLabel = xLabel
    self.yLabel = yLabel
    self.logScale = logScale
    self.series = series.enumerated().map { i, s in
      var s = s
      if s.color.isEmpty { s.color = Self.palette[i % Self.palette.count] }
      return s
    }
  }

  /// The y value as plotted (log10 when `logScale`), nil when it cannot be drawn.
  func plotted(_ v: Double) -> Double? {
    guard v.isFinite else { return nil }
    if logScale { return v > 0 ? log10(v) : nil }
    return v
  }

  /// The x value of index `i`.
  func xValue(_ i: Int) -> Double {
    if let xValues, i < xValues.count { return xValues[i] }
    return Double(i + 1)
  }

  /// The x range shown and five tick values spread over it.
  func xAxis() -> (min: Double, max: Double, ticks: [Double]) {
    let maxCount = series.map(\.values.count).max() ?? 0
    let lo = xValue(0)
    var hi = xValue(max(1, maxCount - 1))
    if hi <= lo { hi = lo + 1 }
    let integral = (0..<max(2, maxCount)).allSatisfy { xValue($0) == xValue($0).rounded() }
    let ticks = (0...4).map { k -> Double in
      let v = lo + (hi - lo) * Double(k) / 4
      return integral ? v.rounded() : v
    }
    return (lo, hi, ticks)
  }

  /// The y ticks (in plotted units). On a log scale one per decade, or per 2, 3, ... decades so
  /// that at most 9 are labelled; the range is widened to whole steps.
  func yTickValues(_ yMin: inout Double, _ yMax: inout Double) -> [Double] {
    guard logScale else { return (0...4).map { yMin + (yMax - yMin) * Double($0) / 4 } }
    let step = max(1, ((yMax - yMin) / 8).rounded(.up))
    yMin = (yMin / step).rounded(.down) * step
    yMax = max(yMin + step, (yMax / step).rounded(.up) * step)
    return Array(stride(from: yMin, through: yMax + 1e-9, by: step))
  }

  /// The chart as an `<svg>` element.
  public func render() -> String {
    let left = 70.0, right = 150.0, top = 30.0, bottom = 45.0
    let w = Double(width), h = Double(height)
    let plotW = w - left - right, plotH = h - top - bottom
    let ys = series.flatMap { $0.values.compactMap(plotted) }
    var yMin = ys.min() ?? 0, yMax = ys.max() ?? 1
    if logScale { yMin = yMin.rounded(.down); yMax = yMax.rounded(.up) }
    if yMax - yMin < 1e-12 { yMax = yMin + 1 }
    let axis = xAxis()
    func pxValue(_ x: Double) -> Double { left + plotW * (x - axis.min) / (axis.max - axis.min) }
    func px(_ i: Int) -> Double { pxValue(xValue(i)) }
    func py(_ y: Double) -> Double { top + plotH * (1 - (y - yMin) / (yMax - yMin)) }

    var out = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) \(height)\" font-family=\"sans-serif\" font-size=\"11\">\n"
    out += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    out += "<text x=\"\(left)\" y=\"18\" font-size=\"13\" font-weight=\"bold\">\(escapeXML(title))</text>\n"
    // Axes and ticks.
    out += "<line x1=\"\(left)\" y1=\"\(top)\" x2=\"\(left)\" y2=\"\(top + plotH)\" stroke=\"#444\"/>\n"
    out += "<line x1=\"\(left)\" y1=\"\(top + plotH)\" x2=\"\(left + plotW)\" y2=\"\(top + plotH)\" stroke=\"#444\"/>\n"
    for y in yTickValues(&yMin, &yMax) {
      let label = logScale ? "1e\(Int(y.rounded()))" : shortNumber(y)
      out += "<line x1=\"\(left - 4)\" y1=\"\(fmt(py(y)))\" x2=\"\(left + plotW)\" y2=\"\(fmt(py(y)))\" stroke=\"#eee\"/>\n"
      out += "<text x=\"\(left - 6)\" y=\"\(fmt(py(y) + 4))\" text-anchor=\"end\">\(label)</text>\n"
    }
    for x in axis.ticks {
      out += "<text x=\"\(fmt(pxValue(x)))\" y=\"\(fmt(top + plotH + 15))\" text-anchor=\"middle\">\(shortNumber(x))</text>\n"
    }
    out += "<text x=\"\(fmt(left + plotW / 2))\" y=\"\(fmt(h - 8))\" text-anchor=\"middle\">\(escapeXML(xLabel))</text>\n"
    out += "<text transform=\"translate(14 \(fmt(top + plotH / 2))) rotate(-90)\" text-anchor=\"middle\">\(escapeXML(yLabel + (logScale ? " (log scale)" : "")))</text>\n"
    // Series and legend.
    for (n, s) in series.enumerated() {
      var d = "", pen = false
      for (i, v) in s.values.enumerated() {
        guard let y = plotted(v) else { pen = false; continue }
        d += "\(pen ? "L" : "M")\(fmt(px(i))) \(fmt(py(y))) "
        pen = true
      }
      let dash = s.dashed ? " stroke-dasharray=\"6 4\"" : ""
      out += "<path d=\"\(d)\" fill=\"none\" stroke=\"\(s.color)\" stroke-width=\"2\"\(dash)/>\n"
      let ly = top + 10 + Double(n) * 18
      out += "<line x1=\"\(fmt(left + plotW + 12))\" y1=\"\(fmt(ly))\" x2=\"\(fmt(left + plotW + 32))\" y2=\"\(fmt(ly))\" stroke=\"\(s.color)\" stroke-width=\"3\"\(dash)/>\n"
      out += "<text x=\"\(fmt(left + plotW + 38))\" y=\"\(fmt(ly + 4))\">\(escapeXML(s.name))</text>\n"
    }
    return out + "</svg>"
  }
}

func fmt(_ x: Double) -> String { shortNumber(x, digits: 1) }

/// Compact decimal formatting without Foundation.
func shortNumber(_ x: Double, digits: Int = 3) -> String {
  if !x.isFinite { return "\(x)" }
  if x != 0 && (abs(x) < 1e-3 || abs(x) >= 1e5) {
    let e = Int(log10(abs(x)).rounded(.down))
    return shortNumber(x / pow10(e), digits: 2) + "e\(e)"
  }
  let scale = pow10(digits)
  var s = "\((x * scale).rounded() / scale)"
  if s.hasSuffix(".0") { s.removeLast(2) }
  return s
}

func pow10(_ e: Int) -> Double {
  var r = 1.0
  for _ in 0..<abs(e) { r *= 10 }
  return e < 0 ? 1 / r : r
}

func log10(_ x: Double) -> Double { _log(x) / _log(10) }

/// Escapes &, <, >, " for XML and HTML text.
public func escapeXML(_ s: String) -> String {
  var out = ""
  for c in s {
    switch c {
    case "&": out += "&amp;"
    case "<": out += "&lt;"
    case ">": out += "&gt;"
    case "\"": out += "&quot;"
    default: out.append(c)
    }
  }
  return out
}
