/// Max pooling over time windows, per channel (Keras `MaxPooling1D`, channels last).
///
///     y[b, t, c] = max_{k < poolSize} x[b, t*s - padLeft + k, c]     (padded positions ignored)
///     backward:  dx[b, argmax, c] += dy[b, t, c]
///
/// x [B, T, C] -> y [B, T', C] with stride s = `strides ?? poolSize` and T', padLeft as
/// `Padding1D` says for a window of `poolSize` (`.valid` or `.same`; Keras has no causal
/// pooling). Ties go to the earliest step. No parameters; the time axis changes, so
/// `context.mask` is cleared (Keras pooling does not carry masks).
public final class MaxPool1DLayer<Scalar: TensorScalar>: Layer {
  public let poolSize: Int
  public let strides: Int
  public let padding: Padding1D
  private var inputShape: [Int] = [0, 0, 0]
  private var outputLength = 0
  private var argmax: [Int] = []  // saved by forward: flat input index of each output's maximum

  /// Windows of `poolSize` steps moved `strides` steps at a time (default: `poolSize`).
  public init(poolSize: Int = 2, strides: Int? = nil, padding: Padding1D = .valid) {
    self.poolSize = poolSize
    self.strides = strides ?? poolSize
    self.padding = padding
  }

  public var kind: String { "max_pooling1d" }

  private var label: String { "MaxPool1D(poolSize: \(poolSize), strides: \(strides), padding: .\(padding))" }

