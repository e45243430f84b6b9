import CRecurrentKernels
import Foundation
@testable import Recurrent
import RecurrentTestSupport
import Testing

/// The fused C cell kernels (rk_cells.h) against the cells' Swift kernels, on both instruction
/// sets: activations against libm in Double, each kernel on odd sizes, and whole layers (fused
/// Float path vs the Swift Float path) with every option that reaches the step loop.
@Suite(.serialized) struct CellKernelTests {
  static let sizes = [(1, 1), (1, 3), (2, 8), (3, 17), (2, 65)]  // (B, H)

  /// Runs `body` with the cell kernels on the portable path and on the best ISA. The cap is
  /// per thread (rk_cells_set_thread_isa), so suites running concurrently are not affected;
  /// GEMM and vector math keep their ISA.
  static func onEveryISA(_ body: (String) -> Void) {
    defer { rk_cells_set_thread_isa(-1) }
    rk_cells_set_thread_isa(Int32(RK_ISA_PORTABLE.rawValue))
    body("portable")
    rk_cells_set_thread_isa(-1)
    body(ComputeSettings.activeInstructionSet)
  }

  static func random(_ n: Int, _ rng: inout SeededGenerator, scale: Double = 2) -> [Float] {
    (0..<n).map { _ in Float(scale * (2 * rng.nextUnit() - 1)) }
  }

  // MARK: Activations

  /// Inputs covering the float line: a dense sweep of [-20, 20], a sparse one out to +-100,
  /// tiny magnitudes and the special values.
  static var activationInputs: [Float] {
    var x = [Float]()
    var v: Float = -20
    while v <= 20 { x.append(v); v += 0.000_37 }
    v = -100
    while v <= 100 { x.append(v); v += 0.013 }
    for e in stride(from: -40, through: 0, by: 1) { x.append(powf(10, Float(e))); x.append(-powf(10, Float(e))) }
    x += [0, -0, 0.625, -0.625, 0.624_999_9, 88, -88, 89, -89, 104, -104, .infinity, -.infinity]
    x += [.leastNonzeroMagnitude, -.leastNonzeroMagnitude, .greatestFiniteMagnitude, -.greatestFiniteMagnitude]
    return x
  }

  @Test func activationsMatchLibmToOneMillionth() {
    let x = Self.activationInputs
    let specials: [Float] = [.nan, .infinity, -.infinity]
    var results = [(String, [Float], [Float], [Float], [Float])]()
    Self.onEveryISA { isa in
      var t = [Float](repeating: 0, count: x.count), s = t
      var ts = [Float](repeating: 0, count: 3), ss = ts
      rk_cells_tanh_f32(x.count, x, &t)
      rk_cells_sigmoid_f32(x.count, x, &s)
      rk_cells_tanh_f32(3, specials, &ts)
      rk_cells_sigmoid_f32(3, specials, &ss)
      results.append((isa, t, s, ts, ss))
    }
    for (isa, t, s, ts, ss) in results {
      var worstT = 0.0, worstS = 0.0
      for k in x.indices {
        let xd = Double(x[k])
        let rt = Foundation.tanh(xd), rs = 1 / (1 + Foundation.exp(-xd))
        // Relative error where the exact value is a normal float, absolute below that.
        func err(_ y: Float, _ r: Double) -> Double {
          abs(r) >= Double(Float.leastNormalMagnitude) ? abs(Double(y) - r) / abs(r) : abs(Double(y) - r) / 1e-30
        }
        worstT = max(worstT, err(t[k], rt))
        worstS = max(worstS, err(s[k], rs))
        #expect(t[k] >= -1 && t[k] <= 1 && s[k] >= 0 && s[k] <= 1, "\(isa): x = \(x[k])")
      }
      #expect(worstT <= 1e-6, "\(isa): tanh max rel error \(worstT)")
      #expect(worstS <= 1e-6, "\(isa): sigmoid max rel error \(worstS)")
      #expect(ts[0].isNaN && ss[0].isNaN, "\(isa): NaN must propagate")
      #expect(abs(ts[1] - 1) <= 1e-6 && abs(ts[2] + 1) <= 1e-6 && ss[1] == 1 && ss[2] < 1e-38, "\(isa): limits")
    }
  }

