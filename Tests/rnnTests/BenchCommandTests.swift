import Recurrent
import Testing

@testable import rnn

@Suite struct BenchCommandTests {
  @Test func defaultsToEveryKindAndConfigAndParsesSelections() throws {
    let all = try BenchLayers.parse([])
    #expect(all.kinds == ["lstm", "gru", "rnn"])
    #expect(all.configs == ["S", "M", "L"])
    #expect(all.options.threads == 2 && all.options.warmup == 2 && !all.options.json)
    #expect(all.options.runs(default: 5) == 5)
    let some = try BenchLayers.parse(["--kinds", "lstm", "gru", "--configs", "S", "M", "--json", "--runs", "7"])
    #expect(some.kinds == ["lstm", "gru"] && some.configs == ["S", "M"] && some.options.json)
    #expect(some.options.runs(default: 5) == 7)
    // `rnn bench` with no subcommand name runs the layer benchmark.
    #expect(Bench.configuration.defaultSubcommand == BenchLayers.self)
    let parsed = try Bench.parseAsRoot(["--kinds", "rnn", "--configs", "S"])
    #expect((parsed as? BenchLayers)?.kinds == ["rnn"])
    #expect(try Bench.parseAsRoot(["gemm", "--json"]) is BenchGEMM)
    #expect(try Bench.parseAsRoot(["stream", "--hidden", "256"]) is BenchStream)
  }

  @Test func rejectsBadOptions() {
    #expect(throws: (any Error).self) { try BenchLayers.parse(["--kinds", "transformer"]) }
    #expect(throws: (any Error).self) { try BenchLayers.parse(["--configs", "XL"]) }
    #expect(throws: (any Error).self) { try BenchLayers.parse(["--threads", "0"]) }
    #expect(throws: (any Error).self) { try BenchLayers.parse(["--runs", "-1"]) }
    #expect(throws: (any Error).self) { try BenchStream.parse(["--hidden", "0"]) }
  }

  @Test func configsMatchTheReferenceScripts() {
    #expect(BenchConfig.all.map(\.name) == ["S", "M", "L"])
    #expect(BenchConfig.named("S") == BenchConfig(name: "S", batch: 32, steps: 64, input: 64, hidden: 128))
    #expect(BenchConfig.named("M") == BenchConfig(name: "M", batch: 64, steps: 100, input: 128, hidden: 256))
    #expect(BenchConfig.named("L") == BenchConfig(name: "L", batch: 64, steps: 100, input: 512, hidden: 512))
  }

  @Test func jsonLinesHaveTheReferenceKeys() {
    #expect(
      BenchLayers.jsonLine(kind: "lstm", cfg: "L", fwd: 190.1, train: 590.4)
        == #"{"kind": "lstm", "cfg": "L", "fwd_ms": 190.10, "train_ms": 590.40}"#)
    #expect(formatFixed(3.14159) == "3.14")
    #expect(formatFixed(0.005, digits: 2) == "0.01")
    #expect(formatFixed(-2.5, digits: 1) == "-2.5")
    #expect(formatFixed(12, digits: 0) == "12")
  }

  @Test func validationComparesFloatWithDoubleAndPasses() throws {
    let cmd = try BenchLayers.parse(["--configs", "S"])
    let v = cmd.validations()
    #expect(v.count == 6)  // per kind: one odd shape, one per config
    #expect(Set(v.map(\.kind)) == ["lstm", "gru", "rnn"])
    for r in v { #expect(r.passed, "\(r.kind) \(r.shape): \(r.maxError)") }
  }

  @Test func timesATinyWorkload() {
    let c = BenchConfig(name: "tiny", batch: 2, steps: 3, input: 4, hidden: 5)
    let b = LayerBenchmark(LSTMCell(), c)
    b.train()
    let before = b.layer.store.grads
    b.train()  // gradients are zeroed each run: the same values again
    #expect(b.layer.store.grads == before)
    let ms = medianMilliseconds(runs: 3, warmup: 1) { b.forward() }
    #expect(ms > 0 && ms.isFinite)
  }

  @Test func gemmShapesCoverSquaresAndTheRecurrentSteps() {
    let s = BenchGEMM.shapes()
    #expect(s.prefix(4).map(\.m) == [256, 512, 1024, 2048])
    #expect(s.contains { $0.name == "lstm L step fwd h.Whh^T" && $0.m == 64 && $0.n == 2048 && $0.k == 512 && $0.transB })
    #expect(s.contains { $0.name == "gru M step bwd dG.Whh" && $0.m == 64 && $0.n == 256 && $0.k == 768 })
  }

  @Test func streamingMeasuresAPerStepLatency() throws {
    let cmd = try BenchStream.parse(["--kinds", "gru", "--hidden", "8", "--steps", "3", "--runs", "1", "--warmup", "0"])
    let us = cmd.measure(GRUCell(), hidden: 8)
    #expect(us > 0 && us.isFinite)
  }
}
