import ArgumentParser
import Recurrent

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `rnn bench`: the speed of the recurrent layers and the GEMM, on the same workload as the
/// reference scripts (PyTorch, TensorFlow, onnxruntime) so the numbers can be put side by side.
struct Bench: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Time forward and training passes of the recurrent layers, the GEMM, or streaming steps.",
    discussion: """
      Workload (same as the reference scripts): one layer, batch-first input [B, T, I],
      return_sequences, loss = sum(y*y) so dY = 2y; "train" = forward + backward with every
      gradient (no optimizer step). Configs S (B32 T64 I64 H128), M (B64 T100 I128 H256),
      L (B64 T100 I512 H512). Each figure is the median of --runs runs after --warmup runs.
      Outputs and gradients of the timed Float path are checked against the Double engine
      before timing.
      """,
    subcommands: [BenchLayers.self, BenchGEMM.self, BenchStream.self, BenchDiagnostics.self],
    defaultSubcommand: BenchLayers.self)
}

/// One benchmark shape: name, batch, steps, input size, hidden size.
struct BenchConfig: Sendable, Equatable {
  var name: String
  var batch: Int
  var steps: Int
  var input: Int
  var hidden: Int

  static let all = [
    BenchConfig(name: "S", batch: 32, steps: 64, input: 64, hidden: 128),
    BenchConfig(name: "M", batch: 64, steps: 100, input: 128, hidden: 256),
    BenchConfig(name: "L", batch: 64, steps: 100, input: 512, hidden: 512),
  ]

  static func named(_ name: String) -> BenchConfig? { all.first { $0.name == name } }
}

/// Options shared by the bench subcommands.
struct BenchOptions: ParsableArguments {
  @Flag(name: .long, help: "Print one JSON object per line instead of a table.")
  var json = false

  @Option(name: .long, help: "Timed runs per figure (the median is reported; 0 = 5 for L, 10 otherwise).")
  var runs: Int = 0

  @Option(name: .long, help: "Untimed warm-up runs before timing.")
  var warmup: Int = 2

  @Option(name: .long, help: "Threads the kernels may use.")
  var threads: Int = 2

  func validate() throws {
    guard (0...1000).contains(runs) else { throw ValidationError("--runs must be 0...1000, got \(runs)") }
    guard (0...100).contains(warmup) else { throw ValidationError("--warmup must be 0...100, got \(warmup)") }
    guard (1...256).contains(threads) else { throw ValidationError("--threads must be 1...256, got \(threads)") }
  }

  func runs(default d: Int) -> Int { runs > 0 ? runs : d }
}

// MARK: - Timing

/// Median wall time of `body` in milliseconds over `runs` runs after `warmup` untimed ones.
func medianMilliseconds(runs: Int, warmup: Int, _ body: () -> Void) -> Double {
  medianAndFastestMilliseconds(runs: runs, warmup: warmup, body).median
}

/// Median and fastest wall time of `body` in milliseconds over `runs` runs after `warmup`
/// untimed ones.
func medianAndFastestMilliseconds(runs: Int, warmup: Int, _ body: () -> Void) -> (median: Double, fastest: Double) {
  for _ in 0..<warmup { body() }
  let clock = ContinuousClock()
  var times = [Double]()
  times.reserveCapacity(runs)
  for _ in 0..<max(1, runs) {
    let d = clock.measure { body() }
    times.append(Double(d.components.seconds) * 1e3 + Double(d.components.attoseconds) * 1e-15)
  }
  times.sort()
  let n = times.count
  return (n % 2 == 1 ? times[n / 2] : (times[n / 2 - 1] + times[n / 2]) / 2, times[0])
}

