import CRecurrentKernels

extension RecurrentLayer {
  /// The fused LSTM or GRU (reset-after) forward from the batch-first input `x` (Float only, no
  /// masks): projection, time loop and batch-first output in one C call
  /// (`rk_lstm_forward_sequence_x_f32` / `rk_gru_forward_sequence_x_f32`), the same bits as the
  /// step loop of `FusedSteps.forward`. Returns the output [B, T, H], or nil (nothing written)
  /// when the C loop does not take the cell or the shape; the caller then runs the general path.
  /// Buffers are `forward`'s: gates [T*B, G*H], hs and cs [(T+1)*B, H] (slot 0 filled),
  /// extras [T*B, H] (GRU: W_hn h + b_hn), recurrent [B, G*H] scratch, xs [T*B, I] scratch.
  func forwardFusedSequence(
    _ kind: FusedKind, _ x: Tensor<Scalar>, B: Int, T: Int, gates: UnsafeMutablePointer<Scalar>,
    hs: UnsafeMutablePointer<Scalar>, cs: UnsafeMutablePointer<Scalar>?, extras: UnsafeMutablePointer<Scalar>?,
    recurrent: UnsafeMutablePointer<Scalar>, xs: UnsafeMutablePointer<Scalar>, tape: RecurrentTape<Scalar>
  ) -> [Scalar]? {
    let I = inputSize, H = hiddenSize
    switch kind {
    case .lstm: guard cs != nil else { return nil }
    case .gru: guard extras != nil else { return nil }
    case .rnn: return nil
    }
    var status: Int32 = 1, copied: Int32 = 0
    let out = store.withBuffers { params, _ in
      let wih = (params + weightIH.offset)._f32, whh = (params + weightHH.offset)._f32
      let bih = (params + biasIH.offset)._f32, bhh = (params + biasHH.offset)._f32
      var bsum: UnsafeMutablePointer<Scalar>? = nil
      if case .lstm = kind {
        bsum = biasSum.reserve(4 * H)
        bsum!.update(from: params + biasIH.offset, count: 4 * H)
        Reductions.axpy(count: 4 * H, alpha: 1, params + biasHH.offset, bsum!)
      }
      return x.withUnsafeBufferPointer { xb in
        [Scalar](unsafeUninitializedCapacity: B * T * H) { out, count in
          let xp = xb.baseAddress!._f32, op = out.baseAddress!._f32, back: Int32 = goBackwards ? 1 : 0
          switch kind {
          case .lstm:
            status = rk_lstm_forward_sequence_x_f32(
              T, B, I, H, xp, back, wih, xs._f32, &copied, gates._f32, bsum!._f32, whh, hs._f32, cs!._f32, op)
          case .gru:
            status = rk_gru_forward_sequence_x_f32(
              T, B, I, H, xp, back, wih, xs._f32, &copied, gates._f32, bih, bhh, whh, recurrent._f32, hs._f32,
              extras!._f32, op)
          case .rnn:
            status = 1
          }
          count = status == 0 ? B * T * H : 0
        }
      }
    }
    guard status == 0 else { return nil }
    tape.xIsTimeMajor = copied != 0
    if copied == 0 { tape.input = x }
    return out
  }
}
