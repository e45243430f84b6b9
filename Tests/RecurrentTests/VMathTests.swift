import CRecurrentKernels
import Foundation
import Testing

@testable import Recurrent

// Accuracy and edge cases of the elementwise kernels (rk_vmath*.c) behind `Float.exp`,
// `Float.sigmoid`, `Float.tanh` and their Double counterparts.
//
// Error measure: |y - f(x)| / max(|f(x)|, 1e-37), with f evaluated in Double (libm). The floor
// compares results below the normal float range (~1.2e-38) absolutely, since denormal outputs
// cannot carry relative accuracy. Float bound: 1e-6 (about 8-16 ulps); the kernels measure
// <= 1.8e-7 exhaustively over all 2^32 inputs (see Benchmarks/BENCHMARKS.md, "Vector math").

/// The three float functions under test, with their Double references.
enum VMathFunction: String, CaseIterable, CustomStringConvertible {
  case exp, sigmoid, tanh

  var description: String { rawValue }

  func callAsFunction(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
    switch self {
    case .exp: Float.exp(count: n, x, into: y)
    case .sigmoid: Float.sigmoid(count: n, x, into: y)
    case .tanh: Float.tanh(count: n, x, into: y)
    }
  }

  func run(_ x: [Float]) -> [Float] {
    var y = [Float](repeating: .nan, count: x.count)
    x.withUnsafeBufferPointer { xp in
      y.withUnsafeMutableBufferPointer { yp in
        self(xp.baseAddress!, yp.baseAddress!, x.count)
      }
    }
    return y
  }

  /// f(x) in Double.
  func reference(_ x: Double) -> Double {
    switch self {
    case .exp: return Foundation.exp(x)
    case .sigmoid: return VMathReference.sigmoid(x)
    case .tanh: return Foundation.tanh(x)
    }
  }
}

enum VMathReference {
  static let relativeFloor = 1e-37
  static let floatBound = 1e-6

  /// Sigmoid in Double without cancellation on either side.
  static func sigmoid(_ x: Double) -> Double {
    if x >= 0 { return 1 / (1 + Foundation.exp(-x)) }
    let e = Foundation.exp(x)
    return e / (1 + e)
  }

  /// Finite inputs covering the whole float line: every 8191st bit pattern of each sign (about
  /// 520k points, log-spaced, from denormals to the largest finite float), a dense grid on
  /// [-20, 20] where the activations bend, a grid on [-90, 90] (exp's whole finite range and
  /// sigmoid's underflow), and the exact ends.
  static let sweepInputs: [Float] = {
    var xs: [Float] = []
    xs.reserveCapacity(1_200_000)
    let maxFiniteBits = Float.greatestFiniteMagnitude.bitPattern
    var bits: UInt32 = 0
    while bits <= maxFiniteBits {
      let v = Float(bitPattern: bits)
      xs.append(v)
      xs.append(-v)
      let (next, overflow) = bits.addingReportingOverflow(8191)
      if overflow { break }
      bits = next
    }
    for i in -200_000...200_000 { xs.append(Float(i) * 1e-4) }  // [-20, 20]
    for i in -90_000...90_000 { xs.append(Float(i) * 1e-3) }  // [-90, 90]
    xs += [0, -.zero, .leastNonzeroMagnitude, -.leastNonzeroMagnitude, .leastNormalMagnitude,
           -.greatestFiniteMagnitude, .greatestFiniteMagnitude, 88.72283, 88.72284, -87.33654,
           -103.97208, -103.9721, 0.625, -0.625, 0.62499994, -0.62499994]
    return xs
  }()

  /// The Double references for `sweepInputs`, per function (computed once, shared by both ISAs).
  static let sweepReferences: [VMathFunction: [Double]] = {
    var table: [VMathFunction: [Double]] = [:]
    for f in VMathFunction.allCases {
      table[f] = sweepInputs.withUnsafeBufferPointer { xs in xs.map { f.reference(Double($0)) } }
    }
    return table
  }()