  // MARK: Step kernels against the Swift cells

  /// A heap buffer with a stable address for the duration of a test.
  final class Buf {
    let p: UnsafeMutablePointer<Float>
    let count: Int
    init(_ a: [Float]) {
      count = a.count
      p = .allocate(capacity: max(1, count))
      p.initialize(from: a, count: count)
    }
    convenience init(zeros n: Int) { self.init([Float](repeating: 0, count: n)) }
    deinit { p.deallocate() }
    var array: [Float] { Array(UnsafeBufferPointer(start: p, count: count)) }
    var c: UnsafePointer<Float> { UnsafePointer(p) }
  }

  static func maxDiff(_ a: Buf, _ b: Buf) -> Double { maxAbsoluteDifference(a.array, b.array) }

  @Test func lstmKernelsMatchTheSwiftCell() {
    Self.onEveryISA { isa in
      for (B, H) in Self.sizes {
        var rng = SeededGenerator(seed: UInt64(100 + B * 7 + H))
        let G = 4 * H
        let xp = Self.random(B * G, &rng), rp = Self.random(B * G, &rng)
        let bih = Self.random(G, &rng, scale: 0.5), bhh = Buf(Self.random(G, &rng, scale: 0.5))
        let cPrev = Buf(Self.random(B * H, &rng)), hPrev = Buf(Self.random(B * H, &rng))
        // Swift: gates = x W_ih^T + b_ih, recurrent = h W_hh^T, recurrentBias = b_hh
        let sg = Buf((0..<(B * G)).map { xp[$0] + bih[$0 % G] }), rec = Buf(rp)
        let sc = Buf(zeros: B * H), sh = Buf(zeros: B * H)
        LSTMCell().forward(
          CellForwardStep(
            batch: B, hidden: H, gates: sg.p, recurrent: rec.p, recurrentBias: bhh.c, hPrev: hPrev.c, h: sh.p,
            cPrev: cPrev.c, c: sc.p, extra: nil))
        // C: a = x W_ih^T + h W_hh^T, bias = b_ih + b_hh
        let cg = Buf((0..<(B * G)).map { xp[$0] + rp[$0] }), bias = Buf((0..<G).map { bih[$0] + bhh.p[$0] })
        let cc = Buf(zeros: B * H), ch = Buf(zeros: B * H)
        rk_lstm_forward_f32(B, H, cg.p, bias.c, cPrev.c, cc.p, ch.p)
        #expect(Self.maxDiff(sg, cg) < 2e-6 && Self.maxDiff(sc, cc) < 1e-5 && Self.maxDiff(sh, ch) < 1e-5, "\(isa) B\(B) H\(H)")

        // Backward from the same saved values.
        let dh = Buf(Self.random(B * H, &rng)), dcIn = Self.random(B * H, &rng)
        let sdc = Buf(dcIn), cdc = Buf(dcIn), sdg = Buf(zeros: B * G), cdg = Buf(zeros: B * G)
        let scratch = Buf(zeros: B * G), dhp = Buf(zeros: B * H)
        LSTMCell().backward(
          CellBackwardStep(
            batch: B, hidden: H, gates: sg.c, extra: nil, hPrev: hPrev.c, h: sh.c, cPrev: cPrev.c, c: sc.c, dh: dh.c,
            dc: sdc.p, dhPrev: dhp.p, dGatesInput: sdg.p, dGatesRecurrent: sdg.p, scratch: scratch.p))
        let db = Buf(Self.random(G, &rng))
        let dbWant = (0..<G).map { j in (0..<B).reduce(db.p[j]) { $0 + sdg.p[$1 * G + j] } }
        rk_lstm_backward_f32(B, H, sg.c, cPrev.c, sc.c, dh.c, cdc.p, cdg.p, db.p)
        #expect(Self.maxDiff(sdc, cdc) < 1e-5 && Self.maxDiff(sdg, cdg) < 1e-5, "\(isa) backward B\(B) H\(H)")
        #expect(maxAbsoluteDifference(db.array, dbWant) < 1e-5, "\(isa) bias gradient B\(B) H\(H)")
      }
    }
  }

