import CRecurrentKernels

/// A recurrent layer: one `RecurrentCell` scanned over a sequence, with forward and
/// backpropagation through time (BPTT). It is the only owner of the GEMMs.
///
/// Input is batch-first `x` [B, T, I]; output `sequence` [B, T, H] plus the final state.
///
///     forward:  G = X . W_ih^T + b_ih                 one GEMM [T*B, I] x [I, G*H]
///               for t: R = h_{t-1} . W_hh^T           one GEMM per step [B, H] x [H, G*H]
///                      cell.forward(G[t], R, ...) -> saved gates, h_t (, c_t)
///     backward: for t reversed: cell.backward(...) -> dG_x[t], dG_h[t] (, dc_{t-1})
///                      dh_{t-1} += dG_h[t] . W_hh     one GEMM per step
///               dW_hh += dG_h^T . H[0..<T];  dW_ih += dG_x^T . X;  db_* += colsum(dG_*)
///               dX = dG_x . W_ih                     three big GEMMs after the loop
///
/// Two implementations of the step, with the same results and the same tape:
/// - the fused path (Float with `LSTMCell`, `GRUCell` or `SimpleRNNCell`, unless
///   `usesFusedKernels` is off): the C kernels of `rk_cells.h`. The input GEMM leaves the biases
///   out; LSTM and SimpleRNN accumulate the recurrent GEMM straight into the step's gate slab
///   (beta = 1), and the kernel adds b_ih + b_hh, activates and updates the state in one pass.
///   Without masks, the LSTM's and the GRU's whole time loops run as one parallel region each
///   (`rk_lstm_forward_sequence_x_f32`, `rk_gru_forward_sequence_x_f32` and the backward ones):
///   W_hh packed once, no thread hand-off per step, the same bits as the step loop;
/// - the reference path (Double, custom cells, or `usesFusedKernels = false`): the cell's own
///   Swift `forward` / `backward`, with the bias and the recurrent projection passed separately.
///
/// `GRUCell(resetAfter: false)` (reset-before) runs its own loops in both scalar types, with two
/// GEMMs per step: see GRUResetBefore.swift.
///
/// Parameters, registered in `store` under `name` (plus `suffix`, e.g. "_reverse" for the
/// backward direction of a bidirectional layer, as PyTorch names it): `<name>.weight_ih` [G*H, I],
/// `<name>.weight_hh` [G*H, H], `<name>.bias_ih` [G*H], `<name>.bias_hh` [G*H] (PyTorch layout
/// and gate order; see the cell types for the equations). `backward` accumulates into
/// `store.grads`.
public final class RecurrentLayer<Cell: RecurrentCell, Scalar: TensorScalar> {
  public let cell: Cell
  public let inputSize: Int
  public let hiddenSize: Int
  /// Process the sequence from the last step to the first (Keras `go_backwards`); the output
  /// sequence is then in processing order.
  public var goBackwards: Bool
  public let store: ParameterStore<Scalar>
  public let weightIH: Parameter
  public let weightHH: Parameter
  public let biasIH: Parameter
  public let biasHH: Parameter
  /// Run Float steps on the fused C kernels when the cell is a built-in one (default). `false`
  /// runs the cells' Swift kernels instead: the straightforward reference the fused kernels are
  /// tested against. Double always runs the Swift kernels.
  public var usesFusedKernels = true

  /// The tape used when the caller passes none.
  public let defaultTape = RecurrentTape<Scalar>()
  // Backward scratch, reused across calls.
  private let dGatesInput = WorkspaceBuffer<Scalar>()  // [T*B, G*H]
  private let dGatesRecurrent = WorkspaceBuffer<Scalar>()  // [T*B, G*H] (GRU)
  let dH = WorkspaceBuffer<Scalar>()  // [T*B, H]: dL/dh_t for t = 1...T (slot t-1)
  let dh0 = WorkspaceBuffer<Scalar>()  // [B, H]
  private let dc = WorkspaceBuffer<Scalar>()  // [B, H]
  private let scratch = WorkspaceBuffer<Scalar>()  // [B, G*H]
  private let dX = WorkspaceBuffer<Scalar>()  // [T*B, I]
  private let maskedH = WorkspaceBuffer<Scalar>()  // [B, H] or [T*B, H]: h * recurrent-dropout mask
  let biasSum = WorkspaceBuffer<Scalar>()  // [G*H]: b_ih + b_hh (fused LSTM / SimpleRNN)
  /// The fused kernel for this cell in Float, if there is one.
  private let fusedKind: FusedKind?
  /// Whether the cell is a reset-before GRU (two GEMMs per step; GRUResetBefore.swift).
  let resetsBeforeRecurrence: Bool