  /// The largest relative error (with the floor) of `f` over `xs` and where it occurs, plus how
  /// many outputs break a hard rule (NaN, out of range, wrong overflow).
  static func maxError(_ f: VMathFunction, _ xs: [Float], _ refs: [Double])
    -> (error: Double, at: Float, violations: Int)
  {
    let ys = f.run(xs)
    var worst = 0.0
    var worstX: Float = 0
    var violations = 0
    let maxFinite = Double(Float.greatestFiniteMagnitude)
    xs.withUnsafeBufferPointer { xp in
      ys.withUnsafeBufferPointer { yp in
        refs.withUnsafeBufferPointer { rp in
          for i in 0..<xp.count {
            let y = Double(yp[i])
            let r = rp[i]
            if y.isNaN { violations += 1; continue }
            if r > maxFinite {
              // exp beyond ln(FLT_MAX): +inf, or the largest float if the true value is within
              // half an ulp of it.
              if !(y == .infinity || abs(y - r) / r <= floatBound) { violations += 1 }
              continue
            }
            if f == .sigmoid && !(0...1).contains(y) { violations += 1 }
            if f == .tanh && !(-1...1).contains(y) { violations += 1 }
            let e = abs(y - r) / max(abs(r), relativeFloor)
            if !(e <= worst) {
              worst = e
              worstX = xp[i]
            }
          }
        }
      }
    }
    return (worst, worstX, violations)
  }

  /// Runs every accuracy and edge-case check on the currently active ISA.
  static func checkAll(isa: String) {
    for f in VMathFunction.allCases {
      let (error, at, violations) = maxError(f, sweepInputs, sweepReferences[f]!)
      #expect(error <= floatBound, "\(f) [\(isa)]: max relative error \(error) at x = \(at)")
      #expect(violations == 0, "\(f) [\(isa)]: \(violations) NaN / range / overflow violations")
    }
    checkExtremes(isa: isa)
    checkTailsAndAliasing(isa: isa)
  }

  static let extremes: [Float] = [
    88, -88, 89, -89, 1e4, -1e4, .infinity, -.infinity, .greatestFiniteMagnitude,
    -.greatestFiniteMagnitude, 88.7, 88.73, -87.5, -104, -150, 0, -.zero,
  ]