/// `x` with `digits` decimals, no Foundation.
func formatFixed(_ x: Double, digits: Int = 2) -> String {
  guard x.isFinite else { return "\(x)" }
  var scale = 1.0
  for _ in 0..<digits { scale *= 10 }
  let r = (abs(x) * scale).rounded()
  let whole = Int(r / scale), frac = Int(r - Double(whole) * scale)
  var f = String(frac)
  while f.count < digits { f = "0" + f }
  return (x < 0 && r != 0 ? "-" : "") + String(whole) + (digits > 0 ? "." + f : "")
}

// MARK: - Layers

/// One layer benchmark: a Float `RecurrentLayer` with Keras-initialised weights on a fixed input.
final class LayerBenchmark<Cell: RecurrentCell> {
  let layer: RecurrentLayer<Cell, Float>
  let x: Tensor<Float>

  init(_ cell: Cell, _ c: BenchConfig, seed: UInt64 = 7) {
    var g = SeededGenerator(seed: seed)
    layer = RecurrentLayer<Cell, Float>(cell, inputSize: c.input, hiddenSize: c.hidden, generator: &g)
    x = Tensor(shape: [c.batch, c.steps, c.input], uniformIn: -1...1, using: &g)
  }

  /// Inference: y = layer(x).
  func forward() {
    _ = layer.forward(x)
  }

  /// Training step without the optimizer: zero grads, y = layer(x), L = sum(y*y), backward with
  /// dY = 2y into every parameter gradient. `inputGradient` also computes dL/dx, which the
  /// reference scripts do not (x has requires_grad=False in ref_torch.py; ref_tf.py asks for
  /// the trainable variables only).
  func train(inputGradient: Bool = false) {
    layer.store.zeroGradients()
    var y = layer.forward(x).sequence
    y.withUnsafeMutableBufferPointer { p in for k in p.indices { p[k] *= 2 } }  // dL/dy = 2y
    _ = layer.backward(sequenceGradient: y, inputGradient: inputGradient)
  }
}

/// The result of checking the timed Float path against the Double engine on one shape.
struct BenchValidation {
  var kind: String
  var shape: String
  /// max |float - double| / max(1, max |double|) over outputs and every gradient, per array.
  var maxError: Double
  var passed: Bool { maxError <= BenchValidation.tolerance }
  static let tolerance = 2e-4
}

/// Runs `cell` on one shape in Float (the timed path) and Double (the reference path) with the
/// same weights, input, initial state and dY = 2y, and compares the sequence, the final state,
/// dX, d(initial state) and every parameter gradient.
func validateCell<Cell: RecurrentCell>(
  _ cell: Cell, batch B: Int, steps T: Int, input I: Int, hidden H: Int, seed: UInt64
) -> BenchValidation {
  var g = SeededGenerator(seed: seed)
  let f = RecurrentLayer<Cell, Float>(cell, inputSize: I, hiddenSize: H, generator: &g)
  let d = RecurrentLayer<Cell, Double>(cell, inputSize: I, hiddenSize: H, generator: &g)
  // Perturb the biases too, so every term is exercised, then copy the weights Float -> Double.
  for k in f.store.params.indices { f.store.params[k] += Float(0.1 * (g.nextUnit() - 0.5)) }
  for k in f.store.params.indices { d.store.params[k] = Double(f.store.params[k]) }
  let x = Tensor<Double>(shape: [B, T, I], uniformIn: -1...1, using: &g)
  let h0 = Tensor<Double>(shape: [B, H], uniformIn: -0.5...0.5, using: &g)
  let c0 = Tensor<Double>(shape: [B, H], uniformIn: -0.5...0.5, using: &g)
  let sd = RecurrentState(h: h0, c: Cell.hasCellState ? c0 : nil)
  let sf = RecurrentState(h: h0.converted(to: Float.self), c: sd.c?.converted(to: Float.self))
  let of = f.forward(x.converted(to: Float.self), initialState: sf)
  let od = d.forward(x, initialState: sd)
  var dyf = of.sequence, dyd = od.sequence
  dyf.withUnsafeMutableBufferPointer { p in for k in p.indices { p[k] *= 2 } }
  dyd.withUnsafeMutableBufferPointer { p in for k in p.indices { p[k] *= 2 } }
  let gf = f.backward(sequenceGradient: dyf), gd = d.backward(sequenceGradient: dyd)

  func err(_ a: [Float], _ b: [Double]) -> Double {
    precondition(a.count == b.count)
    var scale = 1.0, e = 0.0
    for v in b { scale = max(scale, abs(v)) }
    for k in a.indices { e = max(e, abs(Double(a[k]) - b[k])) }
    return e.isNaN ? .infinity : e / scale
  }
  var e = err(of.sequence.scalars, od.sequence.scalars)
  e = max(e, err(of.finalState.h.scalars, od.finalState.h.scalars))
  if let cf = of.finalState.c, let cd = od.finalState.c { e = max(e, err(cf.scalars, cd.scalars)) }
  e = max(e, err(gf.input.scalars, gd.input.scalars))
  e = max(e, err(gf.initialState.h.scalars, gd.initialState.h.scalars))
  if let cf = gf.initialState.c, let cd = gd.initialState.c { e = max(e, err(cf.scalars, cd.scalars)) }
  for p in f.store.parameters {
    e = max(e, err(Array(f.store.grads[p.range]), Array(d.store.grads[p.range])))
  }
  return BenchValidation(kind: cell.kindName, shape: "B\(B) T\(T) I\(I) H\(H)", maxError: e)
}

