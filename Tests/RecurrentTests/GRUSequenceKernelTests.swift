import CRecurrentKernels
import Foundation
@testable import Recurrent
import RecurrentTestSupport
import Testing

/// The fused GRU time loops against the step-by-step loops they replace, for 1, 2 and 3 threads
/// on both cell instruction sets: the forward (rk_gru_forward_sequence_x_f32: the rows split,
/// W_hh^T packed once; before: x copied time-major, one rk_sgemm projection, then per step
/// rk_sgemm for R = h_{t-1} W_hh^T and rk_gru_forward_f32), forwards and reversed, from x and
/// from gates; the backward (rk_gru_backward_sequence_f32: the units split; before: per step
/// rk_gru_backward_f32, then dh_{t-1} += dG_h[t] W_hh by rk_sgemm). The same bits.
@Suite(.serialized) struct GRUSequenceKernelTests {
  typealias Buf = CellKernelTests.Buf
  static let bits = LSTMSequenceKernelTests.bits
  static let differing = LSTMSequenceKernelTests.differing

  /// (B, T, I, H, whether the loop projects x itself): (32, 5, 64, 128): 4-row tiles (32 = 4 * 6
  /// + 2 * 4); (45, 3, 33, 72): a 3-row last tile and partial micro-panels (3H = 216); (64, 11,
  /// 24, 48): 11 groups claimed for 4, 4, then 3 steps; (150, 2, 20, 264): two K blocks of H;
  /// (40, 6, 400, 32): two K blocks of I; (17, 4, 10, 128): 17 rows, one thread whatever the
  /// setting (fewer than 8 rows per thread); (400, 2, 8, 32): 67 tiles in 34 groups; (13, 3, 7,
  /// 5): a product below the threading threshold; (32, 3, 2800, 128): W_ih^T over 1M floats, one
  /// projection GEMM first.
  static let shapes = [
    (32, 5, 64, 128, true), (45, 3, 33, 72, true), (64, 11, 24, 48, true), (150, 2, 20, 264, true),
    (40, 6, 400, 32, true), (17, 4, 10, 128, true), (400, 2, 8, 32, true), (13, 3, 7, 5, true),
    (32, 3, 2800, 128, false),
  ]

  struct Inputs {
    let B: Int, T: Int, I: Int, H: Int
    let x: Buf, wih: Buf, whh: Buf, bih: Buf, bhh: Buf, h0: [Float]
    init(B: Int, T: Int, I: Int, H: Int) {
      (self.B, self.T, self.I, self.H) = (B, T, I, H)
      var rng = SeededGenerator(seed: UInt64(B * 10_000 + T * 1_000 + I + H))
      x = Buf(CellKernelTests.random(B * T * I, &rng))
      wih = Buf(CellKernelTests.random(3 * H * I, &rng, scale: 1 / Double(I).squareRoot()))
      whh = Buf(CellKernelTests.random(3 * H * H, &rng, scale: 1 / Double(H).squareRoot()))
      bih = Buf(CellKernelTests.random(3 * H, &rng, scale: 0.5))
      bhh = Buf(CellKernelTests.random(3 * H, &rng, scale: 0.5))
      h0 = CellKernelTests.random(B * H, &rng)
    }

    /// Fresh buffers: gates, hs (h_0 in slot 0), hn, the recurrent scratch and the output.
    func buffers() -> (gates: Buf, hs: Buf, hn: Buf, rec: Buf, out: Buf) {
      (
        Buf(zeros: T * B * 3 * H), Buf(h0 + [Float](repeating: 0, count: T * B * H)), Buf(zeros: T * B * H),
        Buf(zeros: B * 3 * H), Buf(zeros: B * T * H)
      )
    }

