/// The reset-before GRU (`GRUCell(resetAfter: false)`, Keras `reset_after=False`, Cho et al.):
/// its elementwise kernels and the BPTT time loops that run them.
///
///     r = σ(W_ir x_t + b_ir + W_hr h̃ + b_hr)        h̃ = h_{t-1} (times the recurrent-dropout mask)
///     z = σ(W_iz x_t + b_iz + W_hz h̃ + b_hz)
///     n = tanh(W_in x_t + b_in + W_hn (r * h̃) + b_hn)
///     h_t = (1 - z) * n + z * h_{t-1}
///
/// The candidate's recurrent product needs r, so a step is gates → GEMM → candidate:
///
///     forward:  R[:, r|z] = h̃ . W_h{r,z}^T              GEMM [B, H] x [H, 2H]
///               r, z, rh = r * h̃                         resetBeforeGates (rh saved on the tape)
///               R[:, n] = rh . W_hn^T                     GEMM [B, H] x [H, H]
///               n, h_t                                     resetBeforeCandidate
///     backward: dA_z, dA_n, dh_{t-1} += dh z              resetBeforeBackwardCandidate
///               d(rh) = dA_n . W_hn                        GEMM [B, H] x [H, H]
///               dA_r, dh̃ = d(rh) * r                      resetBeforeBackwardReset
///               dh̃ += dA_{r,z} . W_h{r,z}                 GEMM [B, 2H] x [2H, H]
///               dh_{t-1} += dh̃ (* mask)
///     after the loop: dW_h{r,z} += dA_{r,z}^T . H̃;  dW_hn += dA_n^T . RH   (two big GEMMs)
///
/// Cost against reset-after: the same multiply-adds per step (3·B·H² each way), in two dependent
/// GEMM calls instead of one, and these Swift elementwise kernels (specialised for Float and
/// Double) in Float too, where reset-after has fused C kernels. Nothing is allocated in the time
/// loops: every buffer is a `WorkspaceBuffer` of the layer or the tape, reserved before the loop.
extension GRUCell {
  /// Forward part 1, `batch` rows: r and z (in place in the gate slab) and the reset state.
  ///
  /// - gates [B, 3H]: in `x W_ih^T + b_ih`; out r, z in blocks 0 and 1 (block 2 untouched).
  /// - recurrent [B, stride]: columns 0..<2H hold `h̃ W_h{r,z}^T`.
  /// - recurrentBias [3H]: `b_hh`.  hIn [B, H]: h̃.  resetHidden [B, H], out: `r * h̃`.
  @_specialize(where S == Float)
  @_specialize(where S == Double)
  static func resetBeforeGates<S: TensorScalar>(
    batch: Int, hidden H: Int, gates: UnsafeMutablePointer<S>, recurrent: UnsafePointer<S>, recurrentStride: Int,
    recurrentBias bhh: UnsafePointer<S>, hIn: UnsafePointer<S>, resetHidden: UnsafeMutablePointer<S>
  ) {
    for b in 0..<batch {
      let a = gates + b * 3 * H, rec = recurrent + b * recurrentStride
      let hi = hIn + b * H, rh = resetHidden + b * H
      // a_r, a_z = (x W_i^T + b_i) + (h̃ W_h^T + b_h)   for the r and z blocks
      for j in 0..<(2 * H) { a[j] += rec[j] + bhh[j] }
      // r, z = σ(a_r, a_z)   (in place)
      S.sigmoid(count: 2 * H, a, into: a)
      // rh = r * h̃   (the candidate GEMM's input; saved for dW_hn)
      for j in 0..<H { rh[j] = a[j] * hi[j] }
    }
  }

