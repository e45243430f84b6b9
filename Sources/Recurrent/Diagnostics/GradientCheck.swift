/// Checks backpropagation through time against central finite differences, in `Double`.
///
/// The loss is linear in everything the layers return, with fixed random weights R:
///
///     L = sum(y * R) + sum_l sum(h_T^l * Rh^l) + sum_l sum(c_T^l * Rc^l)
///
/// where y [B, T, H] is the last layer's output sequence and h_T^l, c_T^l each layer's final
/// state, so every path (outputs, final states, carried cell state) is exercised. The analytic
/// gradient from `backward` is compared with (L(θ + ε) - L(θ - ε)) / 2ε for every element of x,
/// every layer's h0 (and c0) and every weight and bias.
public struct GradientCheckReport: Sendable, CustomStringConvertible {
  public var cell: String
  public var layers: Int
  public var batch: Int
  public var steps: Int
  public var inputSize: Int
  public var hiddenSize: Int
  public var goBackwards: Bool
  /// Per-row sequence lengths when the batch was masked.
  public var lengths: [Int]?
  /// max over entries of |analytic - numeric| / max(|analytic|, |numeric|, floor).
  public var maxRelativeError: Double
  /// Where the maximum occurred, e.g. "layers.0.weight_hh[5]".
  public var worstEntry: String
  /// How many scalars were checked.
  public var checkedCount: Int
  /// The relative-error denominator's floor (entries smaller than it are compared absolutely).
  public var floor: Double

  /// Whether the largest error is below `tolerance`.
  public func passed(tolerance: Double = 1e-6) -> Bool { maxRelativeError < tolerance }

  public var shapeDescription: String {
    "B\(batch) T\(steps) I\(inputSize) H\(hiddenSize)" + (layers > 1 ? " x\(layers)" : "") + (goBackwards ? " rev" : "")
      + (lengths.map { " len" + $0.map(String.init).joined(separator: ",") } ?? "")
  }
  public var description: String {
    "\(cell) \(shapeDescription): max rel err \(maxRelativeError) at \(worstEntry) (\(checkedCount) checked)"
  }
}