    /// The loop FusedSteps ran before the fused region, after the projection GEMM.
    func stepForward(reversed: Int32) -> (xs: Buf, gates: Buf, hs: Buf, hn: Buf, out: Buf) {
      let (g, hs, hn, rec, out) = buffers()
      let G = 3 * H, xs = Buf(zeros: T * B * I)
      rk_swap_batch_time_f32(B, T, I, reversed, 1, x.c, xs.p)
      rk_sgemm(0, 1, T * B, G, I, 1, xs.c, I, wih.c, I, 0, g.p, G)
      for t in 0..<T {
        rk_sgemm(0, 1, B, G, H, 1, hs.p + t * B * H, H, whh.c, H, 0, rec.p, G)
        rk_gru_forward_f32(
          B, H, g.p + t * B * G, rec.c, bih.c, bhh.c, hs.c + t * B * H, hn.p + t * B * H, hs.p + (t + 1) * B * H)
      }
      rk_swap_batch_time_f32(B, T, H, 0, 0, hs.c + B * H, out.p)
      return (xs, g, hs, hn, out)
    }
  }

  @Test func forwardFromTheInputGivesTheStepLoopsBitsForAnyThreadCount() {
    CellKernelTests.onEveryISA { isa in
      for (B, T, I, H, inLoop) in Self.shapes {
        let input = Inputs(B: B, T: T, I: I, H: H)
        for reversed: Int32 in [0, 1] {
          let want = input.stepForward(reversed: reversed)
          for threads in [1, 2, 3] {
            LSTMSequenceKernelTests.withThreads(threads) {
              let (g, hs, hn, rec, out) = input.buffers()
              let xs = Buf(zeros: T * B * I)
              var copied: Int32 = -1
              let status = rk_gru_forward_sequence_x_f32(
                T, B, I, H, input.x.c, reversed, input.wih.c, xs.p, &copied, g.p, input.bih.c, input.bhh.c,
                input.whh.c, rec.p, hs.p, hn.p, out.p)
              let what = "\(isa) B\(B) T\(T) I\(I) H\(H) reversed \(reversed) threads \(threads)"
              #expect(status == 0, "\(what): status \(status)")
              #expect(copied == (inLoop ? 0 : 1), "\(what): copied \(copied)")
              if copied == 1 { #expect(Self.differing(Self.bits(xs), Self.bits(want.xs)) == 0, "\(what): xs") }
              #expect(
                Self.differing(Self.bits(g, hs, hn, out), Self.bits(want.gates, want.hs, want.hn, want.out)) == 0,
                "\(what)")
            }
          }
        }
      }
    }
  }

