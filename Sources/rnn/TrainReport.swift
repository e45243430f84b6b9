import Recurrent

/// `rnn train --report DIR`: the HTML report and the gradient-flow PNG of the run, from the
/// records `DiagnosticsRecorder` took during `fit`.
func writeTrainingReport(
  _ recorder: DiagnosticsRecorder, model: Sequential<Float>, summary: String, to directory: String, output: CommandOutput
) throws {
  var report = TrainingReport(title: "rnn train: \(summary)", recorder: recorder)
  report.sections.append(("Model", "<pre>\(escapeXML(model.summary()))</pre>"))
  let paths = try report.write(toDirectory: directory)
  output.line(
    "Wrote the diagnostics report (\(recorder.records.count) records, \(fixedDigits(recorder.secondsMeasuring * 1000, 1)) ms "
      + "spent recording): \(paths.joined(separator: ", "))")
}
