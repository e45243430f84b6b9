import CRecurrentKernels
import Foundation
@testable import Recurrent
import RecurrentTestSupport
import Testing

/// The fused LSTM time loops (rk_lstm_forward_sequence_f32 / rk_lstm_backward_sequence_f32: one
/// parallel region, each thread owning a range of hidden units) against the step-by-step loop
/// they replace (rk_sgemm + rk_lstm_forward_f32 / rk_lstm_backward_f32 per step): the same bits,
/// for 1, 2 and 3 threads, on both cell instruction sets, on shapes that exercise partial
/// micro-panels (H % 16 != 0), several K blocks (H > 256; 4H > 256 backward), several M blocks
/// (B > 144) and partial row tiles (B % 6 != 0). The forward splits the batch rows between the
/// threads when W_hh is at most 1M floats (4H * H; H <= 512) and each thread gets 8 or more rows,
/// else the hidden units: (32, 5, 128), (150, 3, 64), (45, 3, 72), (150, 2, 136), (64, 11, 48),
/// (17, 4, 128), (400, 2, 32) and (150, 2, 264) take the rows split, in row groups of one 6-row
/// tile each on AVX2 (4-row tiles for 32 = 4 * 6 + 2 * 4 and 64 = 10 * 6 + 4; a 3-row and a
/// 5-row last tile for 45 and 17; 400 rows are 67 tiles, more than 64 groups, so 34 groups of 2
/// tiles; 64 rows over 11 steps are claimed for 4, 4, then 3 steps; (150, 2, 264): two K
/// blocks), the others the units split ((145, 2, 520): two M blocks and two K blocks).
@Suite(.serialized) struct LSTMSequenceKernelTests {
  typealias Buf = CellKernelTests.Buf
  // (B, T, H). Steps of fewer than 131,072 multiply-adds (B * 4H * H) run on one thread whatever
  // the setting: the first eleven are above it, the last three below.
  static let shapes = [
    (32, 5, 128), (150, 3, 64), (45, 3, 72), (150, 2, 136), (64, 11, 48), (17, 4, 128), (400, 2, 32),
    (150, 2, 264), (145, 2, 520), (5, 3, 300), (13, 3, 100), (7, 4, 40), (2, 6, 16), (13, 4, 5),
  ]

  static func bits(_ bufs: Buf...) -> [UInt32] { bufs.flatMap { $0.array.map(\.bitPattern) } }

  /// How many values differ (a count, so a failure does not print whole arrays).
  static func differing(_ a: [UInt32], _ b: [UInt32]) -> Int {
    a.count != b.count ? max(a.count, b.count) : zip(a, b).filter { $0 != $1 }.count
  }

  struct Inputs {
    let B: Int, T: Int, H: Int
    let x: [Float], bias: Buf, whh: Buf, h0: [Float], c0: [Float]
    init(B: Int, T: Int, H: Int) {
      self.B = B
      self.T = T
      self.H = H
      var rng = SeededGenerator(seed: UInt64(B * 1_000 + T * 100 + H))
      x = CellKernelTests.random(T * B * 4 * H, &rng)
      bias = Buf(CellKernelTests.random(4 * H, &rng, scale: 0.5))
      whh = Buf(CellKernelTests.random(4 * H * H, &rng, scale: 1 / Double(H).squareRoot()))
      h0 = CellKernelTests.random(B * H, &rng)
      c0 = CellKernelTests.random(B * H, &rng)
    }

    /// Fresh forward buffers: gates (x W_ih^T), hs and cs with the initial state in slot 0.
    func buffers() -> (gates: Buf, hs: Buf, cs: Buf) {
      let n = (T + 1) * B * H
      return (Buf(x), Buf(h0 + [Float](repeating: 0, count: n - B * H)), Buf(c0 + [Float](repeating: 0, count: n - B * H)))
    }

    /// The step loop FusedSteps ran before the fused region.
    func stepForward() -> (gates: Buf, hs: Buf, cs: Buf) {
      let (g, hs, cs) = buffers()
      let G = 4 * H
      for t in 0..<T {
        rk_sgemm(0, 1, B, G, H, 1, hs.p + t * B * H, H, whh.c, H, 1, g.p + t * B * G, G)
        rk_lstm_forward_f32(B, H, g.p + t * B * G, bias.c, cs.p + t * B * H, cs.p + (t + 1) * B * H, hs.p + (t + 1) * B * H)
      }
      return (g, hs, cs)
    }
  }

