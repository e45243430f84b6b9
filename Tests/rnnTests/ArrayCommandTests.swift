import ArgumentParser
import Foundation
import Recurrent
import Testing

@testable import rnn

/// `rnn train --x --y`, `rnn evaluate --x --y` and `rnn predict --x` end to end on tiny NPY data.
@Suite struct ArrayCommandTests {
  typealias S = DataCommandSupport

  /// N sequences [T, 2]: class 1 drawn around +1, class 0 around -1 (alternating labels).
  static func separable(_ n: Int, steps: Int = 6, seed: UInt64) -> (x: Tensor<Float>, labels: [Int]) {
    var rng = SeededGenerator(seed: seed)
    let labels = (0..<n).map { $0 % 2 }
    var x = Tensor<Float>(shape: [n, steps, 2])
    for i in 0..<x.count {
      let sign: Float = labels[i / (steps * 2)] == 1 ? 1 : -1
      x.scalars[i] = sign + Float(rng.nextUnit() - 0.5) * 0.6
    }
    return (x, labels)
  }

  static func writeSeparable(_ dir: String, _ name: String, n: Int, seed: UInt64) throws -> (x: String, y: String) {
    let (x, labels) = separable(n, seed: seed)
    let xp = dir + "/\(name)_x.npy", yp = dir + "/\(name)_y.npy"
    try NPYArray(x, dtype: .float32).write(to: URL(fileURLWithPath: xp))
    try NPYArray(integers: labels, shape: [n]).write(to: URL(fileURLWithPath: yp))
    return (xp, yp)
  }

  @Test func aClassifierLearnsATriviallySeparableProblemAndEvaluatesAndPredicts() throws {
    let dir = try S.temporaryDirectory("arrays")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let (x, y) = try Self.writeSeparable(dir, "train", n: 80, seed: 1)
    let model = dir + "/clf.safetensors"
    let (r, text) = try S.train([
      "--x", x, "--y", y, "--loss", "sparse-ce", "--layers", "lstm:8,dense:2", "--epochs", "8", "--lr", "0.02",
      "--validation-split", "0.2", "--save", model,
    ])
    #expect(r.figures.map(\.name) == ["accuracy", "loss"])
    #expect(r.figures[0].number >= 0.95, "\(text)")
    #expect(text.contains("64 training / 16 validation samples"))
    #expect(text.contains("layers lstm:8,dense:2"))
    #expect(text.contains("always the majority class of the training samples: 50.00%"))
    #expect(r.history["accuracy"].last! > r.history["accuracy"].first! || r.history["accuracy"].first! == 1)

    let (tx, ty) = try Self.writeSeparable(dir, "test", n: 20, seed: 9)
    let (e, etext) = try S.evaluate(["--model", model, "--x", tx, "--y", ty])
    #expect(e.figures.map(\.name) == ["accuracy", "loss"])
    #expect(e.figures[0].number >= 0.95)
    #expect(etext.contains("(sparse-ce)"))

    let out = dir + "/p.npy"
    try Predict.parse(["--model", model, "--x", tx, "--output", out, "--quiet"]).run()
    let p = try NPYArray(contentsOf: URL(fileURLWithPath: out))
    #expect(p.shape == [20, 2] && p.dtype == .float32)
  }