  /// Forward part 2, `batch` rows: the candidate and the new state.
  ///
  /// - gates [B, 3H]: r, z from part 1; block 2 in `x W_in^T + b_in`, out n.
  /// - candidate [B, stride]: `rh W_hn^T` (no bias).  recurrentBias [3H]: `b_hh` (block 2 used).
  /// - hPrev, h [B, H]: h_{t-1} in, h_t out.
  @_specialize(where S == Float)
  @_specialize(where S == Double)
  static func resetBeforeCandidate<S: TensorScalar>(
    batch: Int, hidden H: Int, gates: UnsafeMutablePointer<S>, candidate: UnsafePointer<S>, candidateStride: Int,
    recurrentBias bhh: UnsafePointer<S>, hPrev: UnsafePointer<S>, h: UnsafeMutablePointer<S>
  ) {
    for b in 0..<batch {
      let a = gates + b * 3 * H, c = candidate + b * candidateStride
      let hp = hPrev + b * H, hOut = h + b * H
      let z = a + H, n = a + 2 * H
      // a_n = x W_in^T + b_in + rh W_hn^T + b_hn
      for j in 0..<H { n[j] += c[j] + bhh[2 * H + j] }
      // n = tanh(a_n)   (in place)
      S.tanh(count: H, n, into: n)
      // h_t = (1 - z) * n + z * h_{t-1} = n + z * (h_{t-1} - n)
      for j in 0..<H { hOut[j] = n[j] + z[j] * (hp[j] - n[j]) }
    }
  }

  /// Backward part 1, `batch` rows: reverses `resetBeforeCandidate`.
  ///
  /// Writes the z and n blocks of dG_x and dG_h (equal: every bias and projection enters its
  /// pre-activation with weight 1; the n block is also dL/d(rh W_hn^T)) and adds dh * z into dhPrev.
  @_specialize(where S == Float)
  @_specialize(where S == Double)
  static func resetBeforeBackwardCandidate<S: TensorScalar>(
    batch: Int, hidden H: Int, gates: UnsafePointer<S>, hPrev: UnsafePointer<S>, dh: UnsafePointer<S>,
    dhPrev: UnsafeMutablePointer<S>, dGatesInput: UnsafeMutablePointer<S>, dGatesRecurrent: UnsafeMutablePointer<S>
  ) {
    for b in 0..<batch {
      let a = gates + b * 3 * H
      let z = a + H, n = a + 2 * H
      let hp = hPrev + b * H, d = dh + b * H, dhp = dhPrev + b * H
      let dx = dGatesInput + b * 3 * H, dr = dGatesRecurrent + b * 3 * H
      for j in 0..<H {
        // reverses h_t = (1 - z) * n + z * h_{t-1}
        let dZ = d[j] * (hp[j] - n[j])
        let dN = d[j] * (1 - z[j])
        dhp[j] += d[j] * z[j]
        // reverses n = tanh(a_n)
        let dAn = dN * (1 - n[j] * n[j])
        // reverses z = σ(a_z)
        let dAz = dZ * z[j] * (1 - z[j])
        dx[H + j] = dAz; dx[2 * H + j] = dAn
        dr[H + j] = dAz; dr[2 * H + j] = dAn
      }
    }
  }

  /// Backward part 2, `batch` rows: reverses `resetBeforeGates` given `dResetHidden` = d(rh) =
  /// dA_n W_hn [B, H]. Writes the r block of dG_x and dG_h and sets dHIn [B, H] = dL/dh̃ through
  /// rh (the caller then adds the r, z blocks' GEMM path).
  @_specialize(where S == Float)
  @_specialize(where S == Double)
  static func resetBeforeBackwardReset<S: TensorScalar>(
    batch: Int, hidden H: Int, gates: UnsafePointer<S>, hIn: UnsafePointer<S>, dResetHidden: UnsafePointer<S>,
    dGatesInput: UnsafeMutablePointer<S>, dGatesRecurrent: UnsafeMutablePointer<S>, dHIn: UnsafeMutablePointer<S>
  ) {
    for b in 0..<batch {
      let r = gates + b * 3 * H, hi = hIn + b * H, drh = dResetHidden + b * H, dhi = dHIn + b * H
      let dx = dGatesInput + b * 3 * H, dr = dGatesRecurrent + b * 3 * H
      for j in 0..<H {
        // reverses rh = r * h̃
        let dR = drh[j] * hi[j]
        dhi[j] = drh[j] * r[j]
        // reverses r = σ(a_r)
        let dAr = dR * r[j] * (1 - r[j])
        dx[j] = dAr
        dr[j] = dAr
      }
    }
  }
}