  public func build(
    inputShape: [Int], store: ParameterStore<Scalar>, name: String, generator: inout SeededGenerator
  ) throws -> [Int] {
    try LayerSupport.require(poolSize > 0 && strides > 0, "\(label): sizes must be positive")
    try LayerSupport.require(padding != .causal, "\(label): padding must be .valid or .same")
    let (T, C) = try LayerSupport.sequenceShape(inputShape, label)
    let (T2, _) = padding.geometry(length: T, window: poolSize, stride: strides)
    guard T2 > 0 else { throw RecurrentError.shapeMismatch("\(label): \(T) steps are fewer than the pool size") }
    return [T2, C]
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func forward(_ x: Tensor<Scalar>, context: LayerContext<Scalar>) -> Tensor<Scalar> {
    precondition(x.rank == 3, "\(label) expects input [batch, steps, channels], got \(x.shape)")
    let B = x.shape[0], T = x.shape[1], C = x.shape[2], P = poolSize, s = strides
    let (T2, pad) = padding.geometry(length: T, window: P, stride: s)
    precondition(T2 > 0, "\(label): \(T) steps are fewer than the pool size")
    var y = Tensor<Scalar>(shape: [B, T2, C])
    if argmax.count != B * T2 * C { argmax = [Int](repeating: 0, count: B * T2 * C) }
    x.withLayerBuffer { xp in
      y.withMutableLayerBuffer { yp in
        argmax.withUnsafeMutableBufferPointer { am in
          for b in 0..<B {
            for t in 0..<T2 {
              let out = (b * T2 + t) * C
              // the window's steps inside the sequence (at least one, by the length formulas)
              let first = max(t * s - pad, 0), last = min(t * s - pad + P, T)
              for c in 0..<C {
                // y[b, t, c] = max_k x[b, t*s - pad + k, c]
                var best = (b * T + first) * C + c
                for tin in (first + 1)..<max(last, first + 1) {
                  let i = (b * T + tin) * C + c
                  if xp[i] > xp[best] { best = i }
                }
                yp[out + c] = xp[best]
                am[out + c] = best
              }
            }
          }
        }
      }
    }
    inputShape = x.shape
    outputLength = T2
    context.mask = nil
    return y
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func backward(_ dY: Tensor<Scalar>) -> Tensor<Scalar> {
    let B = inputShape[0], C = inputShape[2], T2 = outputLength
    precondition(dY.shape == [B, T2, C], "MaxPool1D.backward: gradient must be \([B, T2, C]), got \(dY.shape)")
    var dX = Tensor<Scalar>(shape: inputShape)
    dY.withLayerBuffer { dy in
      dX.withMutableLayerBuffer { dx in
        argmax.withUnsafeBufferPointer { am in
          // reverses y = x[argmax]:  dx[argmax] += dy
          for i in 0..<(B * T2 * C) { dx[am[i]] += dy[i] }
        }
      }
    }
    return dX
  }
}

/// The mean over time of each channel (Keras `GlobalAveragePooling1D`), over unmasked steps only.
///
///     y[b, c] = Σ_t m[b, t] x[b, t, c] / Σ_t m[b, t]      x [B, T, C] -> y [B, C]
///     backward:  dx[b, t, c] = dy[b, c] * m[b, t] / Σ_t m[b, t]
///
/// m = `context.mask` [B, T] when present, else all ones. A row whose every step is masked
/// gives zeros (Keras gives NaN there) and no gradient. No parameters; the time axis is gone,
/// so `context.mask` is set to nil.
public final class GlobalAveragePooling1DLayer<Scalar: TensorScalar>: Layer {
  private var inputShape: [Int] = [0, 0, 0]
  private var weights: [Scalar] = []  // saved by forward: m[b, t] / Σ_t m[b, t], [B, T]

  public init() {}

  public var kind: String { "global_average_pooling1d" }

  public func build(
    inputShape: [Int], store: ParameterStore<Scalar>, name: String, generator: inout SeededGenerator
  ) throws -> [Int] {
    [try LayerSupport.sequenceShape(inputShape, "GlobalAveragePooling1D").channels]
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func forward(_ x: Tensor<Scalar>, context: LayerContext<Scalar>) -> Tensor<Scalar> {
    precondition(x.rank == 3, "GlobalAveragePooling1D expects input [batch, steps, channels], got \(x.shape)")
    let B = x.shape[0], T = x.shape[1], C = x.shape[2]
    // w[b, t] = m[b, t] / Σ_t m[b, t]
    weights = LayerSupport.stepWeights(mask: context.mask, batch: B, steps: T, normalized: true)
    var y = Tensor<Scalar>(shape: [B, C])
    x.withLayerBuffer { xp in
      y.withMutableLayerBuffer { yp in
        weights.withUnsafeBufferPointer { w in
          // y[b, :] = Σ_t w[b, t] x[b, t, :]
          for b in 0..<B {
            for t in 0..<T where w[b * T + t] != 0 {
              Reductions.axpy(count: C, alpha: w[b * T + t], xp + (b * T + t) * C, yp + b * C)
            }
          }
        }
      }
    }
    inputShape = x.shape
    context.mask = nil
    return y
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func backward(_ dY: Tensor<Scalar>) -> Tensor<Scalar> {
    let B = inputShape[0], T = inputShape[1], C = inputShape[2]
    precondition(dY.shape == [B, C], "GlobalAveragePooling1D.backward: gradient must be \([B, C]), got \(dY.shape)")
    var dX = Tensor<Scalar>(shape: inputShape)
    dY.withLayerBuffer { dy in
      dX.withMutableLayerBuffer { dx in
        weights.withUnsafeBufferPointer { w in
          // reverses y[b, :] = Σ_t w[b, t] x[b, t, :]:  dx[b, t, :] = w[b, t] dy[b, :]
          for b in 0..<B {
            for t in 0..<T where w[b * T + t] != 0 {
              Reductions.axpy(count: C, alpha: w[b * T + t], dy + b * C, dx + (b * T + t) * C)
            }
          }
        }
      }
    }
    return dX
  }
}

/// The maximum over time of each channel (Keras `GlobalMaxPooling1D`), over unmasked steps only.
///
///     y[b, c] = max_{t : m[b, t] != 0} x[b, t, c]         x [B, T, C] -> y [B, C]
///     backward:  dx[b, argmax, c] += dy[b, c]
///
/// m = `context.mask` [B, T] when present (Keras ignores masks here; we honour them like
/// `GlobalAveragePooling1D` so padding never wins the max). A fully masked row gives zeros and
/// no gradient; ties go to the earliest step. No parameters; `context.mask` is set to nil.
public final class GlobalMaxPooling1DLayer<Scalar: TensorScalar>: Layer {
  private var inputShape: [Int] = [0, 0, 0]
  private var argmax: [Int] = []  // saved by forward: flat input index per output, -1 if none

  public init() {}

  public var kind: String { "global_max_pooling1d" }

  public func build(
    inputShape: [Int], store: ParameterStore<Scalar>, name: String, generator: inout SeededGenerator
  ) throws -> [Int] {
    [try LayerSupport.sequenceShape(inputShape, "GlobalMaxPooling1D").channels]
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func forward(_ x: Tensor<Scalar>, context: LayerContext<Scalar>) -> Tensor<Scalar> {
    precondition(x.rank == 3, "GlobalMaxPooling1D expects input [batch, steps, channels], got \(x.shape)")
    let B = x.shape[0], T = x.shape[1], C = x.shape[2]
    let m = LayerSupport.stepWeights(mask: context.mask, batch: B, steps: T, normalized: false)
    var y = Tensor<Scalar>(shape: [B, C])
    if argmax.count != B * C { argmax = [Int](repeating: -1, count: B * C) }
    x.withLayerBuffer { xp in
      y.withMutableLayerBuffer { yp in
        argmax.withUnsafeMutableBufferPointer { am in
          for b in 0..<B {
            for c in 0..<C {
              // y[b, c] = max over unmasked t of x[b, t, c]
              var best = -1
              for t in 0..<T where m[b * T + t] != 0 {
                let i = (b * T + t) * C + c
                if best < 0 || xp[i] > xp[best] { best = i }
              }
              am[b * C + c] = best
              yp[b * C + c] = best < 0 ? 0 : xp[best]
            }
          }
        }
      }
    }
    inputShape = x.shape
    context.mask = nil
    return y
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func backward(_ dY: Tensor<Scalar>) -> Tensor<Scalar> {
    let B = inputShape[0], C = inputShape[2]
    precondition(dY.shape == [B, C], "GlobalMaxPooling1D.backward: gradient must be \([B, C]), got \(dY.shape)")
    var dX = Tensor<Scalar>(shape: inputShape)
    dY.withLayerBuffer { dy in
      dX.withMutableLayerBuffer { dx in
        argmax.withUnsafeBufferPointer { am in
          // reverses y = x[argmax]:  dx[argmax] += dy
          for i in 0..<(B * C) where am[i] >= 0 { dx[am[i]] += dy[i] }
        }
      }
    }
    return dX
  }
}

extension LayerSupport {
  /// Per-step weights [B*T] from an optional [B, T] mask: the mask itself (ones when nil), or,
  /// `normalized`, each row divided by its sum (rows summing to 0 stay 0).
  static func stepWeights<S: TensorScalar>(mask: Tensor<S>?, batch B: Int, steps T: Int, normalized: Bool) -> [S] {
    var w: [S]
    if let mask {
      precondition(mask.shape == [B, T], "mask must be [batch, steps] = \([B, T]), got \(mask.shape)")
      w = mask.scalars
    } else {
      w = [S](repeating: 1, count: B * T)
    }
    guard normalized else { return w }
    w.withUnsafeMutableBufferPointer { w in
      for b in 0..<B {
        var sum: S = 0
        for t in 0..<T { sum += w[b * T + t] }
        if sum != 0 { for t in 0..<T { w[b * T + t] /= sum } }
      }
    }
    return w
  }
}

/// `MaxPool1D` in `Float`, as Keras names it.
public typealias MaxPool1D = MaxPool1DLayer<Float>
/// Keras's other name for `MaxPool1D`.
public typealias MaxPooling1D = MaxPool1DLayer<Float>
/// `GlobalAveragePooling1D` in `Float`, as Keras names it.
public typealias GlobalAveragePooling1D = GlobalAveragePooling1DLayer<Float>
/// `GlobalMaxPooling1D` in `Float`, as Keras names it.
public typealias GlobalMaxPooling1D = GlobalMaxPooling1DLayer<Float>
