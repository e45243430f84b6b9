import CRecurrentKernels
@testable import Recurrent
import RecurrentTestSupport
import Testing

/// The 6x16 AVX2 kernel set's 4-row edge kernel (`kernel_rows4`: a tile of exactly 4 rows, e.g.
/// the last of B = 64 = 10 * 6 + 4, computed in place instead of as a whole 6-row tile and a
/// merge) must give the bits of the 6-row kernel. Each problem runs with M rows and again with
/// M + 2 (where that tile is a full 6-row one; for M = 148 the M block of 144 leaves a 4-row
/// block of its own); the first M rows of C must be bitwise equal.
@Suite(.serialized) struct GEMMEdgeTileTests {
  static func random(_ n: Int, _ rng: inout SeededGenerator) -> [Float] {
    (0..<n).map { _ in Float(Double.random(in: -1...1, using: &rng)) }
  }

  /// C[m x n] (ldc = n) = alpha op(A) op(B) + beta C0, with op(A) the first m rows of `a` (stored
  /// for `rows` rows).
  static func run(
    transA: Bool, transB: Bool, m: Int, rows: Int, n: Int, k: Int, alpha: Float, beta: Float,
    a: [Float], b: [Float], c0: [Float]
  ) -> [Float] {
    var c = Array(c0[0..<(m * n)])
    a.withUnsafeBufferPointer { a in
      b.withUnsafeBufferPointer { b in
        c.withUnsafeMutableBufferPointer { c in
          Float.gemm(
            transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a.baseAddress!,
            lda: transA ? rows : k, b: b.baseAddress!, ldb: transB ? k : n, beta: beta,
            c: c.baseAddress!, ldc: n)
        }
      }
    }
    return c
  }

  @Test func fourRowEdgeTilesHaveTheBitsOfSixRowTiles() {
    let threads = ComputeSettings.threadCount
    defer { ComputeSettings.threadCount = threads }
    // (M, N, K): the recurrent step shapes at B = 64 (M, L configs), a lone 4-row tile, 10 rows,
    // a second M block of 4 rows, N not a multiple of 16 (the rows4 kernel is for full-width
    // tiles only), K over one K block.
    let shapes = [(64, 1024, 256), (4, 48, 40), (10, 64, 33), (148, 80, 64), (64, 40, 300)]
    var rng = SeededGenerator(seed: 64)
    var checked = 0
    for (s, (m, n, k)) in shapes.enumerated() {
      let rows = m + 2
      let a = Self.random(rows * k, &rng), b = Self.random(k * n, &rng), c0 = Self.random(rows * n, &rng)
      for (transA, transB) in [(false, true), (false, false), (true, false)] {
        for (alpha, beta): (Float, Float) in [(1, 1), (1, 0), (-0.5, 0.5)] {
          for t in [1, 2] {
            ComputeSettings.threadCount = t
            let short = Self.run(
              transA: transA, transB: transB, m: m, rows: rows, n: n, k: k, alpha: alpha, beta: beta, a: a, b: b,
              c0: c0)
            let long = Self.run(
              transA: transA, transB: transB, m: rows, rows: rows, n: n, k: k, alpha: alpha, beta: beta, a: a,
              b: b, c0: c0)
            // With transA the first m rows of op(A) are the first m columns of the stored A, which
            // is what lda = rows gives.
            let same = short.indices.allSatisfy { short[$0].bitPattern == long[$0].bitPattern }
            #expect(same, "shape \(s) (\(m), \(n), \(k)) transA \(transA) transB \(transB) alpha \(alpha) beta \(beta), \(t) threads")
            checked += 1
          }
        }
      }
    }
    #expect(checked == 5 * 3 * 3 * 2)
  }
}