extension RecurrentLayer {
  /// The forward time loop of the reset-before GRU. Buffers as in `forward`, time-major:
  /// gates [T*B, 3H] (in: X W_ih^T + b_ih), hs [(T+1)*B, H], extras [T*B, H] (out: r * h̃),
  /// recurrent [B, 3H] scratch, maskedH [B, H] scratch (with a recurrent-dropout mask).
  func resetBeforeForward(
    B: Int, T: Int, H: Int, gates: UnsafeMutablePointer<Scalar>, hs: UnsafeMutablePointer<Scalar>,
    extras: UnsafeMutablePointer<Scalar>, recurrent: UnsafeMutablePointer<Scalar>, whh: UnsafePointer<Scalar>,
    bhh: UnsafePointer<Scalar>, recurrentMask: UnsafePointer<Scalar>?, maskedH: UnsafeMutablePointer<Scalar>?,
    masks: UnsafePointer<Scalar>?, stepIsPartial: [Bool]?
  ) {
    let G = 3 * H
    let whn = whh + 2 * H * H  // W_hn: rows 2H..<3H of W_hh, [H, H]
    for t in 0..<T {
      let hPrev = hs + t * B * H, hNext = hs + (t + 1) * B * H
      let g = gates + t * B * G, rh = extras + t * B * H
      var hIn = UnsafePointer(hPrev)
      if let recurrentMask, let maskedH {  // h̃ = h_{t-1} * m
        Reductions.multiply(count: B * H, hPrev, recurrentMask, into: maskedH)
        hIn = UnsafePointer(maskedH)
      }
      // R[:, r|z] = h̃ . W_h{r,z}^T                                [B, H] x [H, 2H]
      Scalar.gemm(
        transA: false, transB: true, m: B, n: 2 * H, k: H,
        alpha: 1, a: hIn, lda: H, b: whh, ldb: H, beta: 0, c: recurrent, ldc: G)
      // r, z; rh = r * h̃   (all rows: padded rows' values are never used, see backward)
      GRUCell.resetBeforeGates(
        batch: B, hidden: H, gates: g, recurrent: recurrent, recurrentStride: G, recurrentBias: bhh, hIn: hIn,
        resetHidden: rh)
      // R[:, n] = rh . W_hn^T                                       [B, H] x [H, H]
      Scalar.gemm(
        transA: false, transB: true, m: B, n: H, k: H,
        alpha: 1, a: rh, lda: H, b: whn, ldb: H, beta: 0, c: recurrent + 2 * H, ldc: G)
      if let masks, let partial = stepIsPartial, partial[t] {
        for b in 0..<B {
          if masks[t * B + b] == 0 {  // padded: carry the state
            (hNext + b * H).update(from: hPrev + b * H, count: H)
          } else {
            GRUCell.resetBeforeCandidate(
              batch: 1, hidden: H, gates: g + b * G, candidate: recurrent + b * G + 2 * H, candidateStride: G,
              recurrentBias: bhh, hPrev: hPrev + b * H, h: hNext + b * H)
          }
        }
      } else {
        GRUCell.resetBeforeCandidate(
          batch: B, hidden: H, gates: g, candidate: recurrent + 2 * H, candidateStride: G, recurrentBias: bhh,
          hPrev: hPrev, h: hNext)
      }
    }
  }