public enum GradientCheck {
  /// Gradient-checks a stack of `layers` recurrent layers built from `cell` on random data drawn
  /// from `seed`: random weights (uniform ±0.5 so biases and states are non-zero), random
  /// non-zero initial states for every layer. `corruptAnalytic` adds a value to one analytic
  /// gradient entry (tests use it to prove the check can fail). `lengths` (one per batch row,
  /// each 0...steps) masks the padded steps of a variable-length batch. `recurrentDropout`
  /// draws one fixed variational dropout mask per layer.
  public static func run<Cell: RecurrentCell>(
    _ cell: Cell, batch: Int, steps: Int, inputSize: Int, hiddenSize: Int, layers: Int = 1,
    goBackwards: Bool = false, lengths: [Int]? = nil, recurrentDropout: Double = 0, seed: UInt64, epsilon: Double = 1e-5,
    floor: Double = 1e-2, corruptAnalytic: Double = 0
  ) -> GradientCheckReport {
    var rng = SeededGenerator(seed: seed)
    let store = ParameterStore<Double>()
    let init0 = RecurrentInitialization(
      inputWeights: .uniform(-0.5, 0.5), recurrentWeights: .uniform(-0.5, 0.5), bias: .uniform(-0.5, 0.5),
      forgetGateBias: nil)
    let stack = (0..<layers).map { l in
      RecurrentLayer<Cell, Double>(
        cell, inputSize: l == 0 ? inputSize : hiddenSize, hiddenSize: hiddenSize, goBackwards: goBackwards,
        store: store, name: "layers.\(l)", initialization: init0, generator: &rng)
    }
    let B = batch, T = steps, H = hiddenSize
    let mask: Tensor<Double>? = lengths.map { ls in
      precondition(ls.count == B && ls.allSatisfy { (0...T).contains($0) }, "GradientCheck: bad lengths \(ls)")
      var m = Tensor<Double>(shape: [B, T])
      for b in 0..<B { for t in 0..<ls[b] { m[b, t] = 1 } }
      return m
    }
    var x = Tensor<Double>(shape: [B, T, inputSize], uniformIn: -1...1, using: &rng)
    var states = (0..<layers).map { _ in
      RecurrentState(
        h: Tensor<Double>(shape: [B, H], uniformIn: -0.8...0.8, using: &rng),
        c: Cell.hasCellState ? Tensor<Double>(shape: [B, H], uniformIn: -0.8...0.8, using: &rng) : nil)
    }
    let R = Tensor<Double>(shape: [B, T, H], uniformIn: -1...1, using: &rng)
    let dropMasks: [Tensor<Double>?] = (0..<layers).map { _ in
      guard recurrentDropout > 0 else { return nil }
      var m = Tensor<Double>(shape: [B, H])
      for k in 0..<m.count { m.scalars[k] = rng.nextUnit() < recurrentDropout ? 0 : 1 / (1 - recurrentDropout) }
      return m
    }
    let Rs = (0..<layers).map { _ in
      RecurrentState(
        h: Tensor<Double>(shape: [B, H], uniformIn: -1...1, using: &rng),
        c: Cell.hasCellState ? Tensor<Double>(shape: [B, H], uniformIn: -1...1, using: &rng) : nil)
    }

    func dot(_ a: Tensor<Double>, _ b: Tensor<Double>) -> Double {
      zip(a.scalars, b.scalars).reduce(0) { $0 + $1.0 * $1.1 }
    }
    func loss() -> Double {
      var input = x, total = 0.0
      for (l, layer) in stack.enumerated() {
        let out = layer.forward(input, initialState: states[l], mask: mask, recurrentDropoutMask: dropMasks[l])
        total += dot(out.finalState.h, Rs[l].h)
        if let c = out.finalState.c, let rc = Rs[l].c { total += dot(c, rc) }
        input = out.sequence
      }
      return total + dot(input, R)
    }

    // Analytic gradients.
    _ = loss()
    store.zeroGradients()
    var dSeq: Tensor<Double>? = R
    var dStates = [RecurrentState<Double>]()
    for l in stride(from: layers - 1, through: 0, by: -1) {
      let g = stack[l].backward(sequenceGradient: dSeq, finalStateGradient: Rs[l])
      dSeq = g.input
      dStates.insert(g.initialState, at: 0)
    }
    let dx = dSeq!

    var worst = 0.0, worstName = "-", checked = 0
    func compare(_ analytic: Double, _ numeric: Double, _ name: String) {
      let err = abs(analytic - numeric) / max(abs(analytic), abs(numeric), floor)
      checked += 1
      if err > worst || err.isNaN { worst = err.isNaN ? .infinity : err; worstName = name }
    }
    func numeric(_ perturb: (Double) -> Void) -> Double {
      perturb(epsilon)
      let plus = loss()
      perturb(-2 * epsilon)
      let minus = loss()
      perturb(epsilon)
      return (plus - minus) / (2 * epsilon)
    }

    for i in 0..<x.count {
      let n = numeric { x.scalars[i] += $0 }
      compare(dx.scalars[i] + (i == 0 ? corruptAnalytic : 0), n, "x[\(i)]")
    }
    for l in 0..<layers {
      for i in 0..<(B * H) {
        let n = numeric { states[l].h.scalars[i] += $0 }
        compare(dStates[l].h.scalars[i], n, "layers.\(l).h0[\(i)]")
        if Cell.hasCellState {
          let nc = numeric { states[l].c!.scalars[i] += $0 }
          compare(dStates[l].c!.scalars[i], nc, "layers.\(l).c0[\(i)]")
        }
      }
    }
    for p in store.parameters {
      for i in 0..<p.count {
        let n = numeric { store.params[p.offset + i] += $0 }
        compare(store.grads[p.offset + i], n, "\(p.name)[\(i)]")
      }
    }
    return GradientCheckReport(
      cell: cell.kindName, layers: layers, batch: B, steps: T, inputSize: inputSize, hiddenSize: H,
      goBackwards: goBackwards, lengths: lengths, maxRelativeError: worst, worstEntry: worstName, checkedCount: checked, floor: floor)
  }
}