  static func checkExtremes(isa: String) {
    let e = VMathFunction.exp.run(extremes)
    let s = VMathFunction.sigmoid.run(extremes)
    let t = VMathFunction.tanh.run(extremes)
    for (i, x) in extremes.enumerated() {
      #expect(!e[i].isNaN && !s[i].isNaN && !t[i].isNaN, "[\(isa)] NaN at x = \(x)")
      #expect(e[i] >= 0, "[\(isa)] exp(\(x)) = \(e[i])")
      #expect((0...1).contains(s[i]), "[\(isa)] sigmoid(\(x)) = \(s[i])")
      #expect((-1...1).contains(t[i]), "[\(isa)] tanh(\(x)) = \(t[i])")
    }
    // exp: overflow to +inf past ln(FLT_MAX) ~ 88.7228, underflow to exactly 0 far left.
    let ex = VMathFunction.exp.run([89, 1e4, .infinity, .greatestFiniteMagnitude, 88.7, -1e4,
                                    -.infinity, -.greatestFiniteMagnitude, -150, 0, -.zero])
    #expect(ex[0...3].allSatisfy { $0 == .infinity }, "[\(isa)] \(ex)")
    #expect(ex[4].isFinite && abs(Double(ex[4]) - Foundation.exp(Double(Float(88.7))))
      <= 1e-6 * Foundation.exp(Double(Float(88.7))), "[\(isa)] exp(88.7) = \(ex[4])")
    #expect(ex[5...8].allSatisfy { $0 == 0 }, "[\(isa)] \(ex)")
    #expect(ex[9] == 1 && ex[10] == 1, "[\(isa)] exp(+-0) = \(ex[9]), \(ex[10])")
    // exp into the denormal range: absolute accuracy, and positive where the true value is
    // above half the smallest denormal.
    let dx: [Float] = [-88, -95, -100, -103]
    let dy = VMathFunction.exp.run(dx)
    for (x, y) in zip(dx, dy) {
      let r = Foundation.exp(Double(x))
      #expect(y > 0 && abs(Double(y) - r) <= 1e-6 * max(r, relativeFloor),
              "[\(isa)] exp(\(x)) = \(y), want \(r)")
    }
    // sigmoid and tanh saturate exactly.
    let sx = VMathFunction.sigmoid.run([.infinity, -.infinity, 1e4, -1e4, 89, 0])
    #expect(sx == [1, 0, 1, 0, 1, 0.5], "[\(isa)] \(sx)")
    let tx = VMathFunction.tanh.run([.infinity, -.infinity, 1e4, -1e4, 20, -20])
    #expect(tx == [1, -1, 1, -1, 1, -1], "[\(isa)] \(tx)")
    // Sign of zero kept by tanh; tiny inputs returned as is.
    let tz = VMathFunction.tanh.run([-.zero, 0, 1e-30, -1e-30, .leastNonzeroMagnitude])
    #expect(tz[0] == 0 && tz[0].sign == .minus && tz[1].sign == .plus, "[\(isa)] \(tz)")
    #expect(tz[2] == 1e-30 && tz[3] == -1e-30 && tz[4] == .leastNonzeroMagnitude, "[\(isa)]")
    // NaN in, NaN out (quiet and signalling, either sign), neighbours unaffected.
    let nanInput: [Float] = [1, .nan, -.nan, Float(bitPattern: 0x7fa0_0000), 2, .nan, 3, 4, .nan]
    for f in VMathFunction.allCases {
      let y = f.run(nanInput)
      for (x, v) in zip(nanInput, y) {
        #expect(x.isNaN == v.isNaN, "\(f) [\(isa)]: \(x) -> \(v)")
      }
    }
  }

  /// Lengths 0 (no write), 1, 7, 8, 9, 31, 33 against an element-by-element call, in place
  /// and out of place, leaving the elements past `count` untouched.
  static func checkTailsAndAliasing(isa: String) {
    for f in VMathFunction.allCases {
      for n in [0, 1, 7, 8, 9, 15, 16, 17, 31, 33] {
        let x = (0..<n).map { Float($0) * 0.731 - 9.5 }
        var single = [Float](repeating: 0, count: n)
        for i in 0..<n {
          var xi = x[i]
          var yi: Float = 0
          f(&xi, &yi, 1)
          single[i] = yi
        }
        let sentinel: Float = -12345
        var out = [Float](repeating: sentinel, count: n + 3)
        x.withUnsafeBufferPointer { xp in
          out.withUnsafeMutableBufferPointer { yp in
            f(xp.baseAddress ?? UnsafePointer(yp.baseAddress!), yp.baseAddress!, n)
          }
        }
        #expect(Array(out[0..<n]) == single, "\(f) [\(isa)] n=\(n)")
        #expect(out[n...].allSatisfy { $0 == sentinel }, "\(f) [\(isa)] n=\(n) wrote past end")
        var inPlace = x + [sentinel, sentinel, sentinel]
        inPlace.withUnsafeMutableBufferPointer { p in f(p.baseAddress!, p.baseAddress!, n) }
        #expect(Array(inPlace[0..<n]) == single, "\(f) [\(isa)] in place, n=\(n)")
        #expect(inPlace[n...].allSatisfy { $0 == sentinel }, "\(f) [\(isa)] in place n=\(n)")
        for i in 0..<n {
          let r = f.reference(Double(x[i]))
          #expect(abs(Double(single[i]) - r) <= floatBound * max(abs(r), relativeFloor),
                  "\(f) [\(isa)] x=\(x[i])")
        }
      }
    }
  }
}