  /// The backward time loop of the reset-before GRU: fills dGx and dGh [T*B, 3H] (equal here),
  /// completes dHs [T*B, H] in place (slot t-1 gets dL/dh_{t-1}) and writes dh0 [B, H].
  /// `scratch` holds [3, B, H]: d(rh), dh̃ and the recomputed h̃.
  func resetBeforeBackward(
    B: Int, T: Int, H: Int, gates: UnsafePointer<Scalar>, hs: UnsafePointer<Scalar>, whh: UnsafePointer<Scalar>,
    recurrentMask: UnsafePointer<Scalar>?, masks: UnsafePointer<Scalar>?, stepIsPartial: [Bool]?,
    dHs: UnsafeMutablePointer<Scalar>, dh0: UnsafeMutablePointer<Scalar>, dGx: UnsafeMutablePointer<Scalar>,
    dGh: UnsafeMutablePointer<Scalar>, scratch: UnsafeMutablePointer<Scalar>
  ) {
    let G = 3 * H
    let whn = whh + 2 * H * H
    let dRH = scratch, dHIn = scratch + B * H, hMasked = scratch + 2 * B * H
    for t in stride(from: T - 1, through: 0, by: -1) {
      let dhPrev = t > 0 ? dHs + (t - 1) * B * H : dh0
      let hPrev = hs + t * B * H, g = gates + t * B * G, dh = UnsafePointer(dHs + t * B * H)
      let dgx = dGx + t * B * G, dgh = dGh + t * B * G
      // z, n blocks; dh_{t-1} += dh * z
      if let masks, let partial = stepIsPartial, partial[t] {
        for b in 0..<B {
          if masks[t * B + b] != 0 {
            GRUCell.resetBeforeBackwardCandidate(
              batch: 1, hidden: H, gates: g + b * G, hPrev: hPrev + b * H, dh: dh + b * H, dhPrev: dhPrev + b * H,
              dGatesInput: dgx + b * G, dGatesRecurrent: dgh + b * G)
            continue
          }
          // reverses the carry h_t = h_{t-1}: the gradient passes through; the row's gate
          // gradients are zero, so every GEMM below leaves it alone.
          Reductions.axpy(count: H, alpha: 1, dh + b * H, dhPrev + b * H)
          (dgx + b * G).update(repeating: 0, count: G)
          (dgh + b * G).update(repeating: 0, count: G)
        }
      } else {
        GRUCell.resetBeforeBackwardCandidate(
          batch: B, hidden: H, gates: g, hPrev: hPrev, dh: dh, dhPrev: dhPrev, dGatesInput: dgx,
          dGatesRecurrent: dgh)
      }
      // reverses R[:, n] = rh . W_hn^T:  d(rh) = dA_n . W_hn       [B, H] x [H, H]
      Scalar.gemm(
        transA: false, transB: false, m: B, n: H, k: H,
        alpha: 1, a: dgh + 2 * H, lda: G, b: whn, ldb: H, beta: 0, c: dRH, ldc: H)
      var hIn = UnsafePointer(hPrev)
      if let recurrentMask {  // recompute h̃ = h_{t-1} * m
        Reductions.multiply(count: B * H, hPrev, recurrentMask, into: hMasked)
        hIn = UnsafePointer(hMasked)
      }
      // r block; dh̃ = d(rh) * r   (padded rows: d(rh) = 0, so both are 0)
      GRUCell.resetBeforeBackwardReset(
        batch: B, hidden: H, gates: g, hIn: hIn, dResetHidden: dRH, dGatesInput: dgx, dGatesRecurrent: dgh,
        dHIn: dHIn)
      // reverses R[:, r|z] = h̃ . W_h{r,z}^T:  dh̃ += dA_{r,z} . W_h{r,z}   [B, 2H] x [2H, H]
      Scalar.gemm(
        transA: false, transB: false, m: B, n: H, k: 2 * H,
        alpha: 1, a: dgh, lda: G, b: whh, ldb: H, beta: 1, c: dHIn, ldc: H)
      // reverses h̃ = h_{t-1} (* m)
      if let recurrentMask {
        Reductions.addProduct(count: B * H, dHIn, recurrentMask, into: dhPrev)
      } else {
        Reductions.axpy(count: B * H, alpha: 1, dHIn, dhPrev)
      }
    }
  }

  /// dW_hh += the reset-before GRU's recurrent weight gradients, after the time loop:
  /// rows r, z from dA_{r,z}^T . H̃ (h_0 ... h_{T-1}, masked as the GEMM saw them), rows n from
  /// dA_n^T . RH (the saved r * h̃).
  func resetBeforeRecurrentWeightGradients(
    T: Int, B: Int, H: Int, dGh: UnsafePointer<Scalar>, hsUsed: UnsafePointer<Scalar>,
    resetHidden: UnsafePointer<Scalar>, dWhh: UnsafeMutablePointer<Scalar>
  ) {
    let G = 3 * H
    // dW_h{r,z} += dA_{r,z}^T . H̃                                 [2H, T*B] x [T*B, H]
    Scalar.gemm(
      transA: true, transB: false, m: 2 * H, n: H, k: T * B,
      alpha: 1, a: dGh, lda: G, b: hsUsed, ldb: H, beta: 1, c: dWhh, ldc: H)
    // dW_hn += dA_n^T . RH                                          [H, T*B] x [T*B, H]
    Scalar.gemm(
      transA: true, transB: false, m: H, n: H, k: T * B,
      alpha: 1, a: dGh + 2 * H, lda: G, b: resetHidden, ldb: H, beta: 1, c: dWhh + 2 * H * H, ldc: H)
  }
}