/// `validateCell` for a kind name.
func validateKind(_ kind: String, batch: Int, steps: Int, input: Int, hidden: Int, seed: UInt64) -> BenchValidation {
  switch kind {
  case "lstm": return validateCell(LSTMCell(), batch: batch, steps: steps, input: input, hidden: hidden, seed: seed)
  case "gru": return validateCell(GRUCell(), batch: batch, steps: steps, input: input, hidden: hidden, seed: seed)
  default: return validateCell(SimpleRNNCell(), batch: batch, steps: steps, input: input, hidden: hidden, seed: seed)
  }
}

/// `rnn bench` (the default): forward and training times per cell and config.
struct BenchLayers: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "layers",
    abstract: "Forward and training (forward + backward) times of one recurrent layer (default).")

  static let knownKinds = ["lstm", "gru", "rnn"]

  @Option(name: .long, parsing: .upToNextOption, help: "Cells: lstm, gru, rnn.")
  var kinds: [String] = ["lstm", "gru", "rnn"]

  @Option(name: .long, parsing: .upToNextOption, help: "Configs: S, M, L.")
  var configs: [String] = ["S", "M", "L"]

  @Flag(name: .long, help: "Skip the Float-vs-Double check before timing.")
  var noValidate = false

  @OptionGroup var options: BenchOptions

  func validate() throws {
    for k in kinds where !Self.knownKinds.contains(k) {
      throw ValidationError("unknown kind '\(k)'; expected one of \(Self.knownKinds.joined(separator: ", "))")
    }
    for c in configs where BenchConfig.named(c) == nil {
      throw ValidationError("unknown config '\(c)'; expected one of S, M, L")
    }
  }

  /// Float vs Double on a small odd shape and, per config, on its real B, I, H with 3 steps.
  func validations() -> [BenchValidation] {
    var out = [BenchValidation]()
    for (n, kind) in kinds.enumerated() {
      out.append(validateKind(kind, batch: 3, steps: 5, input: 7, hidden: 13, seed: 11 + UInt64(n)))
      for c in configs.compactMap(BenchConfig.named) {
        out.append(validateKind(kind, batch: c.batch, steps: 3, input: c.input, hidden: c.hidden, seed: 21 + UInt64(n)))
      }
    }
    return out
  }

  /// The median forward and train times of one kind and config, and (`withInputGradient`) the
  /// train time when dL/dx is computed too.
  func measure(kind: String, config c: BenchConfig, withInputGradient: Bool = false)
    -> (fwd: Double, train: Double, trainWithInputGradient: Double?)
  {
    func run<Cell: RecurrentCell>(_ cell: Cell) -> (Double, Double, Double?) {
      let b = LayerBenchmark(cell, c)
      let n = options.runs(default: c.name == "L" ? 5 : 10)
      let f = medianMilliseconds(runs: n, warmup: options.warmup) { b.forward() }
      let t = medianMilliseconds(runs: n, warmup: options.warmup) { b.train() }
      let tx = withInputGradient
        ? medianMilliseconds(runs: n, warmup: options.warmup) { b.train(inputGradient: true) } : nil
      return (f, t, tx)
    }
    switch kind {
    case "lstm": return run(LSTMCell())
    case "gru": return run(GRUCell())
    default: return run(SimpleRNNCell())
    }
  }

  static func jsonLine(kind: String, cfg: String, fwd: Double, train: Double) -> String {
    "{\"kind\": \"\(kind)\", \"cfg\": \"\(cfg)\", \"fwd_ms\": \(formatFixed(fwd)), \"train_ms\": \(formatFixed(train))}"
  }

  func run() throws {
    ComputeSettings.threadCount = options.threads
    if !noValidate {
      let v = validations()
      let worst = v.map(\.maxError).max() ?? 0
      for r in v where !r.passed {
        printError("validation FAILED: \(r.kind) \(r.shape): max error \(formatScientific(r.maxError))")
      }
      guard v.allSatisfy(\.passed) else { throw ExitCode(1) }
      printError(
        "validated \(v.count) shapes (Float vs Double engine, outputs and all gradients): max error "
          + "\(formatScientific(worst)) <= \(formatScientific(BenchValidation.tolerance))")
    }
    var rows = [
      ["kind", "cfg", "B", "T", "I", "H", "fwd ms", "train ms", "train+dx ms", "fwd GFLOP/s", "train GFLOP/s"]
    ]
    for kind in kinds {
      for c in configs.compactMap(BenchConfig.named) {
        let (f, t, tx) = measure(kind: kind, config: c, withInputGradient: !options.json)
        if options.json {
          print(Self.jsonLine(kind: kind, cfg: c.name, fwd: f, train: t))
        } else {
          let g = Double(kind == "lstm" ? 4 : kind == "gru" ? 3 : 1)
          let flops = 2 * Double(c.batch * c.steps) * g * Double(c.hidden * (c.input + c.hidden))
          // train without dx: forward, the per-step dh GEMMs and both weight gradients (3x the
          // forward FLOPs less the input projection's share, which dX would add back).
          let trainFlops = 3 * flops - 2 * Double(c.batch * c.steps) * g * Double(c.hidden * c.input)
          rows.append([
            kind, c.name, "\(c.batch)", "\(c.steps)", "\(c.input)", "\(c.hidden)", formatFixed(f), formatFixed(t),
            tx.map { formatFixed($0) } ?? "-", formatFixed(flops / f / 1e6, digits: 1),
            formatFixed(trainFlops / t / 1e6, digits: 1),
          ])
        }
      }
    }
    if !options.json {
      print(TextTable.render(rows))
      print("")
      print(
        "threads \(ComputeSettings.threadCount), \(ComputeSettings.activeInstructionSet); train = every parameter "
          + "gradient (as the reference scripts), train+dx adds dL/dx; peak RSS \(peakResidentMegabytes()) MB")
    }
  }
}

