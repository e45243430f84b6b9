/// A 1-D convolution over time, channels last (Keras `Conv1D`; weights as PyTorch `nn.Conv1d`).
///
///     y[b, t, f] = act( b_f + Σ_c Σ_k W[f, c, k] * x[b, t*s - padLeft + k*d, c] )
///
/// with stride s, dilation d, x zero outside 0..<T; x [B, T, C] -> y [B, T', filters], T' and
/// padLeft as `Padding1D` says for the window w = (kernelSize - 1) * d + 1 (Keras's formulas).
/// `.causal` pads w - 1 zeros on the left, so y[t] depends on x[0...t*s] only.
///
/// Computed as im2col + one GEMM:
///
///     col[(b, t), c*K + k] = x[b, t*s - padLeft + k*d, c]      col [B*T', C*K]
///     z = col . W^T + b                                        W viewed as [filters, C*K]
///     backward: dW += dZ^T . col;  db += colsum(dZ);  dcol = dZ . W;  dx = col2im(dcol)
///
/// Parameters: `<name>.weight` [filters, C, kernelSize] (PyTorch layout; Keras's kernel is
/// [kernelSize, C, filters]), Glorot-uniform with Keras's fans (C * kernelSize,
/// filters * kernelSize); `<name>.bias` [filters] (zeros; absent when `useBias` is false).
///
/// `forward` accepts any T for which the output is non-empty (build's T only sets the output
/// shape it reports). Keras's Conv1D does not carry masks, so `context.mask` is cleared.
public final class Conv1DLayer<Scalar: TensorScalar>: Layer {
  public let filters: Int
  public let kernelSize: Int
  public let strides: Int
  public let padding: Padding1D
  public let dilation: Int
  public let activation: ActivationFunction
  public let useBias: Bool
  /// Input channels, known after `build`.
  public private(set) var inputChannels = 0
  public private(set) var weight: Parameter?
  public private(set) var bias: Parameter?
  private var store: ParameterStore<Scalar>?
  // Saved by forward for backward.
  private var batch = 0, inputLength = 0, outputLength = 0, padLeft = 0
  private let columns = WorkspaceBuffer<Scalar>()  // col [B*T', C*K]
  private var output = Tensor<Scalar>(shape: [0])  // y [B, T', F]
  private let dZ = WorkspaceBuffer<Scalar>()  // [B*T', F]
  private let dColumns = WorkspaceBuffer<Scalar>()  // [B*T', C*K]

  /// `filters` output channels from windows of `kernelSize` taps `dilation` steps apart, moved
  /// `strides` steps at a time.
  public init(
    filters: Int, kernelSize: Int, strides: Int = 1, padding: Padding1D = .valid, dilation: Int = 1,
    activation: ActivationFunction = .linear, useBias: Bool = true
  ) {
    self.filters = filters
    self.kernelSize = kernelSize
    self.strides = strides
    self.padding = padding
    self.dilation = dilation
    self.activation = activation
    self.useBias = useBias
  }

  public var kind: String { "conv1d" }

  /// The steps one window spans: (kernelSize - 1) * dilation + 1.
  public var window: Int { (kernelSize - 1) * dilation + 1 }

  private var label: String {
    "Conv1D(filters: \(filters), kernelSize: \(kernelSize), strides: \(strides), padding: .\(padding), dilation: \(dilation))"
  }

