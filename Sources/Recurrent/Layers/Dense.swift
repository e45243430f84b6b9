/// A fully connected layer on the last axis (Keras `Dense`, PyTorch `nn.Linear`).
///
///     z = x . W^T + b          x [N, in], W [out, in], b [out]  ->  z [N, out]
///     y = act(z)               act: linear, relu, tanh, sigmoid or softmax (over the last axis)
///
/// Every leading axis is folded into the N rows of one GEMM, so on [B, F] the rows are the
/// batch and on [B, T, F] each time step is a row: Dense acts per step, as in Keras (no
/// `TimeDistributed` needed). Input [B, ..., in] -> output [B, ..., units].
///
/// Parameters: `<name>.weight` [units, in] (Glorot-uniform with Keras's fans (in, units)),
/// `<name>.bias` [units] (zeros; absent when `useBias` is false).
public final class DenseLayer<Scalar: TensorScalar>: Layer {
  public let units: Int
  public let activation: ActivationFunction
  public let useBias: Bool
  /// Input features, known after `build`.
  public private(set) var inputFeatures = 0
  public private(set) var weight: Parameter?
  public private(set) var bias: Parameter?
  private var store: ParameterStore<Scalar>?
  // Saved by forward for backward.
  private var input = Tensor<Scalar>(shape: [0])  // x [N, in] (with its original shape)
  private var output = Tensor<Scalar>(shape: [0])  // y [N, out]
  private let dZ = WorkspaceBuffer<Scalar>()  // [N, out]

  /// `units` outputs per row, `activation` applied to them (linear by default).
  public init(units: Int, activation: ActivationFunction = .linear, useBias: Bool = true) {
    self.units = units
    self.activation = activation
    self.useBias = useBias
  }

  public var kind: String { "dense" }

  public func build(
    inputShape: [Int], store: ParameterStore<Scalar>, name: String, generator: inout SeededGenerator
  ) throws -> [Int] {
    try LayerSupport.require(units > 0, "Dense(units: \(units)): units must be positive")
    guard let features = inputShape.last, features > 0 else {
      throw RecurrentError.shapeMismatch(
        "Dense(units: \(units)) expects input [batch, ..., features], got \(LayerSupport.describe(inputShape))")
    }
    inputFeatures = features
    self.store = store
    let w = store.add("\(name).weight", shape: [units, features])
    LayerSupport.initialize(w, in: store, with: .glorotUniform, fanIn: features, fanOut: units, generator: &generator)
    weight = w
    if useBias { bias = store.add("\(name).bias", shape: [units]) }  // zeros
    return Array(inputShape.dropLast()) + [units]
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func forward(_ x: Tensor<Scalar>, context: LayerContext<Scalar>) -> Tensor<Scalar> {
    guard let store, let weight else { preconditionFailure("Dense: forward before build") }
    let I = inputFeatures, O = units
    precondition(
      x.rank >= 2 && x.shape.last == I, "Dense(units: \(O)) expects input [batch, ..., \(I)], got \(x.shape)")
    let N = x.count / I
    var y = Tensor<Scalar>(shape: Array(x.shape.dropLast()) + [O])
    store.withBuffers { params, _ in
      x.withLayerBuffer { xp in
        y.withMutableLayerBuffer { yp in
          // y = act(x . W^T + b)                                    [N, in] -> [N, out]
          AffineKernel.forward(
            xp, rows: N, inputs: I, outputs: O, weight: params + weight.offset,
            bias: bias.map { UnsafePointer(params + $0.offset) }, activation: activation, into: yp)
        }
      }
    }
    input = x
    output = y
    return y
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func backward(_ dY: Tensor<Scalar>) -> Tensor<Scalar> {
    guard let store, let weight else { preconditionFailure("Dense: backward before build") }
    precondition(dY.shape == output.shape, "Dense.backward: gradient must be \(output.shape), got \(dY.shape)")
    let I = inputFeatures, O = units, N = output.count / O
    var dX = Tensor<Scalar>(shape: input.shape)
    store.withBuffers { params, grads in
      dY.withLayerBuffer { dy in
        output.withLayerBuffer { y in
          input.withLayerBuffer { x in
            dX.withMutableLayerBuffer { dx in
              // reverses y = act(x . W^T + b): dW += dZ^T . x;  db += colsum(dZ);  dX = dZ . W
              AffineKernel.backward(
                x, output: y, outputGradient: dy, rows: N, inputs: I, outputs: O, weight: params + weight.offset,
                activation: activation, dWeight: grads + weight.offset, dBias: bias.map { grads + $0.offset },
                scratch: dZ, inputGradient: dx)
            }
          }
        }
      }
    }
    return dX
  }
}

/// `Dense` in `Float`, as Keras names it.
public typealias Dense = DenseLayer<Float>
