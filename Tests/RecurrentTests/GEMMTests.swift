import CRecurrentKernels
import Dispatch
import Testing

@testable import Recurrent

// GEMM (rk_sgemm / rk_dgemm through `TensorScalar.gemm`) against a naive triple loop accumulated
// in Double. Every check covers the AVX2 kernels and the forced portable kernels, and the large
// cases also 1 and 2 threads. Those are process-wide settings, so the suite is serialized and
// restores them; tests elsewhere that run GEMMs meanwhile only get a different speed, never a
// different answer.
//
// Error model: |C - C_ref| <= tol * (|alpha| * sum_p |a_ip * b_pj| + |beta * C0_ij|), i.e. relative
// to the magnitude of the terms summed, with tol = 1e-5 (Float) and 1e-12 (Double).

// MARK: - Harness

/// A deterministic generator of values in [-1, 1).
private struct TestLCG {
  var state: UInt64
  mutating func next() -> Double {
    state = state &* 6364136223846793005 &+ 1442695040888963407
    return Double(state >> 11) / Double(1 << 52) - 1
  }
}

/// One GEMM problem: shapes of op(A) [m, k], op(B) [k, n], C [m, n], with optional padding of the
/// leading dimensions beyond their minimum.
private struct GEMMProblem: CustomStringConvertible {
  var transA = false, transB = false
  var m: Int, n: Int, k: Int
  var alpha = 1.0, beta = 0.0
  var padA = 0, padB = 0, padC = 0

  var lda: Int { (transA ? m : k) + padA }
  var ldb: Int { (transB ? k : n) + padB }
  var ldc: Int { n + padC }
  var rowsA: Int { transA ? k : m }
  var rowsB: Int { transB ? n : k }

  var description: String {
    "\(transA ? "T" : "N")\(transB ? "T" : "N") m=\(m) n=\(n) k=\(k) alpha=\(alpha) beta=\(beta) "
      + "lda=\(lda) ldb=\(ldb) ldc=\(ldc)"
  }
}

/// Inputs of a problem: A, B and the initial C laid out as the problem says (leading-dimension
/// padding of A and B holds NaN so a read of it would poison the result; C's padding holds a
/// sentinel that must survive). The logical op(A) and op(B) depend only on (m, n, k, seed), not
/// on the transposes, so one reference product serves all four transpose combinations.
private struct GEMMInputs<T: TensorScalar> {
  var a: [T], b: [T], c0: [T]
  /// op(A) [m, k] and op(B)^T [n, k], row-major, as Double (for the reference).
  var opA: [Double], opBT: [Double]
  static var cPadSentinel: T { T(12345) }

  init(_ p: GEMMProblem, seed: UInt64, fillC: T? = nil) {
    var rng = TestLCG(state: seed)
    opA = (0..<(p.m * p.k)).map { _ in Double(T(rng.next())) }
    var opB = (0..<(p.k * p.n)).map { _ in Double(T(rng.next())) }  // [k, n]
    a = [T](repeating: .nan, count: max(1, p.rowsA * p.lda))
    b = [T](repeating: .nan, count: max(1, p.rowsB * p.ldb))
    c0 = [T](repeating: Self.cPadSentinel, count: max(1, p.m * p.ldc))
    opBT = [Double](repeating: 0, count: p.n * p.k)
    for i in 0..<p.m {
      for q in 0..<p.k { a[p.transA ? q * p.lda + i : i * p.lda + q] = T(opA[i * p.k + q]) }
    }
    for q in 0..<p.k {
      for j in 0..<p.n {
        b[p.transB ? j * p.ldb + q : q * p.ldb + j] = T(opB[q * p.n + j])
        opBT[j * p.k + q] = opB[q * p.n + j]
      }
    }
    opB = []
    for i in 0..<p.m { for j in 0..<p.n { c0[i * p.ldc + j] = fillC ?? T(rng.next()) } }
  }
}

/// sum_q op(A)[i, q] * op(B)[q, j] and sum_q |op(A)[i, q] * op(B)[q, j]|, both [m * n].
private struct ReferenceProducts {
  var sum: [Double], absSum: [Double]