  static func withThreads(_ threads: Int, _ body: () -> Void) {
    let saved = ComputeSettings.threadCount
    defer { ComputeSettings.threadCount = saved }
    ComputeSettings.threadCount = threads
    body()
  }

  @Test func forwardGivesTheStepLoopsBitsForAnyThreadCount() {
    CellKernelTests.onEveryISA { isa in
      for (B, T, H) in Self.shapes {
        let input = Inputs(B: B, T: T, H: H)
        let want = input.stepForward()
        for threads in [1, 2, 3] {
          Self.withThreads(threads) {
            let (g, hs, cs) = input.buffers()
            let status = rk_lstm_forward_sequence_f32(T, B, H, g.p, input.bias.c, input.whh.c, hs.p, cs.p)
            #expect(status == 0, "\(isa) B\(B) T\(T) H\(H) threads \(threads): status \(status)")
            #expect(
              Self.differing(Self.bits(g, hs, cs), Self.bits(want.gates, want.hs, want.cs)) == 0,
              "\(isa) B\(B) T\(T) H\(H) threads \(threads)")
          }
        }
      }
    }
  }

  @Test func backwardGivesTheStepLoopsBitsForAnyThreadCount() {
    CellKernelTests.onEveryISA { isa in
      for (B, T, H) in Self.shapes {
        let input = Inputs(B: B, T: T, H: H)
        let fwd = input.stepForward()
        let G = 4 * H
        var rng = SeededGenerator(seed: UInt64(7 + B + H))
        let dY = CellKernelTests.random(T * B * H, &rng), dcT = CellKernelTests.random(B * H, &rng)
        let db0 = CellKernelTests.random(G, &rng)
        func fresh() -> (dHs: Buf, dh0: Buf, dc: Buf, dG: Buf, db: Buf) {
          (Buf(dY), Buf(zeros: B * H), Buf(dcT), Buf(zeros: T * B * G), Buf(db0))
        }
        // The step loop FusedSteps.backward ran before the fused region.
        let want = fresh()
        for t in stride(from: T - 1, through: 0, by: -1) {
          let dhPrev = t > 0 ? want.dHs.p + (t - 1) * B * H : want.dh0.p
          rk_lstm_backward_f32(
            B, H, fwd.gates.c + t * B * G, fwd.cs.c + t * B * H, fwd.cs.c + (t + 1) * B * H, want.dHs.c + t * B * H,
            want.dc.p, want.dG.p + t * B * G, want.db.p)
          rk_sgemm(0, 0, B, H, G, 1, want.dG.c + t * B * G, G, input.whh.c, H, 1, dhPrev, H)
        }
        for threads in [1, 2, 3] {
          Self.withThreads(threads) {
            let got = fresh()
            let status = rk_lstm_backward_sequence_f32(
              T, B, H, fwd.gates.c, fwd.cs.c, input.whh.c, got.dHs.p, got.dh0.p, got.dc.p, got.dG.p, got.db.p)
            #expect(status == 0, "\(isa) B\(B) T\(T) H\(H) threads \(threads): status \(status)")
            #expect(
              Self.differing(
                Self.bits(got.dHs, got.dh0, got.dc, got.dG, got.db), Self.bits(want.dHs, want.dh0, want.dc, want.dG, want.db))
                == 0,
              "\(isa) backward B\(B) T\(T) H\(H) threads \(threads)")
          }
        }
      }
    }
  }

  /// (B, T, I, H, whether the rows split projects in its loop on 2+ threads): the first seven
  /// do (W_hh^T and W_ih^T each <= 1M floats; (40, 6, 400, 32) has two K blocks of I;
  /// (64, 11, 24, 48) runs 11 row groups, several claims each), the others copy x time-major
  /// and run one projection GEMM ((32, 3, 2100, 128): W_ih^T too big for the rows loop; the
  /// last one takes the units split).
  static let inputShapes = [
    (32, 5, 64, 128, true), (45, 3, 33, 72, true), (40, 6, 400, 32, true), (150, 2, 20, 136, true), (64, 11, 24, 48, true),
    (32, 5, 600, 128, true), (150, 2, 20, 264, true), (32, 3, 2100, 128, false), (5, 3, 10, 300, false),
  ]

  /// rk_lstm_forward_sequence_x_f32 (batch-first x in, batch-first copy of h out) against the
  /// path it replaces: x copied time-major, one rk_sgemm projection, rk_lstm_forward_sequence_f32,
  /// h copied back batch-first. The same bits, forwards and reversed (go_backwards).
  @Test func forwardFromTheInputGivesTheProjectionThenLoopBits() {
    CellKernelTests.onEveryISA { isa in
      for (B, T, I, H, inLoop) in Self.inputShapes {
        let base = Inputs(B: B, T: T, H: H)
        var rng = SeededGenerator(seed: UInt64(B + T + I + H))
        let x = Buf(CellKernelTests.random(B * T * I, &rng))
        let wih = Buf(CellKernelTests.random(4 * H * I, &rng, scale: 1 / Double(I).squareRoot()))
        for reversed: Int32 in [0, 1] {
          let (want, wantHs, wantCs) = base.buffers()
          let xs = Buf(zeros: T * B * I), wantOut = Buf(zeros: B * T * H)
          rk_swap_batch_time_f32(B, T, I, reversed, 1, x.c, xs.p)
          rk_sgemm(0, 1, T * B, 4 * H, I, 1, xs.c, I, wih.c, I, 0, want.p, 4 * H)
          #expect(rk_lstm_forward_sequence_f32(T, B, H, want.p, base.bias.c, base.whh.c, wantHs.p, wantCs.p) == 0)
          rk_swap_batch_time_f32(B, T, H, 0, 0, wantHs.c + B * H, wantOut.p)
          for threads in [1, 2, 3] {
            Self.withThreads(threads) {
              let (g, hs, cs) = base.buffers()
              let gotXs = Buf(zeros: T * B * I), out = Buf(zeros: B * T * H)
              var copied: Int32 = -1
              let status = rk_lstm_forward_sequence_x_f32(
                T, B, I, H, x.c, reversed, wih.c, gotXs.p, &copied, g.p, base.bias.c, base.whh.c, hs.p, cs.p, out.p)
              let what = "\(isa) B\(B) T\(T) I\(I) H\(H) reversed \(reversed) threads \(threads)"
              #expect(status == 0, "\(what): status \(status)")
              #expect(copied == (inLoop && threads > 1 ? 0 : 1), "\(what): copied \(copied)")
              if copied == 1 { #expect(Self.differing(Self.bits(gotXs), Self.bits(xs)) == 0, "\(what): xs") }
              #expect(
                Self.differing(Self.bits(g, hs, cs, out), Self.bits(want, wantHs, wantCs, wantOut)) == 0, "\(what)")
            }
          }
        }
      }
    }
  }

  @Test func shapesTheGEMMDoesNotBlockAreLeftToTheStepLoop() {
    // B == 1 (rk_sgemm's matrix-vector path) and tiny products: status 1, nothing written.
    for (B, T, H) in [(1, 3, 64), (2, 2, 4)] {
      let input = Inputs(B: B, T: T, H: H)
      let (g, hs, cs) = input.buffers()
      let before = Self.bits(g, hs, cs)
      #expect(rk_lstm_forward_sequence_f32(T, B, H, g.p, input.bias.c, input.whh.c, hs.p, cs.p) == 1)
      #expect(Self.bits(g, hs, cs) == before, "forward B\(B) H\(H) wrote")
      let x = Buf(zeros: B * T * 3), wih = Buf(zeros: 4 * H * 3), xs = Buf(zeros: B * T * 3), out = Buf(zeros: B * T * H)
      #expect(
        rk_lstm_forward_sequence_x_f32(T, B, 3, H, x.c, 0, wih.c, xs.p, nil, g.p, input.bias.c, input.whh.c, hs.p, cs.p, out.p)
          == 1)
      #expect(Self.bits(g, hs, cs, out) == before + Self.bits(out), "forward from x B\(B) H\(H) wrote")
      let dHs = Buf(zeros: T * B * H), dh0 = Buf(zeros: B * H), dc = Buf(zeros: B * H)
      let dG = Buf(zeros: T * B * 4 * H), db = Buf(zeros: 4 * H)
      #expect(rk_lstm_backward_sequence_f32(T, B, H, g.c, cs.c, input.whh.c, dHs.p, dh0.p, dc.p, dG.p, db.p) == 1)
    }
  }
}