  public func build(
    inputShape: [Int], store: ParameterStore<Scalar>, name: String, generator: inout SeededGenerator
  ) throws -> [Int] {
    try LayerSupport.require(
      filters > 0 && kernelSize > 0 && strides > 0 && dilation > 0, "\(label): sizes must be positive")
    let (T, C) = try LayerSupport.sequenceShape(inputShape, label)
    let K = kernelSize
    let (outLength, _) = padding.geometry(length: T, window: window, stride: strides)
    guard outLength > 0 else {
      throw RecurrentError.shapeMismatch(
        "\(label): \(T) steps are fewer than the window of \(window) steps (padding .valid)")
    }
    inputChannels = C
    self.store = store
    let w = store.add("\(name).weight", shape: [filters, C, K])
    LayerSupport.initialize(
      w, in: store, with: .glorotUniform, fanIn: C * K, fanOut: filters * K, generator: &generator)
    weight = w
    if useBias { bias = store.add("\(name).bias", shape: [filters]) }  // zeros
    return [outLength, filters]
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func forward(_ x: Tensor<Scalar>, context: LayerContext<Scalar>) -> Tensor<Scalar> {
    guard let store, let weight else { preconditionFailure("Conv1D: forward before build") }
    let C = inputChannels, K = kernelSize, F = filters, s = strides, d = dilation
    precondition(x.rank == 3 && x.shape[2] == C, "\(label) expects input [batch, steps, \(C)], got \(x.shape)")
    let B = x.shape[0], T = x.shape[1]
    let (T2, pad) = padding.geometry(length: T, window: window, stride: s)
    precondition(T2 > 0, "\(label): \(T) steps are fewer than the window of \(window) steps")
    let N = B * T2, CK = C * K
    let col = columns.reserve(N * CK)
    var y = Tensor<Scalar>(shape: [B, T2, F])
    x.withLayerBuffer { xp in
      // col[(b, t), c*K + k] = x[b, t*s - pad + k*d, c]  (0 outside the sequence)   col [N, C*K]
      for b in 0..<B {
        for t in 0..<T2 {
          let row = col + (b * T2 + t) * CK, start = t * s - pad
          for k in 0..<K {
            let tin = start + k * d
            if tin >= 0 && tin < T {
              let src = xp + (b * T + tin) * C
              for c in 0..<C { row[c * K + k] = src[c] }
            } else {
              for c in 0..<C { row[c * K + k] = 0 }
            }
          }
        }
      }
    }
    store.withBuffers { params, _ in
      y.withMutableLayerBuffer { yp in
        // y = act(col . W^T + b)                             [N, C*K] -> [N, F]
        AffineKernel.forward(
          col, rows: N, inputs: CK, outputs: F, weight: params + weight.offset,
          bias: bias.map { UnsafePointer(params + $0.offset) }, activation: activation, into: yp)
      }
    }
    batch = B
    inputLength = T
    outputLength = T2
    padLeft = pad
    output = y
    context.mask = nil
    return y
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func backward(_ dY: Tensor<Scalar>) -> Tensor<Scalar> {
    guard let store, let weight else { preconditionFailure("Conv1D: backward before build") }
    let C = inputChannels, K = kernelSize, F = filters, s = strides, d = dilation
    let B = batch, T = inputLength, T2 = outputLength, N = B * T2, CK = C * K
    precondition(dY.shape == [B, T2, F], "Conv1D.backward: gradient must be \([B, T2, F]), got \(dY.shape)")
    var dX = Tensor<Scalar>(shape: [B, T, C])
    guard N > 0 else { return dX }
    let col = columns.pointer, dcol = dColumns.reserve(N * CK)
    store.withBuffers { params, grads in
      dY.withLayerBuffer { dy in
        output.withLayerBuffer { y in
          // reverses y = act(col . W^T + b): dW += dZ^T . col;  db += colsum(dZ);  dcol = dZ . W
          AffineKernel.backward(
            col, output: y, outputGradient: dy, rows: N, inputs: CK, outputs: F, weight: params + weight.offset,
            activation: activation, dWeight: grads + weight.offset, dBias: bias.map { grads + $0.offset },
            scratch: dZ, inputGradient: dcol)
        }
      }
    }
    dX.withMutableLayerBuffer { dx in
      // reverses col[(b, t), c*K + k] = x[b, t*s - pad + k*d, c]:  dx[b, tin, c] += dcol[...]
      for b in 0..<B {
        for t in 0..<T2 {
          let row = dcol + (b * T2 + t) * CK, start = t * s - padLeft
          for k in 0..<K {
            let tin = start + k * d
            guard tin >= 0 && tin < T else { continue }
            let dst = dx + (b * T + tin) * C
            for c in 0..<C { dst[c] += row[c * K + k] }
          }
        }
      }
    }
    return dX
  }
}

/// `Conv1D` in `Float`, as Keras names it.
public typealias Conv1D = Conv1DLayer<Float>