  public var gateCount: Int { Cell.gateCount }

  /// A layer of `hiddenSize` units over inputs of `inputSize` features, its weights drawn by
  /// `generator` as `initialization` says (Keras defaults).
  public init(
    _ cell: Cell, inputSize: Int, hiddenSize: Int, goBackwards: Bool = false,
    store: ParameterStore<Scalar> = ParameterStore(), name: String = "rnn", suffix: String = "",
    initialization: RecurrentInitialization = .keras, generator: inout SeededGenerator
  ) {
    precondition(inputSize > 0 && hiddenSize > 0, "RecurrentLayer: sizes must be positive")
    self.cell = cell
    self.inputSize = inputSize
    self.hiddenSize = hiddenSize
    self.goBackwards = goBackwards
    self.store = store
    let G = Cell.gateCount * hiddenSize
    weightIH = store.add("\(name).weight_ih\(suffix)", shape: [G, inputSize])
    weightHH = store.add("\(name).weight_hh\(suffix)", shape: [G, hiddenSize])
    biasIH = store.add("\(name).bias_ih\(suffix)", shape: [G])
    biasHH = store.add("\(name).bias_hh\(suffix)", shape: [G])
    fusedKind = Scalar.self == Float.self ? FusedKind(cell) : nil
    resetsBeforeRecurrence = (cell as? GRUCell)?.resetAfter == false
    reinitialize(initialization, generator: &generator)
  }

  /// Redraws every weight as `initialization` says.
  public func reinitialize(_ initialization: RecurrentInitialization, generator: inout SeededGenerator) {
    let G = Cell.gateCount * hiddenSize
    func fill(_ p: Parameter, _ i: Initializer, rows: Int, cols: Int, fanIn: Int, fanOut: Int) {
      let v = i.values(rows: rows, cols: cols, fanIn: fanIn, fanOut: fanOut, using: &generator)
      store.setValue(Tensor(shape: p.shape, scalars: v.map { Scalar($0) }), for: p)
    }
    fill(weightIH, initialization.inputWeights, rows: G, cols: inputSize, fanIn: inputSize, fanOut: G)
    fill(weightHH, initialization.recurrentWeights, rows: G, cols: hiddenSize, fanIn: hiddenSize, fanOut: G)
    fill(biasIH, initialization.bias, rows: 1, cols: G, fanIn: 1, fanOut: G)
    fill(biasHH, initialization.bias, rows: 1, cols: G, fanIn: 1, fanOut: G)
    if Cell.self == LSTMCell.self, let forget = initialization.forgetGateBias {
      let H = hiddenSize
      for j in H..<(2 * H) {
        store.params[biasIH.offset + j] = Scalar(forget)
        store.params[biasHH.offset + j] = 0
      }
    }
  }

  /// The fused kernel the next forward pass uses, or nil for the cell's Swift kernels.
  private var fused: FusedKind? { usesFusedKernels ? fusedKind : nil }

  // MARK: - Forward

