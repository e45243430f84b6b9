import ArgumentParser
import Recurrent

/// `rnn gradcheck`: backpropagation through time against central finite differences, in Double.
struct Gradcheck: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Check BPTT gradients of every cell against finite differences (Double).",
    discussion: """
      For each cell kind, builds layers on random shapes (batch, steps, input and hidden sizes
      drawn from --seed) with random weights and non-zero initial states, and compares the
      analytic gradient of L = sum(y*R) + sum(h_T*Rh) + sum(c_T*Rc) with central differences for
      every input, initial state, weight and bias. Exits 1 if any error reaches --tolerance.
      """)

  @Option(name: .long, parsing: .upToNextOption, help: "Cells to check: rnn, rnn_relu, lstm, gru.")
  var cells: [String] = ["rnn", "rnn_relu", "lstm", "gru"]

  @Option(name: .long, help: "Random shapes per cell.")
  var trials: Int = 6

  @Option(name: .long, help: "Largest batch/step/input/hidden size drawn.")
  var maxSize: Int = 6

  @Option(name: .long, help: "Seed for shapes and values.")
  var seed: UInt64 = 1

  @Option(name: .long, help: "Largest relative error that passes.")
  var tolerance: Double = 1e-6

  @OptionGroup var compute: ComputeOptions

  static let knownCells = ["rnn", "rnn_relu", "lstm", "gru"]

  func validate() throws {
    for c in cells where !Self.knownCells.contains(c) {
      throw ValidationError("unknown cell '\(c)'; expected one of \(Self.knownCells.joined(separator: ", "))")
    }
    guard (1...1000).contains(trials) else { throw ValidationError("--trials must be 1...1000, got \(trials)") }
    guard (1...32).contains(maxSize) else { throw ValidationError("--max-size must be 1...32, got \(maxSize)") }
    guard tolerance > 0 else { throw ValidationError("--tolerance must be positive") }
  }

  /// Runs every check and returns the reports (one per cell and shape), in order.
  func reports() -> [GradientCheckReport] {
    var rng = SeededGenerator(seed: seed)
    var out = [GradientCheckReport]()
    for kind in cells {
      for trial in 0..<trials {
        let b = Int.random(in: 1...min(4, maxSize), using: &rng), t = Int.random(in: 1...min(8, maxSize + 2), using: &rng)
        let i = Int.random(in: 1...maxSize, using: &rng), h = Int.random(in: 1...maxSize, using: &rng)
        // Every third shape: two stacked layers; every fourth: processed backwards.
        let layers = trial % 3 == 2 ? 2 : 1, back = trial % 4 == 3
        let s = seed &* 1000 &+ UInt64(trial)
        let r: GradientCheckReport
        switch kind {
        case "rnn": r = GradientCheck.run(SimpleRNNCell(), batch: b, steps: t, inputSize: i, hiddenSize: h, layers: layers, goBackwards: back, seed: s)
        case "rnn_relu": r = GradientCheck.run(SimpleRNNCell(activation: .relu), batch: b, steps: t, inputSize: i, hiddenSize: h, layers: layers, goBackwards: back, seed: s)
        case "lstm": r = GradientCheck.run(LSTMCell(), batch: b, steps: t, inputSize: i, hiddenSize: h, layers: layers, goBackwards: back, seed: s)
        default: r = GradientCheck.run(GRUCell(), batch: b, steps: t, inputSize: i, hiddenSize: h, layers: layers, goBackwards: back, seed: s)
        }
        out.append(r)
      }
    }
    return out
  }

  /// The table printed for `reports`.
  static func table(_ reports: [GradientCheckReport], tolerance: Double) -> String {
    var rows = [["cell", "shape", "checked", "max rel error", "worst entry", "verdict"]]
    for r in reports {
      rows.append([
        r.cell, r.shapeDescription, "\(r.checkedCount)", formatScientific(r.maxRelativeError), r.worstEntry,
        r.passed(tolerance: tolerance) ? "ok" : "FAIL",
      ])
    }
    return TextTable.render(rows)
  }

  func run() throws {
    compute.apply()
    let all = reports()
    print(Self.table(all, tolerance: tolerance))
    let failed = all.filter { !$0.passed(tolerance: tolerance) }
    let worst = all.map(\.maxRelativeError).max() ?? 0
    print("")
    print(
      "\(all.count - failed.count) passed, \(failed.count) failed: max relative error \(formatScientific(worst)) "
        + "(tolerance \(formatScientific(tolerance)), floor 1e-2, central differences eps 1e-5, Double)")
    if !failed.isEmpty { throw ExitCode(1) }
  }
}