  init<T>(_ p: GEMMProblem, _ x: GEMMInputs<T>) {
    var sum = [Double](repeating: 0, count: p.m * p.n), absSum = sum
    x.opA.withUnsafeBufferPointer { a in
      x.opBT.withUnsafeBufferPointer { bt in
        for i in 0..<p.m {
          for j in 0..<p.n {
            var s = 0.0, sa = 0.0
            var ai = i * p.k, bj = j * p.k
            let end = ai + p.k
            while ai < end {
              let t = a[ai] * bt[bj]
              s += t
              sa += t < 0 ? -t : t  // not the generic abs: this loop is hot in debug builds
              ai += 1
              bj += 1
            }
            sum[i * p.n + j] = s
            absSum[i * p.n + j] = sa
          }
        }
      }
    }
    self.sum = sum
    self.absSum = absSum
  }
}

/// The reference C (in Double) and the per-element error scale, both [m * n] row-major.
private func referenceGEMM<T: TensorScalar>(
  _ p: GEMMProblem, _ x: GEMMInputs<T>, products: ReferenceProducts? = nil
) -> (c: [Double], scale: [Double]) {
  let prod = products ?? ReferenceProducts(p, x)
  var c = [Double](repeating: 0, count: p.m * p.n)
  var scale = c
  for i in 0..<p.m {
    for j in 0..<p.n {
      var r = p.alpha * prod.sum[i * p.n + j], sc = abs(p.alpha) * prod.absSum[i * p.n + j]
      if p.beta != 0 {
        let c0 = Double(x.c0[i * p.ldc + j])
        r += p.beta * c0
        sc += abs(p.beta * c0)
      }
      c[i * p.n + j] = r
      scale[i * p.n + j] = sc
    }
  }
  return (c, scale)
}

/// Runs `T.gemm` on a copy of the inputs' C and returns it.
private func runGEMM<T: TensorScalar>(_ p: GEMMProblem, _ x: GEMMInputs<T>) -> [T] {
  var c = x.c0
  x.a.withUnsafeBufferPointer { a in
    x.b.withUnsafeBufferPointer { b in
      c.withUnsafeMutableBufferPointer { c in
        T.gemm(
          transA: p.transA, transB: p.transB, m: p.m, n: p.n, k: p.k,
          alpha: T(p.alpha), a: a.baseAddress!, lda: p.lda,
          b: b.baseAddress!, ldb: p.ldb,
          beta: T(p.beta), c: c.baseAddress!, ldc: p.ldc)
      }
    }
  }
  return c
}

private func tolerance<T: TensorScalar>(_: T.Type) -> Double { T.self == Float.self ? 1e-5 : 1e-12 }

/// Checks `got` against the reference; records one issue (the worst element) per failing call.
private func expectMatches<T: TensorScalar>(
  _ got: [T], _ ref: (c: [Double], scale: [Double]), _ p: GEMMProblem, _ x: GEMMInputs<T>,
  _ context: String, sourceLocation: SourceLocation = #_sourceLocation
) {
  let tol = tolerance(T.self)
  var worst = 0.0, worstAt = -1
  var paddingChanged = false
  for i in 0..<p.m {
    for j in 0..<p.n {
      let g = Double(got[i * p.ldc + j]), r = ref.c[i * p.n + j]
      let err = abs(g - r) / (ref.scale[i * p.n + j] + 1e-300)
      // Exact zeros (scale 0) must be exact; NaN is always a failure.
      let bad = g.isNaN ? Double.infinity : (abs(g - r) == 0 ? 0 : err)
      if bad > worst { worst = bad; worstAt = i * p.n + j }
    }
    for j in p.n..<p.ldc where got[i * p.ldc + j] != GEMMInputs<T>.cPadSentinel { paddingChanged = true }
  }
  #expect(
    worst <= tol,
    "\(T.self) \(p) [\(context)]: worst relative error \(worst) at \(worstAt)",
    sourceLocation: sourceLocation)
  #expect(!paddingChanged, "\(T.self) \(p) [\(context)]: wrote into C's padding", sourceLocation: sourceLocation)
}

/// Runs every ISA (and, if `threads` has several values, thread count) on one problem.
/// `portableThreads` (default `threads`) trims the slow (-O0) portable runs of big problems.
@discardableResult
private func checkAllPaths<T: TensorScalar>(
  _: T.Type, _ p: GEMMProblem, seed: UInt64, threads: [Int] = [1], portableThreads: [Int]? = nil,
  fillC: T? = nil, products: ReferenceProducts? = nil,
  sourceLocation: SourceLocation = #_sourceLocation
) -> ReferenceProducts {
  let x = GEMMInputs<T>(p, seed: seed, fillC: fillC)
  let prod = products ?? ReferenceProducts(p, x)
  let ref = referenceGEMM(p, x, products: prod)
  for portable in [false, true] {
    ComputeSettings.forcePortableKernels(portable)
    for t in portable ? portableThreads ?? threads : threads {
      ComputeSettings.threadCount = t
      expectMatches(
        runGEMM(p, x), ref, p, x, "\(ComputeSettings.activeInstructionSet), \(t) threads",
        sourceLocation: sourceLocation)
    }
  }
  return prod
}