@Suite(.serialized)
struct VMathTests {
  /// Float kernels on the best ISA the CPU has (AVX2+FMA here).
  @Test func floatAccuracyBestISA() {
    ComputeSettings.forcePortableKernels(false)
    VMathReference.checkAll(isa: ComputeSettings.activeInstructionSet)
  }

  /// The same checks with the portable C path forced.
  @Test func floatAccuracyPortable() {
    ComputeSettings.forcePortableKernels(true)
    defer { ComputeSettings.forcePortableKernels(false) }
    #expect(ComputeSettings.activeInstructionSet == "portable")
    VMathReference.checkAll(isa: "portable")
  }

  /// Double kernels: ~1e-14 relative against careful Double formulas, on a wide grid plus
  /// extremes; NaN propagates, sigmoid in [0, 1], tanh in [-1, 1], in place works.
  @Test func doubleAccuracy() {
    var xs: [Double] = (-40_000...40_000).map { Double($0) * 1e-3 }  // [-40, 40]
    xs += (-7_460...7_110).map { Double($0) * 0.1 }  // [-746, 711]: into denormals and overflow
    xs += [1e-300, -1e-300, 1e-8, -1e-8, 0, -.zero, 709.7, -708, -720, -745, 1e4, -1e4, .infinity,
           -.infinity, .greatestFiniteMagnitude, -.greatestFiniteMagnitude]
    let n = xs.count
    var e = [Double](repeating: 0, count: n)
    var s = e
    var t = e
    Double.exp(count: n, xs, into: &e)
    Double.sigmoid(count: n, xs, into: &s)
    Double.tanh(count: n, xs, into: &t)
    var worst: [String: Double] = ["exp": 0, "sigmoid": 0, "tanh": 0]
    for i in 0..<n {
      let x = xs[i]
      // References: libm exp/tanh (< 1 ulp) and the cancellation-free sigmoid.
      let re = Foundation.exp(x)
      let rs = VMathReference.sigmoid(x)
      let rt = Foundation.tanh(x)
      func rel(_ y: Double, _ r: Double) -> Double {
        if y == r { return 0 }
        return abs(y - r) / max(abs(r), Double.leastNormalMagnitude)
      }
      worst["exp"] = max(worst["exp"]!, rel(e[i], re))
      worst["sigmoid"] = max(worst["sigmoid"]!, rel(s[i], rs))
      worst["tanh"] = max(worst["tanh"]!, rel(t[i], rt))
      #expect(!e[i].isNaN && !s[i].isNaN && !t[i].isNaN, "x = \(x)")
      #expect((0...1).contains(s[i]) && (-1...1).contains(t[i]), "x = \(x)")
    }
    for (name, err) in worst { #expect(err <= 1e-14, "\(name): \(err)") }
    // The tiny tail survives: e / (1 + e) stays denormal where 1 / (1 + exp(-x)) is already 0.
    let i720 = xs.firstIndex(of: -720)!
    #expect(s[i720] > 0 && abs(s[i720] - Foundation.exp(-720.0)) <= 1e-14 * Foundation.exp(-720.0))

    let nanIn: [Double] = [1, .nan, 2]
    var out = [Double](repeating: 0, count: 3)
    Double.exp(count: 3, nanIn, into: &out)
    #expect(out[1].isNaN && !out[0].isNaN && !out[2].isNaN)
    Double.sigmoid(count: 3, nanIn, into: &out)
    #expect(out[1].isNaN && !out[0].isNaN && !out[2].isNaN)
    Double.tanh(count: 3, nanIn, into: &out)
    #expect(out[1].isNaN && !out[0].isNaN && !out[2].isNaN)

    var inPlace: [Double] = [-3, -1, 0, 1, 3]
    inPlace.withUnsafeMutableBufferPointer { p in
      Double.sigmoid(count: p.count, p.baseAddress!, into: p.baseAddress!)
    }
    #expect(inPlace[2] == 0.5 && abs(inPlace[4] - 1 / (1 + Foundation.exp(-3.0))) < 1e-16)
  }
}
