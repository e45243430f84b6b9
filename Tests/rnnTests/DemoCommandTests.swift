import ArgumentParser
import Foundation
import Recurrent
import Testing

@testable import rnn

/// Collects what a command prints.
final class CapturedOutput: @unchecked Sendable {
  private(set) var text = ""
  private let lock = NSLock()
  func append(_ s: String) {
    lock.lock()
    text += s
    lock.unlock()
  }
  var output: CommandOutput { CommandOutput(sink: { self.append($0) }) }
  var progress: ProgressReporter { ProgressReporter(verbose: 1, isTerminal: false, write: { self.append($0) }) }
}

func temporaryFolder(_ name: String) -> String {
  NSTemporaryDirectory() + "rnn-tests-\(name)-\(UInt32.random(in: 0...UInt32.max))"
}

@Suite struct DemoCommandTests {
  @Test func aTinyDemoRunsEndToEndAndWritesItsOutputs() throws {
    let dir = temporaryFolder("demo")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let cmd = try Demo.parse([
      "--steps", "10", "--epochs", "1", "--samples", "64", "--validation-samples", "16", "--units", "4", "--out", dir,
    ])
    let captured = CapturedOutput()
    let result = try cmd.execute(output: captured.output, progress: captured.progress)
    #expect(result.cells.map(\.kind) == [.rnn, .lstm, .gru])
    for c in result.cells {
      #expect(c.validationMSE.isFinite && c.validationMSE > 0)
      #expect(c.history.epochs.count == 1)
      #expect(c.stateGradients.map(\.step) == [1, 2, 5, 7, 10])
      #expect(c.stateGradients.allSatisfy { $0.norm.isFinite && $0.norm > 0 })
    }
    #expect(result.cells.map(\.parameters) == [4 * 2 + 4 * 4 + 8 + 5, 4 * (4 * 2 + 4 * 4 + 8) + 5, 3 * (4 * 2 + 4 * 4 + 8) + 5])
    let text = captured.text
    #expect(text.contains("Epoch 1/1"))  // plain progress lines when not a terminal
    #expect(text.contains("final val MSE"))
    #expect(text.contains("SimpleRNN") && text.contains("LSTM") && text.contains("GRU"))
    #expect(text.contains("||dy/dh_1||"))
    #expect(result.table.split(separator: "\n").count == 5)
    #expect(result.outputs == [
      "rnn.safetensors", "rnn-history.csv", "lstm.safetensors", "lstm-history.csv", "gru.safetensors", "gru-history.csv",
      "verdict.txt", "report.html", "gradient-flow.png",
    ])
    for file in result.outputs {
      #expect(FileManager.default.fileExists(atPath: dir + "/" + file), "\(file)")
    }
    // The checkpoints load back into models that predict what the trained ones did.
    let probe = try AddingProblem(steps: 10).generate(samples: 4, seed: 99)
    for c in result.cells {
      let loaded = try Sequential<Float>.load(from: dir + "/\(c.kind.rawValue).safetensors")
      #expect(try loaded.predict(probe.x) == c.model.predict(probe.x))
    }
    let csv = try String(contentsOfFile: dir + "/lstm-history.csv", encoding: .utf8)
    #expect(csv.hasPrefix("epoch,") && csv.contains("val_loss"))
  }

  @Test func theSeedMakesRunsRepeatable() throws {
    func run(_ seed: String) throws -> [Double] {
      let dir = temporaryFolder("seed")
      defer { try? FileManager.default.removeItem(atPath: dir) }
      let cmd = try Demo.parse([
        "--steps", "6", "--epochs", "1", "--samples", "32", "--validation-samples", "8", "--units", "3", "--cells", "lstm",
        "--seed", seed, "--out", dir,
      ])
      let c = CapturedOutput()
      return try cmd.execute(output: c.output, progress: c.progress).cells.map(\.validationMSE)
    }
    #expect(try run("3") == run("3"))
    #expect(try run("3") != run("4"))
  }

  /// dL/dh_k from the chunked route agrees with central differences on h_k.
  @Test func stateGradientsMatchFiniteDifferences() throws {
    var g = SeededGenerator(seed: 12)
    let T = 6, H = 3
    let data = try AddingProblem(steps: T).generate(samples: 2, seed: 5)
    let rnn = SimpleRNN(units: H)
    let head = Dense(units: 1)
    let store = ParameterStore<Float>()
    _ = try rnn.build(inputShape: [T, 2], store: store, name: "rnn", generator: &g)
    _ = try head.build(inputShape: [H], store: store, name: "head", generator: &g)
    let norms = Demo.stateGradientNorms(rnn, head, data, steps: [0, 2, T])
    let engine = rnn.engine!
    // ŷ summed over the two sequences as a function of the state after k steps.
    func output(k: Int, state: RecurrentState<Float>?) -> Double {
      let out = engine.forward(Demo.timeSlice(data.x, k..<T), initialState: state)
      return head.forward(out.last, context: LayerContext()).scalars.reduce(0) { $0 + Double($1) }
    }
    for (k, norm) in norms where k < T {
      let base = k == 0 ? RecurrentState(h: Tensor<Float>(shape: [2, H])) : engine.forward(Demo.timeSlice(data.x, 0..<k)).finalState
      var rowNorms = [0.0, 0.0]
      for n in 0..<2 {
        var s = 0.0
        for j in 0..<H {
          var plus = base, minus = base
          plus.h[n, j] += 1e-2
          minus.h[n, j] -= 1e-2
          let d = (output(k: k, state: plus) - output(k: k, state: minus)) / 2e-2
          s += d * d
        }
        rowNorms[n] = s.squareRoot()
      }
      let expected = (rowNorms[0] + rowNorms[1]) / 2
      #expect(abs(norm - expected) <= 2e-3 * max(1, expected), "k = \(k): \(norm) vs \(expected)")
    }
    #expect(store.grads.allSatisfy { $0 == 0 })
  }

  @Test func probeStepsSpanTheSequence() {
    #expect(Demo.probeSteps(100) == [1, 10, 25, 50, 75, 100])
    #expect(Demo.probeSteps(4) == [1, 2, 3, 4])
  }

  @Test func rejectsBadFlags() {
    for args in [
      ["--cells", "transformer"], ["--cells", "lstm", "lstm"], ["--steps", "2"], ["--epochs", "0"], ["--samples", "1"],
      ["--lr", "-1"], ["--lr", "nan"], ["--units", "0"], ["--batch-size", "0"], ["--clip-norm", "-1"], ["--threads", "0"],
      ["--out", ""], ["--bogus"],
    ] {
      #expect(throws: (any Error).self, "\(args)") { try Demo.parse(args) }
      do {
        _ = try Demo.parse(args)
      } catch {
        #expect(Demo.exitCode(for: error) == .validationFailure, "\(args)")
      }
    }
  }

  @Test func verdictTableFormatsFigures() throws {
    let empty = Sequential<Float>([Dense(units: 1)])
    empty.compile(optimizer: SGD(learningRate: 0.1), loss: MeanSquaredError())
    let history = try empty.fit(Tensor(shape: [1, 1]), Tensor(shape: [1, 1]), epochs: 0, verbose: 0)
    let r = Demo.CellResult(
      kind: .lstm, parameters: 4641, validationMSE: 0.0021, seconds: 1, stateGradients: [(1, 0.05), (100, 1.6)],
      initialStateGradients: [(1, 1e-9), (100, 1.2)], history: history, model: empty)
    let table = Demo.verdictTable([r], steps: 100)
    #expect(table.contains("LSTM  4641"))
    #expect(table.contains("0.0021"))
    #expect(table.contains("yes"))
    #expect(table.contains("5.00e-02  1.60e+00  3.13e-02"))
  }
}
