import CRecurrentKernels
import Testing

@testable import Recurrent

// rk_sgemm_prepacked (op(B) packed once by rk_sgemm_pack_b, reused across calls: W_hh^T across
// the time steps of a recurrent forward pass) must give exactly rk_sgemm's bits (whose accuracy
// GEMMTests checks against a Double reference), for both kernel sets and 1 or 2 threads. Where
// the packed path applies, the call gets a NaN-filled B: a fallback to rk_sgemm (or any read of
// B) would show as NaN, so these tests fail unless the packed panels are really used.

private struct PrepackedLCG {
  var state: UInt64
  mutating func next() -> Float {
    state = state &* 6364136223846793005 &+ 1442695040888963407
    return Float(Double(state >> 11) / Double(1 << 52) - 1)
  }
}

/// One problem: C [m, n] = alpha * op(A) op(B) + beta * C, A not transposed unless `transA`.
private struct PrepackedProblem: CustomStringConvertible {
  var transA = false, transB = true
  var m: Int, n: Int, k: Int
  var alpha: Float = 1, beta: Float = 1
  var lda: Int { transA ? m : k }
  var ldb: Int { transB ? k : n }
  var description: String { "transA=\(transA) transB=\(transB) m=\(m) n=\(n) k=\(k) beta=\(beta)" }
  /// rk_sgemm_prepacked uses the pack (rather than falling back to rk_sgemm) for this shape.
  var usesPack: Bool { m > 1 && n > 1 && m * n * k > 512 }
}

private func randomArray(_ count: Int, _ rng: inout PrepackedLCG) -> [Float] {
  (0..<count).map { _ in rng.next() }
}

/// rk_sgemm's result and rk_sgemm_prepacked's (`stalePack`: the pack made by the other kernel set).
private func runBoth(_ p: PrepackedProblem, seed: UInt64, stalePack: Bool = false) -> (
  reference: [Float], prepacked: [Float]
) {
  var rng = PrepackedLCG(state: seed)
  let a = randomArray(p.m * p.k, &rng), b = randomArray(p.n * p.k, &rng)
  let c0 = randomArray(p.m * p.n, &rng)
  var reference = c0, prepacked = c0
  let portable = ComputeSettings.activeInstructionSet == "portable"
  // A stale pack: made by the other kernel set (different panel width on x86-64).
  if stalePack { ComputeSettings.forcePortableKernels(!portable) }
  let pack = rk_sgemm_pack_b(p.transB ? 1 : 0, p.n, p.k, b, p.ldb)
  if stalePack { ComputeSettings.forcePortableKernels(portable) }
  defer { rk_spacked_b_free(pack) }
  rk_sgemm(
    p.transA ? 1 : 0, p.transB ? 1 : 0, p.m, p.n, p.k, p.alpha, a, p.lda, b, p.ldb, p.beta, &reference, p.n)
  // Only a fallback may read B: poison it when the pack should serve.
  let bArg = p.usesPack && !stalePack ? [Float](repeating: .nan, count: b.count) : b
  rk_sgemm_prepacked(
    p.transA ? 1 : 0, p.transB ? 1 : 0, p.m, p.n, p.k, p.alpha, a, p.lda, bArg, p.ldb, pack, p.beta,
    &prepacked, p.n)
  return (reference, prepacked)
}

@Suite(.serialized)
struct GEMMPrepackedTests {
  /// The recurrent step shapes (M = batch, N = 4H / 3H / H, K = H, B^T), K over several K
  /// blocks, N off the panel width, M over several row blocks, transposed A, beta 0 and 1.
  fileprivate static let problems: [PrepackedProblem] = [
    PrepackedProblem(m: 32, n: 512, k: 128),
    PrepackedProblem(m: 64, n: 1024, k: 256),
    PrepackedProblem(m: 64, n: 2048, k: 512),
    PrepackedProblem(m: 64, n: 768, k: 256, beta: 0),
    PrepackedProblem(m: 7, n: 57, k: 300, alpha: -0.5, beta: 0.5),
    PrepackedProblem(transA: true, m: 17, n: 33, k: 600, beta: 0),
    PrepackedProblem(transB: false, m: 300, n: 129, k: 70, alpha: -0.5),
    PrepackedProblem(m: 2, n: 3, k: 100),
    PrepackedProblem(m: 1, n: 512, k: 128),  // matrix-vector: falls back to rk_sgemm
    PrepackedProblem(m: 3, n: 5, k: 4),  // tiny: falls back
  ]

  @Test func sameBitsAsSgemmForEveryKernelSetAndThreadCount() {
    let threads = ComputeSettings.threadCount
    defer {
      ComputeSettings.forcePortableKernels(false)
      ComputeSettings.threadCount = threads
    }
    for portable in [false, true] {
      ComputeSettings.forcePortableKernels(portable)
      for t in [1, 2] {
        ComputeSettings.threadCount = t
        for (s, p) in Self.problems.enumerated() {
          let (reference, prepacked) = runBoth(p, seed: UInt64(s + 1))
          #expect(
            prepacked.elementsEqual(reference) { $0.bitPattern == $1.bitPattern },
            "\(p), \(ComputeSettings.activeInstructionSet), \(t) threads")
        }
      }
    }
  }

  /// A pack made by the other kernel set (rk_force_isa changed in between) is not used: the call
  /// falls back to rk_sgemm with the real B.
  @Test func stalePackFallsBack() {
    defer { ComputeSettings.forcePortableKernels(false) }
    for portable in [false, true] {
      ComputeSettings.forcePortableKernels(portable)
      let (reference, prepacked) = runBoth(PrepackedProblem(m: 32, n: 512, k: 128), seed: 9, stalePack: true)
      #expect(prepacked.elementsEqual(reference) { $0.bitPattern == $1.bitPattern })
    }
  }

  /// A nil pack (rk_sgemm_pack_b failed) means rk_sgemm.
  @Test func nilPackIsSgemm() {
    let p = PrepackedProblem(m: 32, n: 512, k: 128)
    var rng = PrepackedLCG(state: 5)
    let a = randomArray(p.m * p.k, &rng), b = randomArray(p.n * p.k, &rng)
    var reference = randomArray(p.m * p.n, &rng)
    var prepacked = reference
    rk_sgemm(0, 1, p.m, p.n, p.k, 1, a, p.lda, b, p.ldb, 1, &reference, p.n)
    rk_sgemm_prepacked(0, 1, p.m, p.n, p.k, 1, a, p.lda, b, p.ldb, nil, 1, &prepacked, p.n)
    #expect(prepacked.elementsEqual(reference) { $0.bitPattern == $1.bitPattern })
    #expect(rk_sgemm_pack_b(1, 0, 128, b, 128) == nil)
  }
}