  /// Runs the layer over `x` [B, T, I] from `initialState` (zeros when nil) and records what
  /// backward needs on `tape` (the layer's own when nil).
  ///
  /// `mask` [B, T] (1 = real step, 0 = padding; nil = all real) gives variable-length
  /// sequences: at a padded step a row's state is carried unchanged and its output is zero, so
  /// the final state is each row's own last real step, and padded steps get no gradient.
  ///
  /// `recurrentDropoutMask` [B, H] (already scaled, e.g. 0 or 1/(1-p)) multiplies h_{t-1}
  /// before the recurrent projection at every step: variational recurrent dropout (Gal &
  /// Ghahramani; Keras `recurrent_dropout`): R = (h_{t-1} * m) . W_hh^T.
  @discardableResult
  public func forward(
    _ x: Tensor<Scalar>, initialState: RecurrentState<Scalar>? = nil, mask: Tensor<Scalar>? = nil,
    recurrentDropoutMask: Tensor<Scalar>? = nil, tape: RecurrentTape<Scalar>? = nil
  ) -> RecurrentOutput<Scalar> {
    precondition(
      x.rank == 3 && x.shape[2] == inputSize,
      "RecurrentLayer.forward: x must be [batch, steps, \(inputSize)], got \(x.shape)")
    let tape = tape ?? defaultTape
    let B = x.shape[0], T = x.shape[1], I = inputSize, H = hiddenSize, G = Cell.gateCount * H
    checkState(initialState, batch: B, what: "initialState")
    tape.batch = B
    tape.steps = T
    tape.isRecorded = true
    recordMask(mask, batch: B, steps: T, on: tape)
    let masks = tape.stepIsPartial != nil ? UnsafePointer(tape.mask.pointer) : nil
    let rmask: UnsafePointer<Scalar>? = recurrentDropoutMask.map { m in
      precondition(m.shape == [B, H], "RecurrentLayer.forward: recurrentDropoutMask must be \([B, H]), got \(m.shape)")
      let p = tape.recurrentMask.reserve(B * H)
      m.withUnsafeBufferPointer { p.update(from: $0.baseAddress!, count: B * H) }
      return UnsafePointer(p)
    }
    tape.hasRecurrentMask = rmask != nil
    let hm = rmask != nil ? maskedH.reserve(B * H) : nil
    let xs = tape.x.reserve(T * B * I)
    let gates = tape.gates.reserve(T * B * G)
    let hs = tape.h.reserve((T + 1) * B * H)
    let cs = Cell.hasCellState ? tape.c.reserve((T + 1) * B * H) : nil
    let extras = Cell.extraSavedPerUnit > 0 ? tape.extra.reserve(T * B * H * Cell.extraSavedPerUnit) : nil
    let recurrent = scratch.reserve(B * G)

    // Slot 0 of h (and c) holds the initial state.
    if let h0 = initialState?.h { h0.withUnsafeBufferPointer { hs.update(from: $0.baseAddress!, count: B * H) } }
    else { WorkspaceBuffer<Scalar>.zeroFill(hs, count: B * H) }
    if let cs {
      if let c0 = initialState?.c { c0.withUnsafeBufferPointer { cs.update(from: $0.baseAddress!, count: B * H) } }
      else { WorkspaceBuffer<Scalar>.zeroFill(cs, count: B * H) }
    }
    let fused = self.fused
    tape.usedFusedKernels = fused != nil
    tape.xIsTimeMajor = true
    tape.input = nil
    // The fused LSTM or GRU without masks: projection, loop and batch-first output in one C call.
    var direct: [Scalar]? = nil
    if let kind = fused, rmask == nil, masks == nil, B * T * H > 0 {
      direct = forwardFusedSequence(
        kind, x, B: B, T: T, gates: gates, hs: hs, cs: cs, extras: extras, recurrent: recurrent, xs: xs, tape: tape)
    }
    if direct == nil {
      x.withUnsafeBufferPointer { xb in
        Reductions.swapBatchAndTime(
          xb.baseAddress!, xs, batch: B, steps: T, features: I, reversed: goBackwards, batchFirstToTimeMajor: true)
      }
      store.withBuffers { params, _ in
        let wih = params + weightIH.offset, whh = params + weightHH.offset
        let bih = params + biasIH.offset, bhh = params + biasHH.offset
        // G = X . W_ih^T (+ b_ih on the reference path)              gates: [T*B, G*H]
        Scalar.gemm(
          transA: false, transB: true, m: T * B, n: G, k: I,
          alpha: 1, a: xs, lda: I, b: wih, ldb: I, beta: 0, c: gates, ldc: G)
        if let kind = fused {
          let bsum = biasSum.reserve(G)
          bsum.update(from: bih, count: G)
          Reductions.axpy(count: G, alpha: 1, bhh, bsum)
          FusedSteps(
            kind: kind, B: B, T: T, H: H, gates: gates._f32, hs: hs._f32, cs: cs?._f32, extras: extras?._f32,
            recurrent: recurrent._f32, maskedH: hm?._f32, whh: whh._f32, biasSum: bsum._f32, bih: bih._f32,
            bhh: bhh._f32, recurrentMask: rmask?._f32, masks: masks?._f32, stepIsPartial: tape.stepIsPartial
          ).forward()
          return
        }
        Reductions.addRowVector(bih, to: gates, rows: T * B, cols: G)
        if resetsBeforeRecurrence {
          resetBeforeForward(
            B: B, T: T, H: H, gates: gates, hs: hs, extras: extras!, recurrent: recurrent, whh: whh, bhh: bhh,
            recurrentMask: rmask, maskedH: hm, masks: masks, stepIsPartial: tape.stepIsPartial)
          return
        }
        for t in 0..<T {
          let hPrev = hs + t * B * H
          var gemmInput = UnsafePointer(hPrev)
          if let rmask, let hm {  // h_{t-1} * m
            Reductions.multiply(count: B * H, hPrev, rmask, into: hm)
            gemmInput = UnsafePointer(hm)
          }
          // R = h_{t-1} . W_hh^T                                   recurrent: [B, G*H]
          Scalar.gemm(
            transA: false, transB: true, m: B, n: G, k: H,
            alpha: 1, a: gemmInput, lda: H, b: whh, ldb: H, beta: 0, c: recurrent, ldc: G)
          let E = H * Cell.extraSavedPerUnit
          func step(rows: Range<Int>) {
            let r0 = rows.lowerBound
            cell.forward(
              CellForwardStep(
                batch: rows.count, hidden: H, gates: gates + (t * B + r0) * G, recurrent: recurrent + r0 * G,
                recurrentBias: bhh, hPrev: hPrev + r0 * H, h: hs + ((t + 1) * B + r0) * H,
                cPrev: cs.map { UnsafePointer($0 + (t * B + r0) * H) }, c: cs.map { $0 + ((t + 1) * B + r0) * H },
                extra: extras.map { $0 + (t * B + r0) * E }))
          }
          if let masks, tape.stepIsPartial![t] {
            // Padded rows carry their state; real rows step.
            for b in 0..<B {
              if masks[t * B + b] != 0 { step(rows: b..<(b + 1)); continue }
              (hs + ((t + 1) * B + b) * H).update(from: hPrev + b * H, count: H)
              if let cs { (cs + ((t + 1) * B + b) * H).update(from: cs + (t * B + b) * H, count: H) }
            }
          } else {
            step(rows: 0..<B)
          }
        }
      }
    }

    // Output in processing order: never reversed back (Keras go_backwards semantics).
    let sequence = Tensor<Scalar>(
      shape: [B, T, H],
      scalars: direct ?? Array(unsafeUninitializedCapacity: B * T * H) { out, count in
        if B * T * H > 0 {
          Reductions.swapBatchAndTime(
            UnsafePointer(hs + B * H), out.baseAddress!, batch: B, steps: T, features: H, reversed: false,
            batchFirstToTimeMajor: false)
          // Padded steps output zeros (Keras zero_output_for_mask, PyTorch's padded packed output).
          if let masks {
            for t in 0..<T where tape.stepIsPartial![t] {
              for b in 0..<B where masks[t * B + b] == 0 {
                WorkspaceBuffer<Scalar>.zeroFill(out.baseAddress! + (b * T + t) * H, count: H)
              }
            }
          }
        }
        count = B * T * H
      })
    let hT = Tensor(shape: [B, H], scalars: Array(UnsafeBufferPointer(start: hs + T * B * H, count: B * H)))
    let cT = cs.map { Tensor(shape: [B, H], scalars: Array(UnsafeBufferPointer(start: $0 + T * B * H, count: B * H))) }
    return RecurrentOutput(sequence: sequence, finalState: RecurrentState(h: hT, c: cT))
  }

