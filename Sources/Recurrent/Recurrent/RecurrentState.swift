/// The state a recurrent layer carries between time steps: `h` [B, H] and, for LSTM, `c` [B, H].
public struct RecurrentState<Scalar: TensorScalar>: Equatable, Sendable {
  /// The hidden state h, [B, H].
  public var h: Tensor<Scalar>
  /// The cell state c, [B, H] (LSTM only).
  public var c: Tensor<Scalar>?

  public init(h: Tensor<Scalar>, c: Tensor<Scalar>? = nil) {
    self.h = h
    self.c = c
  }
}

/// What a recurrent layer's forward pass returns.
public struct RecurrentOutput<Scalar: TensorScalar>: Sendable {
  /// Every step's hidden state, batch-first [B, T, H], in processing order (reversed in time
  /// when the layer goes backwards, as in Keras).
  public var sequence: Tensor<Scalar>
  /// The state after the last processed step (`finalState.h` is the last step's output).
  public var finalState: RecurrentState<Scalar>
  /// The last step's output, [B, H] (the Keras `return_sequences=False` output).
  public var last: Tensor<Scalar> { finalState.h }
}

/// What a recurrent layer's backward pass returns; parameter gradients go to the store.
public struct RecurrentGradients<Scalar: TensorScalar>: Sendable {
  /// dL/dx, batch-first [B, T, I].
  public var input: Tensor<Scalar>
  /// dL/dh0 and dL/dc0, [B, H] each.
  public var initialState: RecurrentState<Scalar>
}

/// How a recurrent layer's weights start, as Keras does by default.
public struct RecurrentInitialization: Sendable, Equatable {
  /// `weight_ih`: Glorot-uniform over fans (I, G*H) by default.
  public var inputWeights: Initializer = .glorotUniform
  /// `weight_hh`: orthogonal by default (orthonormal columns of the [G*H, H] matrix).
  public var recurrentWeights: Initializer = .orthogonal()
  /// `bias_ih` and `bias_hh`: zeros by default.
  public var bias: Initializer = .zeros
  /// LSTM only: if set, the forget-gate block of `bias_ih` is set to this value and that of
  /// `bias_hh` to zero (Keras `unit_forget_bias=True`: 1). `nil` leaves `bias` alone.
  public var forgetGateBias: Double? = 1

  public init(
    inputWeights: Initializer = .glorotUniform, recurrentWeights: Initializer = .orthogonal(),
    bias: Initializer = .zeros, forgetGateBias: Double? = 1
  ) {
    self.inputWeights = inputWeights
    self.recurrentWeights = recurrentWeights
    self.bias = bias
    self.forgetGateBias = forgetGateBias
  }

  /// Keras defaults: Glorot-uniform, orthogonal, zero biases, LSTM forget bias 1.
  public static var keras: RecurrentInitialization { RecurrentInitialization() }
}