/// The process's peak resident set size in MB (getrusage).
func peakResidentMegabytes() -> Int {
  #if canImport(Glibc)
  var u = rusage()
  getrusage(RUSAGE_SELF.rawValue, &u)
  return u.ru_maxrss / 1024  // KiB on Linux
  #else
  return 0
  #endif
}

/// Writes `s` to standard error.
func printError(_ s: String) {
  var e = StandardError()
  print(s, to: &e)
}

struct StandardError: TextOutputStream {
  mutating func write(_ string: String) {
    #if canImport(Glibc) || canImport(Darwin)
    var s = string
    s.withUTF8 { p in _ = writeStandardError(p) }
    #endif
  }
}

#if canImport(Glibc) || canImport(Darwin)
/// write(2) to file descriptor 2.
private func writeStandardError(_ p: UnsafeBufferPointer<UInt8>) -> Int {
  guard let base = p.baseAddress else { return 0 }
  return write(2, base, p.count)
}
#endif

// MARK: - GEMM

/// `rnn bench gemm`: GFLOP/s of sgemm on square sizes and on the recurrent layers' shapes.
struct BenchGEMM: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "gemm",
    abstract: "GFLOP/s of the Float GEMM: square 256...2048 and the shapes the recurrent layers use.")

  @OptionGroup var options: BenchOptions

  struct Shape {
    var name: String
    var transA: Bool
    var transB: Bool
    var m: Int, n: Int, k: Int
  }

  /// Square sizes, then for each config and cell the per-step and the hoisted GEMMs.
  static func shapes() -> [Shape] {
    var s = [256, 512, 1024, 2048].map { Shape(name: "square \($0)", transA: false, transB: false, m: $0, n: $0, k: $0) }
    for c in BenchConfig.all {
      for (kind, g) in [("lstm", 4), ("gru", 3), ("rnn", 1)] {
        let B = c.batch, H = c.hidden, I = c.input, G = g * H, TB = c.steps * c.batch
        s.append(Shape(name: "\(kind) \(c.name) step fwd h.Whh^T", transA: false, transB: true, m: B, n: G, k: H))
        s.append(Shape(name: "\(kind) \(c.name) step bwd dG.Whh", transA: false, transB: false, m: B, n: H, k: G))
        s.append(Shape(name: "\(kind) \(c.name) input X.Wih^T", transA: false, transB: true, m: TB, n: G, k: I))
        s.append(Shape(name: "\(kind) \(c.name) dWhh dG^T.H", transA: true, transB: false, m: G, n: H, k: TB))
        s.append(Shape(name: "\(kind) \(c.name) dX dG.Wih", transA: false, transB: false, m: TB, n: I, k: G))
      }
    }
    return s
  }

  func run() throws {
    ComputeSettings.threadCount = options.threads
    var rows = [["shape", "trans", "M", "N", "K", "ms", "GFLOP/s", "best GFLOP/s"]]
    var g = SeededGenerator(seed: 3)
    for s in Self.shapes() {
      let a = Tensor<Float>(shape: [s.m * s.k], uniformIn: -1...1, using: &g)
      let b = Tensor<Float>(shape: [s.k * s.n], uniformIn: -1...1, using: &g)
      var c = Tensor<Float>(shape: [s.m * s.n])
      let flops = 2 * Double(s.m) * Double(s.n) * Double(s.k)
      // Enough repetitions per timed run to last ~20 ms at ~100 GFLOP/s.
      let reps = max(1, Int(2e9 / flops))
      let t = a.withUnsafeBufferPointer { ap in
        b.withUnsafeBufferPointer { bp in
          c.withUnsafeMutableBufferPointer { cp in
            medianAndFastestMilliseconds(runs: options.runs(default: 7), warmup: options.warmup) {
              for _ in 0..<reps {
                Float.gemm(
                  transA: s.transA, transB: s.transB, m: s.m, n: s.n, k: s.k, alpha: 1,
                  a: ap.baseAddress!, lda: s.transA ? s.m : s.k, b: bp.baseAddress!, ldb: s.transB ? s.k : s.n,
                  beta: 0, c: cp.baseAddress!, ldc: s.n)
              }
            }
          }
        }
      }
      let ms = t.median / Double(reps)
      let gflops = flops / ms / 1e6, best = flops / (t.fastest / Double(reps)) / 1e6
      let trans = (s.transA ? "T" : "N") + (s.transB ? "T" : "N")
      if options.json {
        // gflops: at the median run; gflops_best: at the fastest (peak_gemm.py's statistic).
        print(
          "{\"gemm\": \"\(s.name)\", \"trans\": \"\(trans)\", \"m\": \(s.m), \"n\": \(s.n), \"k\": \(s.k), "
            + "\"ms\": \(formatFixed(ms, digits: 4)), \"gflops\": \(formatFixed(gflops, digits: 1)), "
            + "\"gflops_best\": \(formatFixed(best, digits: 1))}")
      } else {
        rows.append([
          s.name, trans, "\(s.m)", "\(s.n)", "\(s.k)", formatFixed(ms, digits: 4), formatFixed(gflops, digits: 1),
          formatFixed(best, digits: 1),
        ])
      }
    }
    if !options.json {
      print(TextTable.render(rows))
      print("")
      print("threads \(ComputeSettings.threadCount), \(ComputeSettings.activeInstructionSet)")
    }
  }
}