/// Restores the process-wide settings a test changed.
private func withDefaultSettings(_ body: () -> Void) {
  let threads = ComputeSettings.threadCount
  defer {
    ComputeSettings.forcePortableKernels(false)
    ComputeSettings.threadCount = threads
  }
  body()
}

private let transposes: [(Bool, Bool)] = [(false, false), (false, true), (true, false), (true, true)]
private let oddSizes = [1, 3, 17, 65, 130]

// MARK: - Tests

@Suite(.serialized)
struct GEMMTests {
  /// Odd sizes {1, 3, 17, 65, 130} in every position: every (m, n) pair with k cycling through
  /// the sizes, plus every k for a few (m, n); alpha/beta and padding vary with the shape.
  static let smallShapes: [(Int, Int, Int)] = {
    var shapes: [(Int, Int, Int)] = []
    for (i, m) in oddSizes.enumerated() {
      for (j, n) in oddSizes.enumerated() {
        shapes.append((m, n, oddSizes[(i + 2 * j) % oddSizes.count]))
      }
    }
    for k in oddSizes { shapes += [(17, 65, k), (130, 3, k)] }
    return shapes
  }()

  static let alphaBeta: [(Double, Double)] = [(1, 0), (-0.5, 1), (1, 0.5), (-0.5, 0), (-0.5, 0.5)]

  @Test func smallOddShapesEveryTranspose() {
    withDefaultSettings {
      for (t, (ta, tb)) in transposes.enumerated() {
        for (s, (m, n, k)) in Self.smallShapes.enumerated() {
          let (alpha, beta) = Self.alphaBeta[(s + t) % Self.alphaBeta.count]
          let pad = (s + t) % 3 == 0 ? 0 : 1 + (s % 5)
          let p = GEMMProblem(
            transA: ta, transB: tb, m: m, n: n, k: k, alpha: alpha, beta: beta,
            padA: pad, padB: (pad * 3) % 7, padC: (pad * 5) % 4)
          checkAllPaths(Float.self, p, seed: UInt64(100 * s + t))
          checkAllPaths(Double.self, p, seed: UInt64(100 * s + t))
        }
      }
    }
  }

  @Test func everyAlphaBetaOnOneShape() {
    withDefaultSettings {
      for (ta, tb) in transposes {
        for (alpha, beta) in Self.alphaBeta {
          let p = GEMMProblem(
            transA: ta, transB: tb, m: 19, n: 35, k: 23, alpha: alpha, beta: beta,
            padA: 2, padB: 3, padC: 5)
          checkAllPaths(Float.self, p, seed: 7)
          checkAllPaths(Double.self, p, seed: 8)
        }
      }
    }
  }

  /// beta == 0 must overwrite C without reading it: NaN in C must not reach the result.
  @Test func betaZeroIgnoresNaNInC() {
    withDefaultSettings {
      for (ta, tb) in transposes {
        for (m, n, k) in [(1, 1, 1), (3, 17, 5), (65, 130, 17), (130, 33, 300)] {
          let p = GEMMProblem(transA: ta, transB: tb, m: m, n: n, k: k, alpha: -0.5, beta: 0, padC: 3)
          checkAllPaths(Float.self, p, seed: 11, threads: [1, 2], fillC: .nan)
          checkAllPaths(Double.self, p, seed: 12, threads: [1, 2], fillC: .nan)
        }
      }
    }
  }

