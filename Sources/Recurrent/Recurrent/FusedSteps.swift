import CRecurrentKernels

/// Which fused C kernel runs a built-in cell in Float.
enum FusedKind {
  case lstm, gru, rnn(relu: Bool)

  init?<Cell: RecurrentCell>(_ cell: Cell) {
    if Cell.self == LSTMCell.self { self = .lstm }
    else if let g = cell as? GRUCell {
      guard g.resetAfter else { return nil }  // reset-before runs GRUResetBefore.swift's loops
      self = .gru
    }
    else if let c = cell as? SimpleRNNCell { self = .rnn(relu: c.activation == .relu) }
    else { return nil }
  }
}

/// The time loops of the fused Float path: non-generic, so everything here compiles to direct
/// calls into `rk_cells` and `rk_sgemm`. Buffers are the tape's, time-major, as in
/// `RecurrentLayer`; `B`, `T`, `H` as there and `G` = gates * H.
struct FusedSteps {
  var kind: FusedKind
  var B: Int, T: Int, H: Int
  var gates: UnsafeMutablePointer<Float>  // [T*B, G]
  var hs: UnsafeMutablePointer<Float>  // [(T+1)*B, H]
  var cs: UnsafeMutablePointer<Float>?  // [(T+1)*B, H] (LSTM)
  var extras: UnsafeMutablePointer<Float>?  // [T*B, H] (GRU: W_hn h + b_hn)
  var recurrent: UnsafeMutablePointer<Float>  // [B, G] scratch (GRU: h W_hh^T)
  var maskedH: UnsafeMutablePointer<Float>?  // [B, H] scratch when recurrentMask is set
  var whh: UnsafePointer<Float>  // [G, H]
  var biasSum: UnsafePointer<Float>?  // [G] b_ih + b_hh (forward, LSTM / SimpleRNN)
  var bih: UnsafePointer<Float>?, bhh: UnsafePointer<Float>?  // [G] (forward, GRU)
  var recurrentMask: UnsafePointer<Float>?  // [B, H]
  var masks: UnsafePointer<Float>?  // [T*B]
  var stepIsPartial: [Bool]?

  var G: Int {
    switch kind {
    case .lstm: 4 * H
    case .gru: 3 * H
    case .rnn: H
    }
  }

  /// Calls `body(r0, n)` for each run of consecutive real rows of step `t` (all rows when the
  /// step has no padding), and `padded(b)` for each padded row.
  @inline(__always)
  func forEachRun(step t: Int, _ body: (Int, Int) -> Void, padded: (Int) -> Void) {
    guard let masks, let partial = stepIsPartial, partial[t] else { return body(0, B) }
    var b = 0
    while b < B {
      if masks[t * B + b] == 0 { padded(b); b += 1; continue }
      let r0 = b
      while b < B && masks[t * B + b] != 0 { b += 1 }
      body(r0, b - r0)
    }
  }

  func forward() {
    let G = self.G
    if case .lstm = kind, recurrentMask == nil, stepIsPartial == nil,
      rk_lstm_forward_sequence_f32(T, B, H, gates, biasSum!, whh, hs, cs!) == 0
    {
      return  // the whole loop as one parallel region (the same bits as the loop below)
    }
    for t in 0..<T {
      let hPrev = hs + t * B * H, hNext = hs + (t + 1) * B * H, g = gates + t * B * G
      var a = UnsafePointer(hPrev)
      if let recurrentMask, let maskedH {  // h_{t-1} * m
        rk_mul_f32(B * H, hPrev, recurrentMask, maskedH)
        a = UnsafePointer(maskedH)
      }
      switch kind {
      case .lstm, .rnn:
        // G[t] += h_{t-1} . W_hh^T  (accumulated into the step's gate slab)     [B, H] x [H, G]
        rk_sgemm(0, 1, B, G, H, 1, a, H, whh, H, 1, g, G)
      case .gru:
        // R = h_{t-1} . W_hh^T  (the n block needs it apart: r * (W_hn h + b_hn))
        rk_sgemm(0, 1, B, G, H, 1, a, H, whh, H, 0, recurrent, G)
      }
      forEachRun(step: t) { r0, n in
        switch kind {
        case .lstm:
          let c = cs!
          // Rows split between the threads (the same bits for any thread count).
          rk_lstm_forward_f32_mt(
            n, H, g + r0 * G, biasSum!, c + (t * B + r0) * H, c + ((t + 1) * B + r0) * H, hNext + r0 * H)
        case .gru:
          rk_gru_forward_f32_mt(
            n, H, g + r0 * G, recurrent + r0 * G, bih!, bhh!, hPrev + r0 * H, extras! + (t * B + r0) * H,
            hNext + r0 * H)
        case .rnn(let relu):
          rk_rnn_forward_f32(n, H, relu ? 1 : 0, g + r0 * G, biasSum!, hNext + r0 * H)
        }
      } padded: { b in
        // Padded rows carry their state.
        (hNext + b * H).update(from: hPrev + b * H, count: H)
        if let c = cs { (c + ((t + 1) * B + b) * H).update(from: c + (t * B + b) * H, count: H) }
      }
    }
  }