  @Test func lstmForwardRowSplitGivesTheSameBitsForAnyThreadCount() {
    let saved = ComputeSettings.threadCount
    defer { ComputeSettings.threadCount = saved }
    Self.onEveryISA { isa in
      // Above the split threshold (B * H >= 2048), odd row counts, a masked AVX2 tail (H % 8 != 0).
      for (B, H) in [(64, 256), (33, 100), (3, 1000)] {
        var rng = SeededGenerator(seed: UInt64(B * 31 + H))
        let a = Self.random(B * 4 * H, &rng), bias = Buf(Self.random(4 * H, &rng, scale: 0.5))
        let cPrev = Buf(Self.random(B * H, &rng))
        func run(_ kernel: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) -> Void)
          -> [UInt32]
        {
          let g = Buf(a), c = Buf(zeros: B * H), h = Buf(zeros: B * H)
          kernel(g.p, c.p, h.p)
          return (g.array + c.array + h.array).map(\.bitPattern)
        }
        let want = run { rk_lstm_forward_f32(B, H, $0, bias.c, cPrev.c, $1, $2) }
        for threads in [1, 2, 3] {
          ComputeSettings.threadCount = threads
          let got = run { rk_lstm_forward_f32_mt(B, H, $0, bias.c, cPrev.c, $1, $2) }
          #expect(got == want, "\(isa) B\(B) H\(H) threads \(threads)")
        }
      }
    }
  }

  @Test func gruForwardRowSplitGivesTheSameBitsForAnyThreadCount() {
    let saved = ComputeSettings.threadCount
    defer { ComputeSettings.threadCount = saved }
    Self.onEveryISA { isa in
      // Above the split threshold (B * H >= 2048), odd row counts, a masked AVX2 tail (H % 8 != 0).
      for (B, H) in [(64, 256), (33, 100), (3, 1000)] {
        var rng = SeededGenerator(seed: UInt64(B * 37 + H))
        let a = Self.random(B * 3 * H, &rng), rec = Buf(Self.random(B * 3 * H, &rng))
        let bih = Buf(Self.random(3 * H, &rng, scale: 0.5)), bhh = Buf(Self.random(3 * H, &rng, scale: 0.5))
        let hPrev = Buf(Self.random(B * H, &rng))
        func run(_ kernel: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) -> Void)
          -> [UInt32]
        {
          let g = Buf(a), hn = Buf(zeros: B * H), h = Buf(zeros: B * H)
          kernel(g.p, hn.p, h.p)
          return (g.array + hn.array + h.array).map(\.bitPattern)
        }
        let want = run { rk_gru_forward_f32(B, H, $0, rec.c, bih.c, bhh.c, hPrev.c, $1, $2) }
        for threads in [1, 2, 3] {
          ComputeSettings.threadCount = threads
          let got = run { rk_gru_forward_f32_mt(B, H, $0, rec.c, bih.c, bhh.c, hPrev.c, $1, $2) }
          #expect(zip(got, want).filter { $0 != $1 }.count == 0 && got.count == want.count, "\(isa) B\(B) H\(H) threads \(threads)")
        }
      }
    }
  }

  @Test func gruKernelsMatchTheSwiftCell() {
    Self.onEveryISA { isa in
      for (B, H) in Self.sizes {
        var rng = SeededGenerator(seed: UInt64(200 + B * 7 + H))
        let G = 3 * H
        let xp = Self.random(B * G, &rng), rp = Buf(Self.random(B * G, &rng))
        let bih = Buf(Self.random(G, &rng, scale: 0.5)), bhh = Buf(Self.random(G, &rng, scale: 0.5))
        let hPrev = Buf(Self.random(B * H, &rng))
        let sg = Buf((0..<(B * G)).map { xp[$0] + bih.p[$0 % G] }), rec = Buf(rp.array)
        let sh = Buf(zeros: B * H), shn = Buf(zeros: B * H)
        GRUCell().forward(
          CellForwardStep(
            batch: B, hidden: H, gates: sg.p, recurrent: rec.p, recurrentBias: bhh.c, hPrev: hPrev.c, h: sh.p,
            cPrev: nil, c: nil, extra: shn.p))
        let cg = Buf(xp), ch = Buf(zeros: B * H), chn = Buf(zeros: B * H)
        rk_gru_forward_f32(B, H, cg.p, rp.c, bih.c, bhh.c, hPrev.c, chn.p, ch.p)
        #expect(Self.maxDiff(sg, cg) < 2e-6 && Self.maxDiff(shn, chn) < 1e-6 && Self.maxDiff(sh, ch) < 1e-5, "\(isa) B\(B) H\(H)")

        let dh = Buf(Self.random(B * H, &rng)), dhpIn = Self.random(B * H, &rng)
        let sdhp = Buf(dhpIn), cdhp = Buf(dhpIn)
        let sdx = Buf(zeros: B * G), sdr = Buf(zeros: B * G), cdx = Buf(zeros: B * G), cdr = Buf(zeros: B * G)
        let scratch = Buf(zeros: B * G)
        GRUCell().backward(
          CellBackwardStep(
            batch: B, hidden: H, gates: sg.c, extra: shn.c, hPrev: hPrev.c, h: sh.c, cPrev: nil, c: nil, dh: dh.c,
            dc: nil, dhPrev: sdhp.p, dGatesInput: sdx.p, dGatesRecurrent: sdr.p, scratch: scratch.p))
        let dbx = Buf(Self.random(G, &rng)), dbh = Buf(Self.random(G, &rng))
        let dbxWant = (0..<G).map { j in (0..<B).reduce(dbx.p[j]) { $0 + sdx.p[$1 * G + j] } }
        let dbhWant = (0..<G).map { j in (0..<B).reduce(dbh.p[j]) { $0 + sdr.p[$1 * G + j] } }
        rk_gru_backward_f32(B, H, sg.c, shn.c, hPrev.c, dh.c, cdhp.p, cdx.p, cdr.p, dbx.p, dbh.p)
        #expect(
          Self.maxDiff(sdhp, cdhp) < 1e-5 && Self.maxDiff(sdx, cdx) < 1e-5 && Self.maxDiff(sdr, cdr) < 1e-5,
          "\(isa) backward B\(B) H\(H)")
        #expect(
          maxAbsoluteDifference(dbx.array, dbxWant) < 1e-5 && maxAbsoluteDifference(dbh.array, dbhWant) < 1e-5,
          "\(isa) bias gradients B\(B) H\(H)")
      }
    }
  }

  @Test(arguments: [SimpleRNNCell.Activation.tanh, .relu])
  func simpleRNNKernelsMatchTheSwiftCell(activation: SimpleRNNCell.Activation) {
    let cell = SimpleRNNCell(activation: activation)
    let relu: Int32 = activation == .relu ? 1 : 0
    Self.onEveryISA { isa in
      for (B, H) in Self.sizes {
        var rng = SeededGenerator(seed: UInt64(300 + B * 7 + H))
        let xp = Self.random(B * H, &rng), rp = Self.random(B * H, &rng)
        let bih = Self.random(H, &rng, scale: 0.5), bhh = Buf(Self.random(H, &rng, scale: 0.5))
        let hPrev = Buf(Self.random(B * H, &rng))
        let sg = Buf((0..<(B * H)).map { xp[$0] + bih[$0 % H] }), rec = Buf(rp), sh = Buf(zeros: B * H)
        cell.forward(
          CellForwardStep(
            batch: B, hidden: H, gates: sg.p, recurrent: rec.p, recurrentBias: bhh.c, hPrev: hPrev.c, h: sh.p,
            cPrev: nil, c: nil, extra: nil))
        let a = Buf((0..<(B * H)).map { xp[$0] + rp[$0] }), bias = Buf((0..<H).map { bih[$0] + bhh.p[$0] })
        let ch = Buf(zeros: B * H)
        rk_rnn_forward_f32(B, H, relu, a.c, bias.c, ch.p)
        #expect(Self.maxDiff(sh, ch) < 1e-5, "\(isa) \(activation) B\(B) H\(H)")

        let dh = Buf(Self.random(B * H, &rng))
        let sda = Buf(zeros: B * H), cda = Buf(zeros: B * H), scratch = Buf(zeros: B * H), dhp = Buf(zeros: B * H)
        cell.backward(
          CellBackwardStep(
            batch: B, hidden: H, gates: sh.c, extra: nil, hPrev: hPrev.c, h: sh.c, cPrev: nil, c: nil, dh: dh.c,
            dc: nil, dhPrev: dhp.p, dGatesInput: sda.p, dGatesRecurrent: sda.p, scratch: scratch.p))
        let db = Buf(Self.random(H, &rng))
        let dbWant = (0..<H).map { j in (0..<B).reduce(db.p[j]) { $0 + sda.p[$1 * H + j] } }
        rk_rnn_backward_f32(B, H, relu, sh.c, dh.c, cda.p, db.p)
        #expect(Self.maxDiff(sda, cda) < 1e-6, "\(isa) \(activation) backward B\(B) H\(H)")
        #expect(maxAbsoluteDifference(db.array, dbWant) < 1e-5, "\(isa) \(activation) bias gradient B\(B) H\(H)")
      }
    }
  }

  // MARK: Whole layers: fused Float path vs the Swift Float path

  struct LayerCase: CustomStringConvertible, Sendable {
    var goBackwards = false
    var masked = false
    var recurrentDropout = false
    var description: String {
      (goBackwards ? "backwards " : "") + (masked ? "masked " : "") + (recurrentDropout ? "dropout" : "plain")
    }
  }

  static let layerCases = [
    LayerCase(), LayerCase(goBackwards: true), LayerCase(masked: true),
    LayerCase(goBackwards: true, masked: true, recurrentDropout: true), LayerCase(recurrentDropout: true),
  ]

  /// Max difference (scaled by the largest magnitude) between the fused and reference paths over
  /// outputs, final state, dX, d(initial state) and every parameter gradient.
  static func fusedVersusReference<Cell: RecurrentCell>(_ cell: Cell, _ c: LayerCase, B: Int, T: Int, I: Int, H: Int)
    -> Double
  {
    var rng = SeededGenerator(seed: 77)
    let layer = RecurrentLayer<Cell, Float>(
      cell, inputSize: I, hiddenSize: H, goBackwards: c.goBackwards,
      initialization: RecurrentInitialization(bias: .uniform(-0.5, 0.5)), generator: &rng)
    let x = Tensor<Float>(shape: [B, T, I], uniformIn: -1...1, using: &rng)
    let s0 = RecurrentState(
      h: Tensor<Float>(shape: [B, H], uniformIn: -1...1, using: &rng),
      c: Cell.hasCellState ? Tensor<Float>(shape: [B, H], uniformIn: -1...1, using: &rng) : nil)
    let dY = Tensor<Float>(shape: [B, T, H], uniformIn: -1...1, using: &rng)
    let dS = RecurrentState(
      h: Tensor<Float>(shape: [B, H], uniformIn: -1...1, using: &rng),
      c: Cell.hasCellState ? Tensor<Float>(shape: [B, H], uniformIn: -1...1, using: &rng) : nil)
    var mask: Tensor<Float>? = nil
    if c.masked {  // row b has length T - b (row 0 full), at least 1
      var m = Tensor<Float>(shape: [B, T], repeating: 1)
      for b in 0..<B { for t in max(1, T - b)..<T { m[b, t] = 0 } }
      mask = m
    }
    var rmask: Tensor<Float>? = nil
    if c.recurrentDropout {
      var m = Tensor<Float>(shape: [B, H])
      for k in 0..<m.count { m.scalars[k] = rng.nextUnit() < 0.3 ? 0 : 1 / 0.7 }
      rmask = m
    }
    func run(fused: Bool) -> [[Float]] {
      layer.usesFusedKernels = fused
      layer.store.zeroGradients()
      let o = layer.forward(x, initialState: s0, mask: mask, recurrentDropoutMask: rmask)
      let g = layer.backward(sequenceGradient: dY, finalStateGradient: dS)
      return [o.sequence.scalars, o.finalState.h.scalars, o.finalState.c?.scalars ?? [], g.input.scalars,
              g.initialState.h.scalars, g.initialState.c?.scalars ?? [], layer.store.grads]
    }
    let f = run(fused: true), r = run(fused: false)
    layer.usesFusedKernels = true
    var worst = 0.0
    for (a, b) in zip(f, r) {
      let scale = max(1, Double(b.map { abs($0) }.max() ?? 0))
      worst = max(worst, maxAbsoluteDifference(a, b) / scale)
    }
    return worst
  }

  @Test(arguments: layerCases)
  func fusedLayersMatchTheSwiftCells(_ c: LayerCase) {
    Self.onEveryISA { isa in
      // (32, 4, 9, 64): the fused LSTM's and GRU's rows split, which projects x inside its loop.
      for (B, T, I, H) in [(3, 6, 5, 7), (4, 5, 9, 16), (2, 3, 3, 33), (32, 4, 9, 64)] {
        let errors = [
          ("lstm", Self.fusedVersusReference(LSTMCell(), c, B: B, T: T, I: I, H: H)),
          ("gru", Self.fusedVersusReference(GRUCell(), c, B: B, T: T, I: I, H: H)),
          ("rnn", Self.fusedVersusReference(SimpleRNNCell(), c, B: B, T: T, I: I, H: H)),
          ("rnn_relu", Self.fusedVersusReference(SimpleRNNCell(activation: .relu), c, B: B, T: T, I: I, H: H)),
        ]
        for (kind, e) in errors { #expect(e < 2e-5, "\(isa) \(kind) \(c) B\(B) T\(T) I\(I) H\(H): \(e)") }
      }
    }
  }

  @Test func swiftPathIsUsedWhenFusedKernelsAreOffAndForDouble() {
    var rng = SeededGenerator(seed: 1)
    let f = RecurrentLayer<LSTMCell, Float>(LSTMCell(), inputSize: 2, hiddenSize: 3, generator: &rng)
    #expect(f.usesFusedKernels)
    f.usesFusedKernels = false
    let x = Tensor<Float>(shape: [1, 2, 2], uniformIn: -1...1, using: &rng)
    let a = f.forward(x).sequence
    f.usesFusedKernels = true
    let b = f.forward(x).sequence
    #expect(maxAbsoluteDifference(a, b) < 1e-6)
  }

  @Test func skippingTheInputGradientLeavesEveryOtherGradientAlone() {
    func check<Cell: RecurrentCell, S: TensorScalar>(_ cell: Cell, _: S.Type) {
      var rng = SeededGenerator(seed: 9)
      let layer = RecurrentLayer<Cell, S>(cell, inputSize: 5, hiddenSize: 6, generator: &rng)
      let x = Tensor<S>(shape: [3, 4, 5], uniformIn: -1...1, using: &rng)
      let dY = Tensor<S>(shape: [3, 4, 6], uniformIn: -1...1, using: &rng)
      layer.forward(x)
      let full = layer.backward(sequenceGradient: dY)
      let grads = layer.store.grads
      layer.store.zeroGradients()
      layer.forward(x)
      let part = layer.backward(sequenceGradient: dY, inputGradient: false)
      #expect(full.input.shape == [3, 4, 5] && part.input.shape == [0], "\(cell.kindName) \(S.self)")
      #expect(layer.store.grads == grads && part.initialState == full.initialState, "\(cell.kindName) \(S.self)")
    }
    check(LSTMCell(), Float.self)
    check(GRUCell(), Float.self)
    check(SimpleRNNCell(), Float.self)
    check(LSTMCell(), Double.self)
    check(GRUCell(), Double.self)
  }
}