  /// M or N == 0: nothing is written. K == 0 or alpha == 0: C = beta * C (A and B unread).
  @Test func degenerateSizes() {
    withDefaultSettings {
      for portable in [false, true] {
        ComputeSettings.forcePortableKernels(portable)
        var c: [Float] = [1, 2, 3, 4, .nan, 6]
        let a: [Float] = [.nan], b: [Float] = [.nan]
        // M == 0 and N == 0: C untouched (even the NaN).
        Float.gemm(transA: false, transB: false, m: 0, n: 3, k: 4, alpha: 1, a: a, lda: 4, b: b, ldb: 3, beta: 0, c: &c, ldc: 3)
        Float.gemm(transA: false, transB: false, m: 2, n: 0, k: 4, alpha: 1, a: a, lda: 4, b: b, ldb: 1, beta: 0, c: &c, ldc: 3)
        #expect(c[0...3] == [1, 2, 3, 4] && c[4].isNaN && c[5] == 6)
        // K == 0, beta 0.5: C scaled; A and B are never read.
        c = [1, 2, 3, 4, 5, 6]
        Float.gemm(transA: true, transB: true, m: 2, n: 3, k: 0, alpha: 1, a: a, lda: 2, b: b, ldb: 1, beta: 0.5, c: &c, ldc: 3)
        #expect(c == [0.5, 1, 1.5, 2, 2.5, 3])
        // K == 0, beta 0: zeros, even over NaN.
        c = [.nan, 2, 3, 4, 5, .nan]
        Float.gemm(transA: false, transB: false, m: 2, n: 3, k: 0, alpha: 1, a: a, lda: 1, b: b, ldb: 3, beta: 0, c: &c, ldc: 3)
        #expect(c == [0, 0, 0, 0, 0, 0])
        // alpha == 0: C = beta * C, A and B (NaN here) unread.
        var d: [Double] = [1, 2, 3, 4]
        let an = [Double](repeating: .nan, count: 4)
        Double.gemm(transA: false, transB: false, m: 2, n: 2, k: 2, alpha: 0, a: an, lda: 2, b: an, ldb: 2, beta: 2, c: &d, ldc: 2)
        #expect(d == [2, 4, 6, 8])
      }
    }
  }

  /// Several MC / KC / NC blocks, edge tiles in every direction and the thread split.
  @Test func largeBlockedAndThreaded() {
    withDefaultSettings {
      var floatProducts: ReferenceProducts?, doubleProducts: ReferenceProducts?
      for (t, (ta, tb)) in transposes.enumerated() {
        let p = GEMMProblem(
          transA: ta, transB: tb, m: 300, n: 257, k: 513, alpha: t % 2 == 0 ? 1 : -0.5,
          beta: t < 2 ? 0.5 : 1, padA: 3, padB: 1, padC: 2)
        floatProducts = checkAllPaths(
          Float.self, p, seed: 30, threads: [1, 2], portableThreads: [2], products: floatProducts)
        doubleProducts = checkAllPaths(
          Double.self, p, seed: 40, threads: [1, 2], portableThreads: [2], products: doubleProducts)
      }
    }
  }

  /// N wider than one NC block of every kernel set (4080 AVX2, 2048 portable), with M above one
  /// MC block, so the jc loop and the shared-B thread mode run over several column blocks.
  @Test func wideNSeveralColumnBlocks() {
    withDefaultSettings {
      for (ta, tb) in [(false, false), (true, true)] {
        let p = GEMMProblem(
          transA: ta, transB: tb, m: 150, n: 4100, k: 20, alpha: -0.5, beta: 0.5, padB: 3, padC: 1)
        checkAllPaths(Float.self, p, seed: 90, threads: [1, 2], portableThreads: [2])
      }
    }
  }

  /// The recurrent engine's GEMMs (LSTM, B = 16, T = 5, I = 24, H = 40, G = 4), with the
  /// transposes and betas it uses; small M against wide N exercises the column split, M or N == 1
  /// the matrix-vector path (threaded too).
  @Test func recurrentEngineShapes() {
    let (b, t, i, h, g) = (16, 5, 24, 40, 4)
    let problems = [
      // G = X . W_ih^T  [T*B, I] x [G*H, I]^T
      GEMMProblem(transA: false, transB: true, m: t * b, n: g * h, k: i),
      // G[t] += H[t] . W_hh^T  [B, H] x [G*H, H]^T, beta 1
      GEMMProblem(transA: false, transB: true, m: b, n: g * h, k: h, beta: 1),
      // dh += dG[t] . W_hh  [B, G*H] x [G*H, H]
      GEMMProblem(transA: false, transB: false, m: b, n: h, k: g * h, beta: 1),
      // dW_ih += dG^T . X  [G*H, T*B] x [T*B, I], beta 1
      GEMMProblem(transA: true, transB: false, m: g * h, n: i, k: t * b, beta: 1),
      // dX = dG . W_ih  [T*B, G*H] x [G*H, I]
      GEMMProblem(transA: false, transB: false, m: t * b, n: i, k: g * h),
      // The LSTM step at B = 64, H = 128: [64, 128] x [512, 128]^T
      GEMMProblem(transA: false, transB: true, m: 64, n: 512, k: 128, beta: 1),
      // Batch-1 sampling step (matrix-vector path): [1, 512] x [2048, 512]^T, and its backward
      GEMMProblem(transA: false, transB: true, m: 1, n: 2048, k: 512, beta: 1),
      GEMMProblem(transA: false, transB: false, m: 1, n: 512, k: 2048, beta: 1),
      // A one-unit Dense head: [T*B, H] x [1, H]^T, and dW = dY^T . X with one output row
      GEMMProblem(transA: false, transB: true, m: 400, n: 1, k: 256),
      GEMMProblem(transA: true, transB: false, m: 1, n: 256, k: 400, beta: 1),
    ]
    withDefaultSettings {
      for (s, p) in problems.enumerated() {
        checkAllPaths(Float.self, p, seed: UInt64(50 + s), threads: [1, 2])
        checkAllPaths(Double.self, p, seed: UInt64(60 + s), threads: [1, 2])
      }
    }
  }