  @Test func regressionWithTheDefaultModelAndAModelJSONFile() throws {
    let dir = try S.temporaryDirectory("arrays-reg")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let (x, _) = Self.separable(60, seed: 2)
    // Target: the mean of the sequence's first feature.
    var targets = [Float](repeating: 0, count: 60)
    for n in 0..<60 { for t in 0..<6 { targets[n] += x.scalars[(n * 6 + t) * 2] / 6 } }
    try NPYArray(x).write(to: URL(fileURLWithPath: dir + "/x.npy"))
    try NPYArray(Tensor<Float>(shape: [60], scalars: targets), dtype: .float64).write(to: URL(fileURLWithPath: dir + "/y.npy"))
    let (r, text) = try S.train([
      "--x", dir + "/x.npy", "--y", dir + "/y.npy", "--loss", "mse", "--cell", "gru", "--units", "6", "--epochs", "20", "--lr", "0.02",
    ])
    #expect(r.figures.map(\.name) == ["MSE", "MAE", "loss"])
    #expect(text.contains("GRU, 6 units"))
    #expect(r.figures[0].number < 0.2, "\(text)")  // the mean predictor scores ~1
    #expect(text.contains("predict the mean of the training samples"))

    try S.write(
      #"{"layers": [{"kind": "conv1d", "config": {"filters": 4, "kernelSize": 3, "activation": "relu"}}, {"kind": "global_average_pooling1d"}, {"kind": "dense", "config": {"units": 1}}]}"#,
      to: dir + "/model.json")
    let (j, jtext) = try S.train([
      "--x", dir + "/x.npy", "--y", dir + "/y.npy", "--loss", "mae", "--model-json", dir + "/model.json", "--epochs", "2",
    ])
    #expect(j.figures.map(\.name) == ["MSE", "MAE", "loss"])
    #expect(jtext.contains("global_average_pooling1d"))
  }

  @Test func stackedWAVFeaturesTrainAClassifierWithLengths() throws {
    let dir = try S.temporaryDirectory("arrays-wav")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try FileManager.default.createDirectory(atPath: dir + "/wav", withIntermediateDirectories: true)
    var labels = [Int]()
    for i in 0..<12 {
      let hz = i % 2 == 0 ? 300.0 : 2500.0
      let count = 1600 + 160 * (i % 3)  // different lengths: padded and masked
      try FeaturesCommandTests.writeWAV(
        URL(fileURLWithPath: dir + "/wav/clip_\(String(i).leftPadded(2)).wav"),
        samples: FeaturesCommandTests.signal(count, rate: 8000, hz: hz), rate: 8000)
      labels.append(i % 2)
    }
    try NPYArray(integers: labels, shape: [12]).write(to: URL(fileURLWithPath: dir + "/y.npy"))
    let summary = try Features.parse(["--wav", dir + "/wav", "--stack", dir + "/x.npy", "--mels", "8", "--quiet"]).execute()
    #expect(summary.stackShape?.first == 12)
    let (r, text) = try S.train([
      "--x", dir + "/x.npy", "--y", dir + "/y.npy", "--lengths", dir + "/x_lengths.npy", "--loss", "sparse-ce",
      "--layers", "gru:6,dense:2", "--epochs", "3", "--validation-split", "0.25",
    ])
    #expect(r.figures.first?.name == "accuracy" && (0...1).contains(r.figures[0].number))
    #expect(text.contains("lengths from \(dir)/x_lengths.npy"))
    #expect(text.contains("9 training / 3 validation samples"))
  }

  @Test func perStepLabelsWithLengthsCountOnlyTheRealSteps() throws {
    let dir = try S.temporaryDirectory("arrays-steps")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    var rng = SeededGenerator(seed: 5)
    let n = 60, T = 6
    var x = Tensor<Float>(shape: [n, T, 2])
    for i in 0..<x.count { x.scalars[i] = Float(rng.nextUnit() * 2 - 1) }
    let lengths = (0..<n).map { 3 + $0 % 4 }
    // Label of step t: whether feature 0 is positive; padded steps are labelled 1 (never counted).
    let labels = (0..<(n * T)).map { i in i % T >= lengths[i / T] ? 1 : (x.scalars[i * 2] > 0 ? 1 : 0) }
    try NPYArray(x).write(to: URL(fileURLWithPath: dir + "/x.npy"))
    try NPYArray(integers: labels, shape: [n, T]).write(to: URL(fileURLWithPath: dir + "/y.npy"))
    try NPYArray(integers: lengths, shape: [n]).write(to: URL(fileURLWithPath: dir + "/len.npy"))
    let (r, text) = try S.train([
      "--x", dir + "/x.npy", "--y", dir + "/y.npy", "--lengths", dir + "/len.npy", "--loss", "sparse-ce",
      "--layers", "lstm:8:seq,dense:2", "--epochs", "25", "--lr", "0.02", "--validation-split", "0.2",
    ])
    #expect(r.figures[0].number >= 0.9, "\(text)")
    // The majority reference counts the 54 real steps of the 12 held-out rows only.
    let held = TaskDataset(
      x: Tensor<Float>(shape: [12, T, 2]), y: Tensor(shape: [12, T], scalars: labels[(48 * T)...].map { Float($0) }),
      lengths: Array(lengths[48...]))
    #expect(ArrayData.classes(held, loss: .sparseCE).count == lengths[48...].reduce(0, +))
    #expect(text.contains("labels [60, 6] in 0..<2"))
  }

