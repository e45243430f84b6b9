/// Gradient flow through time: how much of the loss gradient reaches each time step.
///
/// After `backward`, the driver holds dL/dh_t for every step (complete: from the outputs and
/// from step t+1). Its norm over t is the vanishing/exploding-gradient curve: for a SimpleRNN,
/// dL/dh_{t-1} = W_hhᵀ (tanh'(a_t) ⊙ dL/dh_t), so the curve falls (or grows) geometrically at a
/// rate bounded by σ_max(W_hh); an LSTM whose forget gate is open carries dL/dc unchanged and
/// keeps it flat.
extension RecurrentLayer {
  /// ||dL/dh_t|| for t = 0 (the initial state) ... T, from the last `backward` call: the mean
  /// over batch rows of each row's L2 norm (index t holds step t; index 0 the initial state).
  /// `tape` must be the one that backward used (the layer's own when nil).
  public func hiddenGradientNorms(tape: RecurrentTape<Scalar>? = nil) -> [Double] {
    let tape = tape ?? defaultTape
    let B = tape.batch, T = tape.steps, H = hiddenSize
    guard B > 0 else { return [] }
    func meanRowNorm(_ p: UnsafePointer<Scalar>) -> Double {
      concretely(p, { Recurrent.meanRowNorm($0, rows: B, width: H) }, { Recurrent.meanRowNorm($0, rows: B, width: H) })
    }
    var norms = [meanRowNorm(UnsafePointer(dh0.pointer))]
    for t in 0..<T { norms.append(meanRowNorm(UnsafePointer(dH.pointer + t * B * H))) }
    return norms
  }
}

extension RNN {
  /// ||dL/dh_t|| for t = 0 ... T from the last backward pass (see
  /// `RecurrentLayer.hiddenGradientNorms`).
  public func hiddenGradientNorms() -> [Double] { engine?.hiddenGradientNorms() ?? [] }
}