  /// Bitwise the same answer with 1 or 2 threads (however many workers joined): every element is
  /// accumulated in the same order whatever the split. The shapes split into a piece one column
  /// (or row) wide, which once took the matrix-vector path, and into the shared-B mode.
  @Test func resultDoesNotDependOnThreadCount() {
    let problems = [
      GEMMProblem(transA: false, transB: true, m: 7, n: 17, k: 4000, alpha: -0.5, beta: 0.5),
      GEMMProblem(transA: true, transB: false, m: 17, n: 7, k: 4000, alpha: 1, beta: 1),
      GEMMProblem(transA: false, transB: true, m: 3000, n: 1, k: 300, alpha: -0.5),
      GEMMProblem(transA: true, transB: true, m: 1, n: 3000, k: 300, beta: 0.5),
      GEMMProblem(transA: false, transB: false, m: 300, n: 257, k: 513, alpha: -0.5, beta: 0.5),
    ]
    withDefaultSettings {
      for (s, p) in problems.enumerated() {
        let x = GEMMInputs<Float>(p, seed: UInt64(80 + s))
        ComputeSettings.threadCount = 1
        let one = runGEMM(p, x)
        ComputeSettings.threadCount = 2
        for _ in 0..<5 {
          let two = runGEMM(p, x)
          #expect(two.elementsEqual(one) { $0.bitPattern == $1.bitPattern }, "\(p)")
        }
      }
    }
  }

  /// Several threads calling GEMM at once (the pool is busy for all but one of them at a time,
  /// the others run inline): every result must still be right.
  @Test func concurrentCallers() {
    withDefaultSettings {
      ComputeSettings.threadCount = 2
      let problems = (0..<4).map { s in
        GEMMProblem(transA: s % 2 == 1, transB: s >= 2, m: 96 + 7 * s, n: 200, k: 150, alpha: 1, beta: 0.5)
      }
      let inputs = problems.enumerated().map { s, p in GEMMInputs<Float>(p, seed: UInt64(70 + s)) }
      let refs = zip(problems, inputs).map { referenceGEMM($0, $1) }
      let rounds = 12
      // One slot per thread: distinct elements of a fixed buffer, so no shared mutation.
      nonisolated(unsafe) let results = UnsafeMutableBufferPointer<[[Float]]>.allocate(capacity: problems.count)
      results.initialize(repeating: [])
      defer { results.deallocate() }
      DispatchQueue.concurrentPerform(iterations: problems.count) { s in
        var mine: [[Float]] = []
        for _ in 0..<rounds { mine.append(runGEMM(problems[s], inputs[s])) }
        results[s] = mine
      }
      for s in problems.indices {
        #expect(results[s].count == rounds)
        for r in results[s] { expectMatches(r, refs[s], problems[s], inputs[s], "concurrent") }
      }
    }
  }

  @Test func settings() {
    withDefaultSettings {
      #expect(ComputeSettings.threadCount >= 1 && ComputeSettings.threadCount <= 8)
      ComputeSettings.threadCount = 3
      #expect(ComputeSettings.threadCount == 3)
      ComputeSettings.threadCount = 0
      #expect(ComputeSettings.threadCount == 1)
      ComputeSettings.forcePortableKernels(true)
      #expect(ComputeSettings.activeInstructionSet == "portable")
      ComputeSettings.forcePortableKernels(false)
      #expect(rk_active_isa() == rk_cpu_best_isa())
    }
  }
}