  // MARK: - Backward

  /// Backpropagates through time from dL/d(sequence) [B, T, H] and dL/d(final state) [B, H]
  /// (either may be nil: zero), using what `forward` recorded on `tape`. Parameter gradients
  /// are *added* to `store.grads`; dL/dx and dL/d(initial state) are returned.
  ///
  /// `inputGradient: false` skips dL/dx (the GEMM dX = dG . W_ih, as much work as the forward
  /// input projection) when nothing upstream needs it, e.g. for a model's first layer; the
  /// returned `input` is then an empty tensor of shape [0].
  public func backward(
    sequenceGradient: Tensor<Scalar>? = nil, finalStateGradient: RecurrentState<Scalar>? = nil,
    tape: RecurrentTape<Scalar>? = nil, inputGradient: Bool = true
  ) -> RecurrentGradients<Scalar> {
    let tape = tape ?? defaultTape
    precondition(tape.isRecorded, "RecurrentLayer.backward: call forward first")
    let B = tape.batch, T = tape.steps, I = inputSize, H = hiddenSize, G = Cell.gateCount * H
    if let dY = sequenceGradient {
      precondition(dY.shape == [B, T, H], "RecurrentLayer.backward: sequenceGradient must be \([B, T, H]), got \(dY.shape)")
    }
    checkState(finalStateGradient, batch: B, what: "finalStateGradient")
    if !tape.xIsTimeMajor, let input = tape.input {  // forward read x batch-first
      input.withUnsafeBufferPointer { xb in
        Reductions.swapBatchAndTime(
          xb.baseAddress!, tape.x.reserve(T * B * I), batch: B, steps: T, features: I, reversed: goBackwards,
          batchFirstToTimeMajor: true)
      }
      tape.xIsTimeMajor = true
      tape.input = nil
    }
    let xs = tape.x.pointer, gates = tape.gates.pointer, hs = tape.h.pointer
    let cs = Cell.hasCellState ? tape.c.pointer : nil
    let extras = Cell.extraSavedPerUnit > 0 ? tape.extra.pointer : nil
    let masks = tape.stepIsPartial != nil ? UnsafePointer(tape.mask.pointer) : nil
    let rmask = tape.hasRecurrentMask ? UnsafePointer(tape.recurrentMask.pointer) : nil

    let dGx = dGatesInput.reserve(T * B * G)
    let dGh = Cell.splitsRecurrentGradient ? dGatesRecurrent.reserve(T * B * G) : dGx
    let dHs = sequenceGradient == nil ? dH.zeroed(T * B * H) : dH.reserve(T * B * H)
    let dh0p = dh0.zeroed(B * H)
    let dcp = Cell.hasCellState ? dc.zeroed(B * H) : nil
    let tmp = scratch.reserve(B * G)
    // dH[t] = dL/dh_{t+1} from the outputs, time-major; plus the final-state gradients.
    if let dY = sequenceGradient {
      dY.withUnsafeBufferPointer { d in
        if T * B * H > 0 {
          Reductions.swapBatchAndTime(
            d.baseAddress!, dHs, batch: B, steps: T, features: H, reversed: false, batchFirstToTimeMajor: true)
        }
      }
      // Padded outputs are constant zeros: no gradient flows from them.
      if let partial = tape.stepIsPartial {
        let m = tape.mask.pointer
        for t in 0..<T where partial[t] {
          for b in 0..<B where m[t * B + b] == 0 { WorkspaceBuffer<Scalar>.zeroFill(dHs + (t * B + b) * H, count: H) }
        }
      }
    }
    if T > 0, let dhT = finalStateGradient?.h {
      dhT.withUnsafeBufferPointer { Reductions.axpy(count: B * H, alpha: 1, $0.baseAddress!, dHs + (T - 1) * B * H) }
    }
    if let dcp, let dcT = finalStateGradient?.c {
      dcT.withUnsafeBufferPointer { dcp.update(from: $0.baseAddress!, count: B * H) }
    }
    // T == 0: the final state is the initial state.
    if T == 0, let dhT = finalStateGradient?.h {
      dhT.withUnsafeBufferPointer { dh0p.update(from: $0.baseAddress!, count: B * H) }
    }

    // The path forward took (the fused SimpleRNN keeps pre-activations in `gates`).
    let fused = tape.usedFusedKernels ? fusedKind : nil
    store.withBuffers { params, grads in
      let wih = params + weightIH.offset, whh = params + weightHH.offset
      let dbih = grads + biasIH.offset, dbhh = grads + biasHH.offset
      if let kind = fused {
        // The kernels add each step's dG rows into the bias gradients while they are hot. LSTM
        // and SimpleRNN have dG_x = dG_h: one sum, added to both biases after the loop.
        let split = Cell.splitsRecurrentGradient
        let db = split ? dbih : biasSum.zeroed(G)
        FusedSteps(
          kind: kind, B: B, T: T, H: H, gates: gates._f32, hs: hs._f32, cs: cs?._f32, extras: extras?._f32,
          recurrent: tmp._f32, maskedH: rmask != nil ? maskedH.reserve(B * H)._f32 : nil, whh: whh._f32,
          biasSum: nil, bih: nil, bhh: nil, recurrentMask: rmask?._f32, masks: masks?._f32,
          stepIsPartial: tape.stepIsPartial
        ).backward(
          dHs: dHs._f32, dh0: dh0p._f32, dc: dcp?._f32, dGx: dGx._f32, dGh: dGh._f32, dbx: db._f32,
          dbh: split ? dbhh._f32 : nil)
        if !split {
          Reductions.axpy(count: G, alpha: 1, db, dbih)
          Reductions.axpy(count: G, alpha: 1, db, dbhh)
        }
      } else if resetsBeforeRecurrence {
        resetBeforeBackward(
          B: B, T: T, H: H, gates: gates, hs: hs, whh: whh, recurrentMask: rmask, masks: masks,
          stepIsPartial: tape.stepIsPartial, dHs: dHs, dh0: dh0p, dGx: dGx, dGh: dGh, scratch: tmp)
      } else {
        let E = H * Cell.extraSavedPerUnit
        for t in stride(from: T - 1, through: 0, by: -1) {
          let dhPrev = t > 0 ? dHs + (t - 1) * B * H : dh0p
          func step(rows: Range<Int>) {
            let r0 = rows.lowerBound
            cell.backward(
              CellBackwardStep(
                batch: rows.count, hidden: H, gates: gates + (t * B + r0) * G,
                extra: extras.map { UnsafePointer($0 + (t * B + r0) * E) },
                hPrev: hs + (t * B + r0) * H, h: hs + ((t + 1) * B + r0) * H,
                cPrev: cs.map { UnsafePointer($0 + (t * B + r0) * H) },
                c: cs.map { UnsafePointer($0 + ((t + 1) * B + r0) * H) },
                dh: dHs + (t * B + r0) * H, dc: dcp.map { $0 + r0 * H }, dhPrev: dhPrev + r0 * H,
                dGatesInput: dGx + (t * B + r0) * G, dGatesRecurrent: dGh + (t * B + r0) * G, scratch: tmp))
          }
          if let masks, tape.stepIsPartial![t] {
            for b in 0..<B {
              if masks[t * B + b] != 0 { step(rows: b..<(b + 1)); continue }
              // reverses the carry h_t = h_{t-1} (and c_t = c_{t-1}): the gradient passes through.
              Reductions.axpy(count: H, alpha: 1, dHs + (t * B + b) * H, dhPrev + b * H)
              WorkspaceBuffer<Scalar>.zeroFill(dGx + (t * B + b) * G, count: G)
              if Cell.splitsRecurrentGradient { WorkspaceBuffer<Scalar>.zeroFill(dGh + (t * B + b) * G, count: G) }
            }
          } else {
            step(rows: 0..<B)
          }
          // reverses R = h_{t-1} . W_hh^T:  dh_{t-1} += dG_h[t] . W_hh        [B, G*H] x [G*H, H]
          if let rmask {
            // reverses R = (h_{t-1} * m) . W_hh^T:  dh_{t-1} += (dG_h[t] . W_hh) * m
            let tmpH = maskedH.reserve(B * H)
            Scalar.gemm(
              transA: false, transB: false, m: B, n: H, k: G,
              alpha: 1, a: dGh + t * B * G, lda: G, b: whh, ldb: H, beta: 0, c: tmpH, ldc: H)
            Reductions.addProduct(count: B * H, tmpH, rmask, into: dhPrev)
          } else {
            Scalar.gemm(
              transA: false, transB: false, m: B, n: H, k: G,
              alpha: 1, a: dGh + t * B * G, lda: G, b: whh, ldb: H, beta: 1, c: dhPrev, ldc: H)
          }
        }
      }
      guard T > 0 else { return }
      // dW_hh += dG_h^T . [h_0 ... h_{T-1}]                        [G*H, T*B] x [T*B, H]
      var hsUsed = UnsafePointer(hs)
      if let rmask {  // the recurrent GEMM saw h * m
        let hmAll = maskedH.reserve(T * B * H)
        for t in 0..<T { Reductions.multiply(count: B * H, hs + t * B * H, rmask, into: hmAll + t * B * H) }
        hsUsed = UnsafePointer(hmAll)
      }
      if resetsBeforeRecurrence {  // the n rows saw r * h̃ instead
        resetBeforeRecurrentWeightGradients(
          T: T, B: B, H: H, dGh: dGh, hsUsed: hsUsed, resetHidden: extras!, dWhh: grads + weightHH.offset)
      } else {
        Scalar.gemm(
          transA: true, transB: false, m: G, n: H, k: T * B,
          alpha: 1, a: dGh, lda: G, b: hsUsed, ldb: H, beta: 1, c: grads + weightHH.offset, ldc: H)
      }
      // dW_ih += dG_x^T . X                                         [G*H, T*B] x [T*B, I]
      Scalar.gemm(
        transA: true, transB: false, m: G, n: I, k: T * B,
        alpha: 1, a: dGx, lda: G, b: xs, ldb: I, beta: 1, c: grads + weightIH.offset, ldc: I)
      // db_ih += colsum(dG_x);  db_hh += colsum(dG_h)   (the fused kernels did it in the loop)
      if fused == nil {
        Reductions.addColumnSums(dGx, rows: T * B, cols: G, into: dbih)
        Reductions.addColumnSums(dGh, rows: T * B, cols: G, into: dbhh)
      }
      // dX = dG_x . W_ih                                            [T*B, G*H] x [G*H, I]
      guard inputGradient else { return }
      Scalar.gemm(
        transA: false, transB: false, m: T * B, n: I, k: G,
        alpha: 1, a: dGx, lda: G, b: wih, ldb: I, beta: 0, c: dX.reserve(T * B * I), ldc: I)
    }

    let dx = !inputGradient ? Tensor<Scalar>(shape: [0]) : Tensor<Scalar>(
      shape: [B, T, I],
      scalars: Array(unsafeUninitializedCapacity: B * T * I) { out, count in
        if B * T * I > 0 {
          Reductions.swapBatchAndTime(
            UnsafePointer(dX.pointer), out.baseAddress!, batch: B, steps: T, features: I, reversed: goBackwards,
            batchFirstToTimeMajor: false)
        }
        count = B * T * I
      })
    let dhInit = Tensor(shape: [B, H], scalars: Array(UnsafeBufferPointer(start: dh0p, count: B * H)))
    let dcInit = dcp.map { Tensor(shape: [B, H], scalars: Array(UnsafeBufferPointer(start: $0, count: B * H))) }
    return RecurrentGradients(input: dx, initialState: RecurrentState(h: dhInit, c: dcInit))
  }

