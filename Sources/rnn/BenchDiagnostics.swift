import ArgumentParser
import Recurrent

/// `rnn bench diagnostics`: what `DiagnosticsRecorder` costs on a training step.
struct BenchDiagnostics: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "diagnostics",
    abstract: "Time one fit step with and without the diagnostics recorder (its overhead).",
    discussion: """
      One recurrent layer of the chosen config (default L: B64 T100 I512 H512), return_sequences,
      MSE against zeros, SGD: `fit(epochs: 1)` over exactly one batch, so each call is one
      training step (forward, loss, backward, optimizer). "on" passes a DiagnosticsRecorder
      recording every epoch, i.e. after this step: the worst case, a record per step. Runs
      alternate off/on so machine load hits both alike; medians are reported, with the
      recorder's own measured time per record.
      """)

  @Option(name: .long, help: "Cell: lstm, gru, rnn.")
  var cell: String = "lstm"

  @Option(name: .long, help: "Config: S, M, L.")
  var config: String = "L"

  @Option(name: .long, help: "Timed runs of each mode.")
  var runs: Int = 7

  @Option(name: .long, help: "Threads the kernels may use.")
  var threads: Int = ComputeSettings.threadCount

  func validate() throws {
    guard ["lstm", "gru", "rnn"].contains(cell) else { throw ValidationError("--cell must be lstm, gru or rnn, got \(cell)") }
    guard BenchConfig.named(config) != nil else { throw ValidationError("--config must be S, M or L, got \(config)") }
    guard (1...1000).contains(runs) else { throw ValidationError("--runs must be 1...1000, got \(runs)") }
    guard (1...256).contains(threads) else { throw ValidationError("--threads must be 1...256, got \(threads)") }
  }

  func run() throws {
    ComputeSettings.threadCount = threads
    let c = BenchConfig.named(config)!
    let layer: any Layer<Float> =
      switch cell {
      case "gru": GRU(units: c.hidden, returnSequences: true)
      case "rnn": SimpleRNN(units: c.hidden, returnSequences: true)
      default: LSTM(units: c.hidden, returnSequences: true)
      }
    let model = Sequential<Float>([layer], seed: 7)
    model.compile(optimizer: SGD(learningRate: 1e-4), loss: MeanSquaredError())
    var g = SeededGenerator(seed: 7)
    let x = Tensor<Float>(shape: [c.batch, c.steps, c.input], uniformIn: -1...1, using: &g)
    let y = Tensor<Float>(shape: [c.batch, c.steps, c.hidden])
    var off = [Double](), on = [Double](), recording = [Double]()
    func step(_ recorder: DiagnosticsRecorder?) throws -> Double {
      let start = monotonicNow()
      try model.fit(x, y, epochs: 1, batchSize: c.batch, shuffle: false, callbacks: recorder.map { [$0] } ?? [], verbose: 0)
      return monotonicNow() - start
    }
    _ = try step(nil)  // warm-up: workspaces allocated, power-iteration vector settled
    let warm = DiagnosticsRecorder(every: .epochs(1))
    _ = try step(warm)
    for _ in 0..<runs {
      off.append(try step(nil))
      let recorder = DiagnosticsRecorder(every: .epochs(1))
      on.append(try step(recorder))
      guard recorder.records.count == 1 else { throw ValidationError("expected one record per step, got \(recorder.records.count)") }
      recording.append(recorder.secondsMeasuring)
    }
    func median(_ v: [Double]) -> Double { v.sorted()[v.count / 2] * 1000 }
    let mOff = median(off), mOn = median(on), mRec = median(recording)
    print(
      TextTable.render([
        ["\(cell) \(c.name) (B\(c.batch) T\(c.steps) I\(c.input) H\(c.hidden))", "median ms", "runs"],
        ["fit step, recorder off", formatFixed(mOff, digits: 1), "\(runs)"],
        ["fit step, recorder on (record every step)", formatFixed(mOn, digits: 1), "\(runs)"],
        ["  of which the record itself", formatFixed(mRec, digits: 1), "\(runs)"],
      ]))
    print("")
    print(
      "overhead per recorded step: \(formatFixed(mOn - mOff, digits: 1)) ms (\(formatFixed(100 * (mOn - mOff) / mOff, digits: 1))%); "
        + "record alone: \(formatFixed(100 * mRec / mOff, digits: 1))% of a step. threads \(ComputeSettings.threadCount), "
        + "\(ComputeSettings.activeInstructionSet)")
  }
}
