// Gradient clipping over a ParameterStore's flat `grads`: by value, by per-parameter norm and by
// global norm. All of them modify `store.grads` in place; norms are accumulated in Double.

/// sqrt(sum x_i^2) for `count` scalars, accumulated in Double; rescaled by the largest magnitude
/// when the plain sum overflows, so huge finite gradients give a finite norm. NaN if any is NaN.
@_specialize(where S == Float)
@_specialize(where S == Double)
func l2Norm<S: TensorScalar>(_ x: UnsafePointer<S>, count: Int) -> Double {
  var sum = 0.0
  for i in 0..<count {
    let v = Double(x[i])
    sum += v * v
  }
  if sum.isFinite { return sum.squareRoot() }
  var largest = 0.0
  for i in 0..<count {
    let v = abs(Double(x[i]))
    if v.isNaN { return .nan }
    largest = max(largest, v)
  }
  if !largest.isFinite { return largest }
  var scaled = 0.0
  for i in 0..<count {
    let v = Double(x[i]) / largest
    scaled += v * v
  }
  return largest * scaled.squareRoot()
}

/// The global L2 norm of all gradients in `store`: sqrt(sum over every element of grads^2).
@_specialize(where S == Float)
@_specialize(where S == Double)
public func globalNorm<S: TensorScalar>(of store: ParameterStore<S>) -> Double {
  let n = store.count  // read before withBuffers: it holds exclusive access to params and grads
  return store.withBuffers { _, g in l2Norm(g, count: n) }
}

/// Scales all of `store.grads` by maxNorm / norm when their global L2 norm exceeds `maxNorm`
/// (Keras `global_clipnorm`, PyTorch `clip_grad_norm_`), and returns the norm before clipping.
///
/// A non-finite norm (an inf or NaN gradient) leaves the gradients unchanged; the returned
/// norm lets the caller notice and skip the step.
@_specialize(where S == Float)
@_specialize(where S == Double)
@discardableResult
public func clipGlobalNorm<S: TensorScalar>(_ store: ParameterStore<S>, maxNorm: Double) -> Double {
  precondition(maxNorm > 0, "clipGlobalNorm: maxNorm must be > 0, got \(maxNorm)")
  let norm = globalNorm(of: store)
  guard norm.isFinite, norm > maxNorm else { return norm }
  let scale = maxNorm / norm, n = store.count
  store.withBuffers { _, g in
    for i in 0..<n { g[i] = S(Double(g[i]) * scale) }
  }
  return norm
}

/// Clips every element of `store.grads` to [-limit, limit] (Keras `clipvalue`). NaN stays NaN.
@_specialize(where S == Float)
@_specialize(where S == Double)
public func clipGradientValues<S: TensorScalar>(_ store: ParameterStore<S>, limit: Double) {
  precondition(limit > 0, "clipGradientValues: limit must be > 0, got \(limit)")
  let high = S(limit), low = -S(limit), n = store.count
  store.withBuffers { _, g in
    for i in 0..<n where g[i] > high || g[i] < low {
      g[i] = g[i] > high ? high : low
    }
  }
}

/// Scales each registered parameter's gradient to L2 norm at most `maxNorm` (Keras `clipnorm`:
/// per variable), leaving tensors whose norm is already within it, or not finite, unchanged.
@_specialize(where S == Float)
@_specialize(where S == Double)
public func clipParameterNorms<S: TensorScalar>(_ store: ParameterStore<S>, maxNorm: Double) {
  precondition(maxNorm > 0, "clipParameterNorms: maxNorm must be > 0, got \(maxNorm)")
  let parameters = store.parameters
  store.withBuffers { _, g in
    for parameter in parameters {
      let base = g + parameter.offset
      let norm = l2Norm(base, count: parameter.count)
      guard norm.isFinite, norm > maxNorm else { continue }
      let scale = maxNorm / norm
      for i in 0..<parameter.count { base[i] = S(Double(base[i]) * scale) }
    }
  }
}