  /// Stores `mask` [B, T] time-major (in processing order) on the tape and notes which steps
  /// have padding; a mask of all ones is dropped (the fast path).
  private func recordMask(_ mask: Tensor<Scalar>?, batch B: Int, steps T: Int, on tape: RecurrentTape<Scalar>) {
    tape.stepIsPartial = nil
    guard let mask else { return }
    precondition(mask.shape == [B, T], "RecurrentLayer.forward: mask must be \([B, T]), got \(mask.shape)")
    let m = tape.mask.reserve(T * B)
    var partial = [Bool](repeating: false, count: T)
    mask.withUnsafeBufferPointer { src in
      for b in 0..<B {
        for t in 0..<T {
          let v: Scalar = src[b * T + (goBackwards ? T - 1 - t : t)] != 0 ? 1 : 0
          m[t * B + b] = v
          if v == 0 { partial[t] = true }
        }
      }
    }
    if partial.contains(true) { tape.stepIsPartial = partial }
  }

  private func checkState(_ state: RecurrentState<Scalar>?, batch: Int, what: String) {
    guard let state else { return }
    precondition(
      state.h.shape == [batch, hiddenSize],
      "RecurrentLayer: \(what).h must be \([batch, hiddenSize]), got \(state.h.shape)")
    if Cell.hasCellState, let c = state.c {
      precondition(c.shape == [batch, hiddenSize], "RecurrentLayer: \(what).c must be \([batch, hiddenSize]), got \(c.shape)")
    }
  }
}