  /// dHs [T*B, H]: dL/dh_{t+1} from above (slot t), completed in place; dh0 [B, H]; dc [B, H]
  /// (LSTM) in dL/dc_T, out dL/dc_0; dGx, dGh [T*B, G] out (the same buffer unless GRU);
  /// dbx [G] += colsum(dG_x); dbh [G] += colsum(dG_h) (GRU only; nil otherwise).
  func backward(
    dHs: UnsafeMutablePointer<Float>, dh0: UnsafeMutablePointer<Float>, dc: UnsafeMutablePointer<Float>?,
    dGx: UnsafeMutablePointer<Float>, dGh: UnsafeMutablePointer<Float>, dbx: UnsafeMutablePointer<Float>,
    dbh: UnsafeMutablePointer<Float>?
  ) {
    let G = self.G
    if recurrentMask == nil, stepIsPartial == nil {
      // The whole loop as one parallel region (the same bits as the loop below).
      switch kind {
      case .lstm:
        if rk_lstm_backward_sequence_f32(T, B, H, gates, cs!, whh, dHs, dh0, dc!, dGx, dbx) == 0 { return }
      case .gru:
        if rk_gru_backward_sequence_f32(T, B, H, gates, extras!, hs, whh, dHs, dh0, dGx, dGh, dbx, dbh) == 0 {
          return
        }
      case .rnn:
        break
      }
    }
    for t in stride(from: T - 1, through: 0, by: -1) {
      let dhPrev = t > 0 ? dHs + (t - 1) * B * H : dh0
      let g = UnsafePointer(gates + t * B * G), dh = UnsafePointer(dHs + t * B * H)
      let dgx = dGx + t * B * G, dgh = dGh + t * B * G
      forEachRun(step: t) { r0, n in
        switch kind {
        case .lstm:
          let c = cs!
          rk_lstm_backward_f32(
            n, H, g + r0 * G, c + (t * B + r0) * H, c + ((t + 1) * B + r0) * H, dh + r0 * H, dc! + r0 * H,
            dgx + r0 * G, dbx)
        case .gru:
          rk_gru_backward_f32(
            n, H, g + r0 * G, extras! + (t * B + r0) * H, hs + (t * B + r0) * H, dh + r0 * H, dhPrev + r0 * H,
            dgx + r0 * G, dgh + r0 * G, dbx, dbh)
        case .rnn(let relu):
          rk_rnn_backward_f32(n, H, relu ? 1 : 0, hs + ((t + 1) * B + r0) * H, dh + r0 * H, dgx + r0 * G, dbx)
        }
      } padded: { b in
        // reverses the carry h_t = h_{t-1} (and c_t = c_{t-1}): the gradient passes through.
        rk_add_f32(H, dh + b * H, dhPrev + b * H)
        (dgx + b * G).update(repeating: 0, count: G)
        if case .gru = kind { (dgh + b * G).update(repeating: 0, count: G) }
      }
      // reverses G[t] += h_{t-1} . W_hh^T:  dh_{t-1} += dG_h[t] . W_hh     [B, G] x [G, H]
      if let recurrentMask, let maskedH {
        // ... of (h_{t-1} * m):  dh_{t-1} += (dG_h[t] . W_hh) * m
        rk_sgemm(0, 0, B, H, G, 1, dgh, G, whh, H, 0, maskedH, H)
        rk_add_mul_f32(B * H, maskedH, recurrentMask, dhPrev)
      } else {
        rk_sgemm(0, 0, B, H, G, 1, dgh, G, whh, H, 1, dhPrev, H)
      }
    }
  }
}