  @Test func badArraysExitWithTheRightCodeAndSayWhy() throws {
    let dir = try S.temporaryDirectory("arrays-bad")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let (x, y) = try Self.writeSeparable(dir, "a", n: 10, seed: 3)
    let (_, y8) = try Self.writeSeparable(dir, "b", n: 8, seed: 3)
    func code(_ args: [String]) -> Int32 { S.exitCode { _ = try S.train(args + ["--epochs", "1"]) } }
    func message(_ args: [String]) -> String {
      S.errorText { _ = try ArraySource(options: Train.parse(args).data.arrays, validationSplit: 0.2, cell: .lstm).model(cell: .lstm, units: 4, seed: 1) }
    }
    // X and Y sample counts differ: 65.
    #expect(code(["--x", x, "--y", y8, "--loss", "sparse-ce"]) == 65)
    #expect(message(["--x", x, "--y", y8, "--loss", "sparse-ce"]).contains("has 10 samples but \(y8) has 8"))
    // A label out of range for the last Dense: 65, naming the label and the size.
    try NPYArray(integers: [0, 1, 2, 0, 1, 2, 0, 1, 5, 0], shape: [10]).write(to: URL(fileURLWithPath: dir + "/big.npy"))
    #expect(code(["--x", x, "--y", dir + "/big.npy", "--loss", "sparse-ce", "--layers", "lstm:4,dense:3"]) == 65)
    #expect(
      message(["--x", x, "--y", dir + "/big.npy", "--loss", "sparse-ce", "--layers", "lstm:4,dense:3"])
        .contains("label 5 (sample 8) is out of range for the last layer's 3 outputs"))
    // The default model sizes its Dense from the labels, so the same labels train.
    #expect(code(["--x", x, "--y", dir + "/big.npy", "--loss", "sparse-ce"]) == 0)
    // Non-integer labels, negative labels, non-0/1 bce targets: 65.
    try NPYArray(Tensor<Float>(shape: [10], scalars: [0, 1, 0.5, 0, 1, 0, 1, 0, 1, 0])).write(to: URL(fileURLWithPath: dir + "/half.npy"))
    #expect(code(["--x", x, "--y", dir + "/half.npy", "--loss", "sparse-ce"]) == 65)
    try NPYArray(integers: [0, 1, -1, 0, 1, 0, 1, 0, 1, 0], shape: [10]).write(to: URL(fileURLWithPath: dir + "/neg.npy"))
    #expect(code(["--x", x, "--y", dir + "/neg.npy", "--loss", "sparse-ce"]) == 65)
    #expect(code(["--x", x, "--y", dir + "/big.npy", "--loss", "bce"]) == 65)
    // Output shape that cannot fit the targets: 65.
    #expect(code(["--x", x, "--y", y, "--loss", "sparse-ce", "--layers", "lstm:4:seq,dense:2"]) == 65)
    #expect(code(["--x", x, "--y", y, "--loss", "mse", "--layers", "lstm:4,dense:2"]) == 65)
    // Lengths of the wrong count or range: 65.
    try NPYArray(integers: [6, 6, 6], shape: [3]).write(to: URL(fileURLWithPath: dir + "/len3.npy"))
    try NPYArray(integers: Array(repeating: 7, count: 10), shape: [10]).write(to: URL(fileURLWithPath: dir + "/len7.npy"))
    #expect(code(["--x", x, "--y", y, "--loss", "sparse-ce", "--lengths", dir + "/len3.npy"]) == 65)
    #expect(code(["--x", x, "--y", y, "--loss", "sparse-ce", "--lengths", dir + "/len7.npy"]) == 65)
    // A rank-1 X: 65. A missing file: 74. Not an NPY file: 65.
    try NPYArray(integers: [1, 2, 3], shape: [3]).write(to: URL(fileURLWithPath: dir + "/flat.npy"))
    #expect(code(["--x", dir + "/flat.npy", "--y", y, "--loss", "sparse-ce"]) == 65)
    #expect(code(["--x", dir + "/none.npy", "--y", y, "--loss", "sparse-ce"]) == 74)
    try S.write("not numpy", to: dir + "/text.npy")
    #expect(code(["--x", dir + "/text.npy", "--y", y, "--loss", "sparse-ce"]) == 65)
    // Bad flags: 64 (the bad --layers token is named).
    for args in [
      ["--x", x, "--y", y], ["--x", x, "--loss", "mse"], ["--y", y, "--loss", "mse"], ["--x", x, "--y", y, "--loss", "hinge"],
      ["--x", x, "--y", y, "--loss", "mse", "--layers", "lstm:4,dense:1", "--model-json", "m.json"],
      ["--x", x, "--y", y, "--loss", "mse", "--layers", "lstm:four"], ["--x", x, "--y", y, "--loss", "mse", "--window", "3"],
      ["--x", x, "--y", y, "--loss", "mse", "--layers", "lstm:4,dense:1", "--units", "8"],
      ["--x", x, "--y", y, "--loss", "mse", "--csv", "a.csv", "--target", "a", "--window", "2"],
      ["--x", x, "--y", y, "--loss", "mse", "--validation-split", "0.01"],
    ] {
      #expect(code(args) == 64, "\(args)")
    }
    #expect(S.errorText { _ = try Train.parse(["--x", x, "--y", y, "--loss", "mse", "--layers", "lstm:4,dropout:2"]) }
      .contains("layer 2 'dropout:2': rate must be a number in [0, 1)"))
    // evaluate: an array model without --x/--y or --task, and a forecaster given arrays: 64.
    let model = dir + "/m.safetensors"
    _ = try S.train(["--x", x, "--y", y, "--loss", "sparse-ce", "--epochs", "1", "--save", model])
    #expect(S.exitCode { _ = try S.evaluate(["--model", model]) } == 64)
    #expect(S.exitCode { _ = try S.evaluate(["--model", model, "--x", x, "--y", y8]) } == 65)
    #expect(S.exitCode { _ = try S.evaluate(["--model", model, "--x", x, "--y", y, "--csv", "a.csv"]) } == 64)
    #expect(S.exitCode { try Predict.parse(["--model", model, "--csv", dir + "/a.csv"]).run() } == 64)  // not a forecaster
  }

  @Test func evaluateRegeneratesABuiltInTasksData() throws {
    let dir = try S.temporaryDirectory("evaluate-task")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let model = dir + "/sine.safetensors"
    _ = try S.train([
      "--task", "sine", "--steps", "6", "--epochs", "1", "--samples", "32", "--validation-samples", "8", "--units", "3", "--save", model,
    ])
    let (r, text) = try S.evaluate(["--model", model, "--samples", "50", "--seed", "7"])
    #expect(r.figures.map(\.name) == ["MSE"])
    #expect(text.contains("50 fresh samples, seed 7"))
    #expect(text.contains("from 6 values"))
    let (again, _) = try S.evaluate(["--model", model, "--task", "sine", "--samples", "50", "--seed", "7"])
    #expect(again.figures == r.figures)
    #expect(S.exitCode { _ = try S.evaluate(["--model", model, "--task", "parity"]) } == 64)
    #expect(S.exitCode { _ = try S.evaluate(["--model", model, "--samples", "0"]) } == 64)
  }
}