  @Test func forwardFromTheGatesGivesTheStepLoopsBits() {
    // x == NULL: the gates hold the projection already; no output copy.
    for (B, T, I, H, _) in Self.shapes.prefix(4) {
      let input = Inputs(B: B, T: T, I: I, H: H)
      let want = input.stepForward(reversed: 0)
      for threads in [1, 2] {
        LSTMSequenceKernelTests.withThreads(threads) {
          let (g, hs, hn, rec, _) = input.buffers()
          rk_sgemm(0, 1, T * B, 3 * H, I, 1, want.xs.c, I, input.wih.c, I, 0, g.p, 3 * H)
          let status = rk_gru_forward_sequence_x_f32(
            T, B, 0, H, nil, 0, nil, nil, nil, g.p, input.bih.c, input.bhh.c, input.whh.c, rec.p, hs.p, hn.p, nil)
          #expect(status == 0, "B\(B) H\(H) threads \(threads): status \(status)")
          #expect(
            Self.differing(Self.bits(g, hs, hn), Self.bits(want.gates, want.hs, want.hn)) == 0,
            "B\(B) H\(H) threads \(threads)")
        }
      }
    }
  }

  @Test func shapesTheLoopDoesNotTakeAreLeftToTheStepLoop() {
    // B == 1 (rk_sgemm's matrix-vector path), a tiny product, and W_hh^T over 1M floats
    // (H 600: 1800 x 600): status 1, nothing written. The backward takes H 600 but not the
    // other two.
    for (B, T, I, H) in [(1, 3, 5, 64), (2, 2, 3, 4), (16, 2, 4, 600)] {
      let input = Inputs(B: B, T: T, I: I, H: H)
      let (g, hs, hn, rec, out) = input.buffers()
      let xs = Buf(zeros: T * B * I)
      let before = Self.bits(g, hs, hn, rec, out, xs)
      var copied: Int32 = -1
      let status = rk_gru_forward_sequence_x_f32(
        T, B, I, H, input.x.c, 0, input.wih.c, xs.p, &copied, g.p, input.bih.c, input.bhh.c, input.whh.c, rec.p,
        hs.p, hn.p, out.p)
      #expect(status == 1, "B\(B) H\(H): status \(status)")
      #expect(copied == 0, "B\(B) H\(H): copied \(copied)")
      #expect(Self.bits(g, hs, hn, rec, out, xs) == before, "B\(B) H\(H) wrote")
      guard H != 600 else { continue }
      let dHs = Buf(zeros: T * B * H), dh0 = Buf(zeros: B * H), dG = Buf(zeros: T * B * 3 * H)
      let dGh = Buf(zeros: T * B * 3 * H), dbx = Buf(zeros: 3 * H), dbh = Buf(zeros: 3 * H)
      let status2 = rk_gru_backward_sequence_f32(
        T, B, H, g.c, hn.c, hs.c, input.whh.c, dHs.p, dh0.p, dG.p, dGh.p, dbx.p, dbh.p)
      #expect(status2 == 1, "backward B\(B) H\(H): status \(status2)")
    }
  }

  /// (B, T, H) for the backward's units split: 4-row tiles (32), several M blocks (150, 145),
  /// partial micro-panels (72, 100, 40, 5), several K blocks of 3H (H >= 86), W_hh over 1M
  /// floats on one thread (3 x 700 x 2100: packed per step; on two threads each half is packed
  /// once), and products below the threading threshold (the last three).
  static let backwardShapes = [
    (32, 5, 128), (150, 3, 64), (45, 3, 72), (145, 2, 100), (64, 11, 48), (3, 2, 700), (5, 3, 30), (13, 4, 5),
    (7, 4, 40),
  ]

  @Test func backwardGivesTheStepLoopsBitsForAnyThreadCount() {
    CellKernelTests.onEveryISA { isa in
      for (B, T, H) in Self.backwardShapes {
        let input = Inputs(B: B, T: T, I: 6, H: H)
        let fwd = input.stepForward(reversed: 0)
        let G = 3 * H
        var rng = SeededGenerator(seed: UInt64(11 + B + H))
        let dY = CellKernelTests.random(T * B * H, &rng)
        let dbx0 = CellKernelTests.random(G, &rng), dbh0 = CellKernelTests.random(G, &rng)
        func fresh() -> (dHs: Buf, dh0: Buf, dGx: Buf, dGh: Buf, dbx: Buf, dbh: Buf) {
          (Buf(dY), Buf(zeros: B * H), Buf(zeros: T * B * G), Buf(zeros: T * B * G), Buf(dbx0), Buf(dbh0))
        }
        // The step loop FusedSteps.backward runs for masked batches.
        let want = fresh()
        for t in stride(from: T - 1, through: 0, by: -1) {
          let dhPrev = t > 0 ? want.dHs.p + (t - 1) * B * H : want.dh0.p
          rk_gru_backward_f32(
            B, H, fwd.gates.c + t * B * G, fwd.hn.c + t * B * H, fwd.hs.c + t * B * H, want.dHs.c + t * B * H, dhPrev,
            want.dGx.p + t * B * G, want.dGh.p + t * B * G, want.dbx.p, want.dbh.p)
          rk_sgemm(0, 0, B, H, G, 1, want.dGh.c + t * B * G, G, input.whh.c, H, 1, dhPrev, H)
        }
        for threads in [1, 2, 3] {
          LSTMSequenceKernelTests.withThreads(threads) {
            let got = fresh()
            let status = rk_gru_backward_sequence_f32(
              T, B, H, fwd.gates.c, fwd.hn.c, fwd.hs.c, input.whh.c, got.dHs.p, got.dh0.p, got.dGx.p, got.dGh.p,
              got.dbx.p, got.dbh.p)
            #expect(status == 0, "\(isa) B\(B) T\(T) H\(H) threads \(threads): status \(status)")
            #expect(
              Self.differing(
                Self.bits(got.dHs, got.dh0, got.dGx, got.dGh, got.dbx, got.dbh),
                Self.bits(want.dHs, want.dh0, want.dGx, want.dGh, want.dbx, want.dbh)) == 0,
              "\(isa) backward B\(B) T\(T) H\(H) threads \(threads)")
          }
        }
      }
    }
  }
}