// MARK: - Streaming

/// `rnn bench stream`: one step at a time at batch 1, carrying the state, as a streaming
/// inference loop would (each call is a full `forward` on [1, 1, H] from the previous state).
struct BenchStream: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "stream",
    abstract: "Per-step latency of streaming inference: batch 1, one step per call, input size = hidden size.")

  @Option(name: .long, parsing: .upToNextOption, help: "Cells: lstm, gru, rnn.")
  var kinds: [String] = ["lstm", "gru", "rnn"]

  @Option(name: .long, parsing: .upToNextOption, help: "Hidden sizes (input size = hidden size).")
  var hidden: [Int] = [256, 1024]

  @Option(name: .long, help: "Steps per timed run.")
  var steps: Int = 100

  @OptionGroup var options: BenchOptions

  func validate() throws {
    for k in kinds where !BenchLayers.knownKinds.contains(k) {
      throw ValidationError("unknown kind '\(k)'; expected one of \(BenchLayers.knownKinds.joined(separator: ", "))")
    }
    guard hidden.allSatisfy({ (1...8192).contains($0) }) else { throw ValidationError("--hidden must be 1...8192") }
    guard (1...100_000).contains(steps) else { throw ValidationError("--steps must be 1...100000") }
  }

  /// Median microseconds per step.
  func measure<Cell: RecurrentCell>(_ cell: Cell, hidden H: Int) -> Double {
    var g = SeededGenerator(seed: 5)
    let layer = RecurrentLayer<Cell, Float>(cell, inputSize: H, hiddenSize: H, generator: &g)
    let xs = (0..<steps).map { _ in Tensor<Float>(shape: [1, 1, H], uniformIn: -1...1, using: &g) }
    let ms = medianMilliseconds(runs: options.runs(default: 7), warmup: options.warmup) {
      var state: RecurrentState<Float>? = nil
      for x in xs { state = layer.forward(x, initialState: state).finalState }
    }
    return ms * 1e3 / Double(steps)
  }

  func run() throws {
    ComputeSettings.threadCount = options.threads
    var rows = [["kind", "B", "I", "H", "us/step"]]
    for kind in kinds {
      for H in hidden {
        let us: Double
        switch kind {
        case "lstm": us = measure(LSTMCell(), hidden: H)
        case "gru": us = measure(GRUCell(), hidden: H)
        default: us = measure(SimpleRNNCell(), hidden: H)
        }
        if options.json {
          print("{\"kind\": \"\(kind)\", \"cfg\": \"stream-H\(H)\", \"step_us\": \(formatFixed(us))}")
        } else {
          rows.append([kind, "1", "\(H)", "\(H)", formatFixed(us)])
        }
      }
    }
    if !options.json {
      print(TextTable.render(rows))
      print("")
      print("threads \(ComputeSettings.threadCount), \(ComputeSettings.activeInstructionSet); each step is one forward call from the previous state")
    }
  }
}
