import Foundation
import Recurrent
import Testing

/// The training report drawn from the recorder: every chart present, self-contained, files written.
@Suite struct TrainingReportTests {
  static func trainedRecorder(epochs: Int = 5) throws -> (DiagnosticsRecorder, Sequential<Float>) {
    let (x, y) = DiagnosticsRecorderTests.data(n: 24, steps: 9)
    let model = Sequential<Float>([LSTM(units: 6, returnSequences: true), GRU(units: 4), Dense(units: 1)], seed: 7)
    model.compile(optimizer: Adam(learningRate: 0.02, globalClipNorm: 1), loss: MeanSquaredError())
    let recorder = DiagnosticsRecorder(every: .epochs(1))
    try model.fit(x, y, epochs: epochs, batchSize: 8, validationSplit: 0.25, callbacks: [recorder], verbose: 0)
    return (recorder, model)
  }

  @Test func htmlHasEveryChartAndNothingExternal() throws {
    let (recorder, _) = try Self.trainedRecorder()
    #expect(recorder.records.count == 6)  // step 1 and the end of each of 5 epochs
    var report = TrainingReport(title: "test <run>", recorder: recorder)
    report.shownRecordCount = 4
    // 18 training samples in batches of 8: 3 steps per epoch; records at steps 1, 3, 6, 9, 12, 15.
    #expect(recorder.records.map(\.step) == [1, 3, 6, 9, 12, 15])
    #expect(report.shownRecords.map(\.step) == [1, 6, 9, 15])
    let html = report.html()
    #expect(html.hasPrefix("<!DOCTYPE html>") && html.contains("test &lt;run&gt;"))
    for heading in [
      "Training curves", "Gradient flow through time, during training", "Gate saturation during training",
      "Weight and gradient norms", "State ranges", "At the last record",
    ] {
      #expect(html.contains(heading), "\(heading)")
    }
    #expect(html.contains("Gradient flow through time: layers.0 lstm") && html.contains("Gradient flow through time: layers.1 gru"))
    #expect(html.contains("Gates: layers.0 lstm") && html.contains("forget sat."))
    #expect(html.contains("layers.2 weight") && html.contains("val_loss"))
    // loss/epoch, metrics? (none), batch loss, 2 gradient-flow, 2 gates, norms, spectral, |h|, |c|
    let charts = html.components(separatedBy: "<svg xmlns").count - 1
    #expect(charts == 10, "\(charts) charts")
    #expect(!html.contains("<script") && !html.contains("src=") && !html.contains("href="))
    // Every gradient-flow chart draws one path per shown record.
    let chart = report.gradientFlowChart()
    #expect(chart.series.count == 4 && chart.series.allSatisfy { $0.values.count == 10 })
    #expect(chart.render().components(separatedBy: "<path").count - 1 == 4)
  }

  @Test func writesTheReportAndThePNG() throws {
    let (recorder, _) = try Self.trainedRecorder(epochs: 2)
    let dir = NSTemporaryDirectory() + "recurrent-training-report-\(UInt32.random(in: 0...UInt32.max))/nested"
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let paths = try TrainingReport(title: "t", recorder: recorder).write(toDirectory: dir)
    #expect(paths.map { ($0 as NSString).lastPathComponent } == ["report.html", "gradient-flow.png"])
    let png = try Data(contentsOf: URL(fileURLWithPath: paths[1]))
    #expect(png.prefix(8) == Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]))
    #expect(try String(contentsOfFile: paths[0], encoding: .utf8).contains("</html>"))
  }

  @Test func aModelWithoutRecurrentLayersSaysSo() throws {
    var rng = SeededGenerator(seed: 1)
    let model = Sequential<Float>([Dense(units: 1)], seed: 1)
    model.compile(optimizer: SGD(learningRate: 0.1), loss: MeanSquaredError())
    let recorder = DiagnosticsRecorder()
    try model.fit(
      Tensor(shape: [4, 3], uniformIn: -1...1, using: &rng), Tensor(shape: [4, 1], uniformIn: -1...1, using: &rng),
      epochs: 2, batchSize: 2, callbacks: [recorder], verbose: 0)
    #expect(recorder.records.count == 3 && recorder.records.allSatisfy { $0.layers.isEmpty && $0.parameters.count == 2 })
    #expect(TrainingReport(title: "t", recorder: recorder).html().contains("No recurrent layer was recorded"))
  }
}
