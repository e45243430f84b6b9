/// Layer normalisation over the last axis (Keras `LayerNormalization(axis=-1)`, PyTorch
/// `nn.LayerNorm(F)`).
///
///     μ = mean_j x_j,  σ² = mean_j (x_j - μ)²          (biased variance, per row of F values)
///     x̂_j = (x_j - μ) / sqrt(σ² + ε)
///     y_j = γ_j x̂_j + β_j                               x, y [B, ..., F]
///     backward (per row, r = 1 / sqrt(σ² + ε), g_j = dy_j γ_j):
///         dx_j = r (g_j - mean_k g_k - x̂_j mean_k g_k x̂_k)
///         dγ_j += Σ_rows dy_j x̂_j,   dβ_j += Σ_rows dy_j
///
/// Parameters: `<name>.weight` [F] (γ, ones), `<name>.bias` [F] (β, zeros). ε defaults to
/// Keras's 1e-3 (PyTorch uses 1e-5). Acts per step, so the mask passes through.
public final class LayerNormLayer<Scalar: TensorScalar>: Layer {
  public let epsilon: Double
  /// Features normalised together, known after `build`.
  public private(set) var features = 0
  public private(set) var weight: Parameter?
  public private(set) var bias: Parameter?
  private var store: ParameterStore<Scalar>?
  // Saved by forward for backward.
  private var shape: [Int] = []
  private let normalized = WorkspaceBuffer<Scalar>()  // x̂ [N, F]
  private let inverseStd = WorkspaceBuffer<Scalar>()  // r [N]

  /// Normalises the last axis with `epsilon` added to the variance.
  public init(epsilon: Double = 1e-3) { self.epsilon = epsilon }

  public var kind: String { "layer_normalization" }

  public func build(
    inputShape: [Int], store: ParameterStore<Scalar>, name: String, generator: inout SeededGenerator
  ) throws -> [Int] {
    try LayerSupport.require(epsilon > 0, "LayerNorm(epsilon: \(epsilon)): epsilon must be positive")
    guard let F = inputShape.last, F > 0 else {
      throw RecurrentError.shapeMismatch(
        "LayerNorm expects input [batch, ..., features], got \(LayerSupport.describe(inputShape))")
    }
    features = F
    self.store = store
    let gamma = store.add("\(name).weight", shape: [F])
    LayerSupport.initialize(gamma, in: store, with: .constant(1), fanIn: F, fanOut: F, generator: &generator)
    weight = gamma
    bias = store.add("\(name).bias", shape: [F])  // β = 0
    return inputShape
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func forward(_ x: Tensor<Scalar>, context: LayerContext<Scalar>) -> Tensor<Scalar> {
    guard let store, let weight, let bias else { preconditionFailure("LayerNorm: forward before build") }
    let F = features
    precondition(x.rank >= 2 && x.shape.last == F, "LayerNorm expects input [batch, ..., \(F)], got \(x.shape)")
    let N = x.count / F
    let xhat = normalized.reserve(N * F), rstd = inverseStd.reserve(N)
    let eps = Scalar(epsilon), invF = 1 / Scalar(F)
    var y = Tensor<Scalar>(shape: x.shape)
    store.withBuffers { params, _ in
      let gamma = params + weight.offset, beta = params + bias.offset
      x.withLayerBuffer { xp in
        y.withMutableLayerBuffer { yp in
          for n in 0..<N {
            let xr = xp + n * F, xh = xhat + n * F, yr = yp + n * F
            // μ = mean(x);  σ² = mean((x - μ)²)
            var mean: Scalar = 0
            for j in 0..<F { mean += xr[j] }
            mean *= invF
            var variance: Scalar = 0
            for j in 0..<F { let c = xr[j] - mean; variance += c * c }
            variance *= invF
            // x̂ = (x - μ) r,  r = 1 / sqrt(σ² + ε)
            let r = 1 / (variance + eps).squareRoot()
            rstd[n] = r
            for j in 0..<F { xh[j] = (xr[j] - mean) * r }
            // y = γ x̂ + β
            for j in 0..<F { yr[j] = gamma[j] * xh[j] + beta[j] }
          }
        }
      }
    }
    shape = x.shape
    return y
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func backward(_ dY: Tensor<Scalar>) -> Tensor<Scalar> {
    guard let store, let weight, let bias else { preconditionFailure("LayerNorm: backward before build") }
    precondition(dY.shape == shape, "LayerNorm.backward: gradient must be \(shape), got \(dY.shape)")
    let F = features, N = dY.count / F, invF = 1 / Scalar(F)
    let xhat = normalized.pointer, rstd = inverseStd.pointer
    var dX = Tensor<Scalar>(shape: shape)
    store.withBuffers { params, grads in
      let gamma = params + weight.offset, dGamma = grads + weight.offset, dBeta = grads + bias.offset
      dY.withLayerBuffer { dy in
        dX.withMutableLayerBuffer { dx in
          for n in 0..<N {
            let dyr = dy + n * F, xh = xhat + n * F, dxr = dx + n * F
            // reverses y = γ x̂ + β:  dγ += dy x̂;  dβ += dy;  g = dy γ
            var meanG: Scalar = 0, meanGX: Scalar = 0
            for j in 0..<F {
              dGamma[j] += dyr[j] * xh[j]
              dBeta[j] += dyr[j]
              let g = dyr[j] * gamma[j]
              meanG += g
              meanGX += g * xh[j]
            }
            meanG *= invF
            meanGX *= invF
            // reverses x̂ = (x - μ) r through μ and σ²:  dx = r (g - mean(g) - x̂ mean(g x̂))
            let r = rstd[n]
            for j in 0..<F { dxr[j] = r * (dyr[j] * gamma[j] - meanG - xh[j] * meanGX) }
          }
        }
      }
    }
    return dX
  }
}

/// `LayerNorm` in `Float`.
public typealias LayerNorm = LayerNormLayer<Float>
/// Keras's name for `LayerNorm`.
public typealias LayerNormalization = LayerNormLayer<Float>
