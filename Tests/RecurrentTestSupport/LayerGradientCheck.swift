import Recurrent

/// Checks a layer's hand-written backward pass against central finite differences, in `Double`.
///
/// What it does, for any `Layer<Double>`:
///
/// 1. builds `layer` in a fresh `ParameterStore<Double>` (name "layer", generator seeded with
///    `seed`) for `inputShape` without its first (batch) axis, then adds U(-0.5, 0.5) to every
///    parameter so zero-initialised biases, unit LayerNorm gains etc. are generic;
/// 2. draws the input x: U(-1, 1), or integer ids U{indices} when `inputIndices` is set (then
///    the input is not differentiated), or takes `input` as given;
/// 3. runs `forward` once to learn the output shape (it must equal what `build` returned, with
///    the batch axis in front) and draws R ~ U(-1, 1) of that shape; the loss is
///
///        L(x, θ) = sum(forward(x) * R)
///
///    so backward(R) is exactly dL/dx and the gradients it accumulates are dL/dθ;
/// 4. compares, for every input element (unless ids) and every parameter element, the analytic
///    gradient a with the numeric n = (L(+ε) - L(-ε)) / 2ε by |a - n| / max(|a|, |n|, floor);
/// 5. checks that backward *accumulates*: a second forward + backward must double every
///    parameter gradient (reported as "accumulation: <param>[i]").
///
/// Every forward runs with a fresh `LayerContext(training: training, seed: seed, mask: mask)`,
/// so a dropout layer draws the same mask each time and the loss is a fixed function.
///
/// - Parameters:
///   - layer: an unbuilt layer in `Double`, e.g. `DenseLayer<Double>(units: 3)`.
///   - inputShape: the input shape *with* the batch axis, e.g. [2, 5, 3].
///   - seed: fixes the parameters, the input, R and the context's generator.
///   - training: the context's mode (dropout active when true).
///   - mask: the context's [B, T] mask (1 real step, 0 padding), or nil.
///   - inputIndices: when set, the input holds integer ids drawn from this range (as for
///     `Embedding`) and input gradients are not checked.
///   - input: an explicit input (overrides the random draw; must have `inputShape`).
///   - epsilon: the finite-difference step (1e-5).
///   - floor: the relative error's denominator floor (1e-2): smaller entries compare absolutely.
/// - Returns: the largest relative error and where it occurred, e.g. "input[3]" or
///   "layer.weight[5]". A setup failure (build throws, output shape differs from build's)
///   returns `.infinity` with the reason in `worst`.
public func checkLayerGradients<L: Layer>(
  _ layer: L, inputShape: [Int], seed: UInt64, training: Bool = false, mask: Tensor<Double>? = nil,
  inputIndices: Range<Int>? = nil, input: Tensor<Double>? = nil, epsilon: Double = 1e-5, floor: Double = 1e-2
) -> (maxRelativeError: Double, worst: String) where L.Scalar == Double {
  precondition(!inputShape.isEmpty, "checkLayerGradients: inputShape must include the batch axis")
  var rng = SeededGenerator(seed: seed)
  let store = ParameterStore<Double>()
  let built: [Int]
  do {
    built = try layer.build(inputShape: Array(inputShape.dropFirst()), store: store, name: "layer", generator: &rng)
  } catch {
    return (.infinity, "build failed: \(error)")
  }
  for i in store.params.indices { store.params[i] += rng.nextUnit() - 0.5 }

  var x: Tensor<Double>
  if let input {
    guard input.shape == inputShape else { return (.infinity, "input shape \(input.shape) != \(inputShape)") }
    x = input
  } else if let ids = inputIndices {
    x = Tensor(shape: inputShape, scalars: (0..<inputShape.reduce(1, *)).map { _ in
      Double(Int.random(in: ids, using: &rng))
    })
  } else {
    x = Tensor(shape: inputShape, uniformIn: -1...1, using: &rng)
  }

  func run(_ x: Tensor<Double>) -> Tensor<Double> {
    layer.forward(x, context: LayerContext(training: training, seed: seed, mask: mask))
  }
  let y0 = run(x)
  guard y0.shape == [inputShape[0]] + built else {
    return (.infinity, "forward output \(y0.shape) != [batch] + build's \(built)")
  }
  let R = Tensor<Double>(shape: y0.shape, uniformIn: -1...1, using: &rng)
  func loss(_ x: Tensor<Double>) -> Double {
    zip(run(x).scalars, R.scalars).reduce(0) { $0 + $1.0 * $1.1 }
  }

  // Analytic: one forward, one backward from dL/dy = R.
  store.zeroGradients()
  _ = run(x)
  let dX = layer.backward(R)
  let analytic = store.grads

  var worst = 0.0, worstName = "none"
  func compare(_ a: Double, _ n: Double, _ name: @autoclosure () -> String) {
    let e = abs(a - n) / max(abs(a), abs(n), floor)
    if !(e <= worst) { worst = e.isNaN ? .infinity : e; worstName = name() }
  }

  if inputIndices == nil {
    guard dX.shape == x.shape else { return (.infinity, "input gradient \(dX.shape) != input \(x.shape)") }
    for i in 0..<x.count {
      let saved = x.scalars[i]
      x.scalars[i] = saved + epsilon
      let plus = loss(x)
      x.scalars[i] = saved - epsilon
      let minus = loss(x)
      x.scalars[i] = saved
      compare(dX.scalars[i], (plus - minus) / (2 * epsilon), "input[\(i)]")
    }
  }
  for p in store.parameters {
    for i in p.range {
      let saved = store.params[i]
      store.params[i] = saved + epsilon
      let plus = loss(x)
      store.params[i] = saved - epsilon
      let minus = loss(x)
      store.params[i] = saved
      compare(analytic[i], (plus - minus) / (2 * epsilon), "\(p.name)[\(i - p.offset)]")
    }
  }

  // Accumulation: gradients must be added to, not overwritten.
  store.grads = analytic
  _ = run(x)
  _ = layer.backward(R)
  for p in store.parameters {
    for i in p.range {
      compare(store.grads[i], 2 * analytic[i], "accumulation: \(p.name)[\(i - p.offset)]")
    }
  }
  return (worst, worstName)
}
