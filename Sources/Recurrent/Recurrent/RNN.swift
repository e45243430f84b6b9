/// A recurrent layer for models: a `RecurrentCell` scanned over time, with Keras's options.
///
/// Input [B, T, I]; output [B, T, units] with `returnSequences`, else the last step [B, units]
/// (each row's own last real step when the batch is masked). Use the typealiases `LSTM`,
/// `GRU` and `SimpleRNN` (Float) or `RNN<LSTMCell, Double>` and friends.
///
/// Options:
/// - `goBackwards`: process the sequence last step first; the output is in processing order.
/// - `dropout`: input dropout, one [B, I] mask for all steps (variational), training only.
/// - `recurrentDropout`: one [B, H] mask on h_{t-1} before the recurrent projection.
/// - `stateful`: the final state of one batch is the (detached) initial state of the next;
///   `resetStates()` clears it. With `Model.fit(truncatedBPTT:)` this gives truncated BPTT.
/// - `trainableInitialState`: h0 (and c0) are parameters [units], shared by every row.
/// - `initialState`: a user-supplied initial state for the next forward passes (overrides the
///   trainable one; a stateful layer's carried state takes precedence once it has one).
///
/// After a forward pass `lastState` holds the final state (Keras `return_state`); after a
/// backward pass `initialStateGradient` holds dL/d(initial state).
public final class RNN<Cell: RecurrentCell, Scalar: TensorScalar>: Layer {
  public let cell: Cell
  public let units: Int
  public var returnSequences: Bool
  public var goBackwards: Bool
  public var dropout: Double
  public var recurrentDropout: Double
  public var stateful: Bool
  public var trainableInitialState: Bool
  public var initialization: RecurrentInitialization
  /// Parameter-name suffix ("_reverse" for the backward half of `Bidirectional`).
  var nameSuffix = ""

  /// The BPTT engine, created by `build`.
  public private(set) var engine: RecurrentLayer<Cell, Scalar>?
  public private(set) var initialHParameter: Parameter?
  public private(set) var initialCParameter: Parameter?
  /// User-supplied initial state (Keras `initial_state`), used by every forward pass until cleared.
  public var initialState: RecurrentState<Scalar>?
  /// The state carried between batches by a stateful layer.
  public private(set) var carriedState: RecurrentState<Scalar>?
  /// The final state of the last forward pass.
  public private(set) var lastState: RecurrentState<Scalar>?
  /// dL/d(initial state) from the last backward pass.
  public private(set) var initialStateGradient: RecurrentState<Scalar>?

  private var inputDropoutMask: Tensor<Scalar>?  // [B, I]

  public var kind: String { cell.kindName }

  public init(
    _ cell: Cell, units: Int, returnSequences: Bool = false, goBackwards: Bool = false,
    dropout: Double = 0, recurrentDropout: Double = 0, stateful: Bool = false,
    trainableInitialState: Bool = false, initialization: RecurrentInitialization = .keras
  ) {
    precondition(units > 0, "RNN: units must be positive, got \(units)")
    precondition((0..<1).contains(dropout) && (0..<1).contains(recurrentDropout), "RNN: dropout rates must be in [0, 1)")
    self.cell = cell
    self.units = units
    self.returnSequences = returnSequences
    self.goBackwards = goBackwards
    self.dropout = dropout
    self.recurrentDropout = recurrentDropout
    self.stateful = stateful
    self.trainableInitialState = trainableInitialState
    self.initialization = initialization
  }

  public func build(
    inputShape: [Int], store: ParameterStore<Scalar>, name: String, generator: inout SeededGenerator
  ) throws -> [Int] {
    guard inputShape.count == 2, inputShape[1] > 0 else {
      throw RecurrentError.shapeMismatch(
        "\(kind)(units: \(units)) expects input [steps, features], got \(inputShape)")
    }
    engine = RecurrentLayer<Cell, Scalar>(
      cell, inputSize: inputShape[1], hiddenSize: units, goBackwards: goBackwards, store: store, name: name,
      suffix: nameSuffix, initialization: initialization, generator: &generator)
    if trainableInitialState {
      initialHParameter = store.add("\(name).h0\(nameSuffix)", shape: [units])
      if Cell.hasCellState { initialCParameter = store.add("\(name).c0\(nameSuffix)", shape: [units]) }
    }
    return returnSequences ? [inputShape[0], units] : [units]
  }

  /// Clears the state a stateful layer carries.
  public func resetStates() { carriedState = nil }

  public func forward(_ input: Tensor<Scalar>, context: LayerContext<Scalar>) -> Tensor<Scalar> {
    let out = run(input, context: context)
    if !returnSequences { context.mask = nil }
    return returnSequences ? out.sequence : out.last
  }

  /// The full result of a forward pass (sequence and final state), for encoder-decoder models
  /// and other uses beyond `Sequential`.
  public func run(_ input: Tensor<Scalar>, context: LayerContext<Scalar>) -> RecurrentOutput<Scalar> {
    guard let engine else { preconditionFailure("RNN: call build before forward") }
    let B = input.shape[0], I = engine.inputSize, H = units
    var x = input
    inputDropoutMask = nil
    if context.training && dropout > 0 {
      let m = Self.dropoutMask(shape: [B, I], rate: dropout, generator: &context.generator)
      inputDropoutMask = m
      x = Self.scaleFeatures(x, by: m)
    }
    var recurrentMask: Tensor<Scalar>?
    if context.training && recurrentDropout > 0 {
      recurrentMask = Self.dropoutMask(shape: [B, H], rate: recurrentDropout, generator: &context.generator)
    }
    let state = startState(batch: B, store: engine.store)
    engine.goBackwards = goBackwards
    let out = engine.forward(x, initialState: state, mask: context.mask, recurrentDropoutMask: recurrentMask)
    lastState = out.finalState
    if stateful { carriedState = out.finalState }
    return out
  }

  public func backward(_ outputGradient: Tensor<Scalar>) -> Tensor<Scalar> {
    returnSequences
      ? backward(sequenceGradient: outputGradient, finalStateGradient: nil)
      : backward(sequenceGradient: nil, finalStateGradient: RecurrentState(h: outputGradient))
  }

  /// Backward from gradients for the sequence and/or the final state (either may be nil).
  public func backward(
    sequenceGradient: Tensor<Scalar>?, finalStateGradient: RecurrentState<Scalar>?
  ) -> Tensor<Scalar> {
    guard let engine else { preconditionFailure("RNN: call build before backward") }
    let g = engine.backward(sequenceGradient: sequenceGradient, finalStateGradient: finalStateGradient)
    initialStateGradient = g.initialState
    if usedTrainableState, let hp = initialHParameter {
      // reverses h0 = broadcast(param): dparam = sum over rows of dh0
      Self.addRowSums(g.initialState.h, into: hp, store: engine.store)
      if let cp = initialCParameter, let dc = g.initialState.c { Self.addRowSums(dc, into: cp, store: engine.store) }
    }
    guard let m = inputDropoutMask else { return g.input }
    return Self.scaleFeatures(g.input, by: m)  // reverses x' = x * m
  }

  private var usedTrainableState = false

  /// Stateful carry, then a user-supplied state, then the trainable one, else zeros.
  private func startState(batch B: Int, store: ParameterStore<Scalar>) -> RecurrentState<Scalar>? {
    usedTrainableState = false
    if stateful, let s = carriedState {
      precondition(
        s.h.shape[0] == B,
        "\(kind): a stateful layer needs the same batch size every call (had \(s.h.shape[0]), got \(B)); call resetStates()")
      return s
    }
    if let s = initialState { return s }
    guard let hp = initialHParameter else { return nil }
    usedTrainableState = true
    func broadcast(_ p: Parameter) -> Tensor<Scalar> {
      let row = store.value(of: p).scalars
      return Tensor(shape: [B, units], scalars: Array((0..<B).map { _ in row }.joined()))
    }
    return RecurrentState(h: broadcast(hp), c: initialCParameter.map(broadcast))
  }

  static func dropoutMask(shape: [Int], rate: Double, generator: inout SeededGenerator) -> Tensor<Scalar> {
    var m = Tensor<Scalar>(shape: shape)
    let keep = Scalar(1 / (1 - rate))
    for k in 0..<m.count { m.scalars[k] = generator.nextUnit() < rate ? 0 : keep }
    return m
  }

  /// x [B, T, F] * m [B, F] broadcast over T.
  static func scaleFeatures(_ x: Tensor<Scalar>, by m: Tensor<Scalar>) -> Tensor<Scalar> {
    var y = x
    let B = x.shape[0], T = x.shape[1], F = x.shape[2]
    y.withUnsafeMutableBufferPointer { yp in
      m.withUnsafeBufferPointer { mp in
        for b in 0..<B { for t in 0..<T { for f in 0..<F { yp[(b * T + t) * F + f] *= mp[b * F + f] } } }
      }
    }
    return y
  }

  static func addRowSums(_ d: Tensor<Scalar>, into p: Parameter, store: ParameterStore<Scalar>) {
    let B = d.shape[0], H = d.shape[1]
    for b in 0..<B { for j in 0..<H { store.grads[p.offset + j] += d.scalars[b * H + j] } }
  }
}

// MARK: - Keras names

/// Long short-term memory layer in Float; see `LSTMCell` for the equations and gate order.
public typealias LSTM = RNN<LSTMCell, Float>
/// Gated recurrent unit layer in Float (reset-after by default; `GRU(units:resetAfter:)`); see `GRUCell`.
public typealias GRU = RNN<GRUCell, Float>
/// Elman recurrent layer in Float; see `SimpleRNNCell`.
public typealias SimpleRNN = RNN<SimpleRNNCell, Float>

extension RNN where Cell == LSTMCell {
  /// An LSTM layer. `unitForgetBias` sets the forget-gate bias to 1 at initialisation (Keras default).
  public convenience init(
    units: Int, returnSequences: Bool = false, goBackwards: Bool = false, dropout: Double = 0,
    recurrentDropout: Double = 0, stateful: Bool = false, trainableInitialState: Bool = false,
    unitForgetBias: Bool = true
  ) {
    var initialization = RecurrentInitialization.keras
    initialization.forgetGateBias = unitForgetBias ? 1 : nil
    self.init(
      LSTMCell(), units: units, returnSequences: returnSequences, goBackwards: goBackwards, dropout: dropout,
      recurrentDropout: recurrentDropout, stateful: stateful, trainableInitialState: trainableInitialState,
      initialization: initialization)
  }
}

extension RNN where Cell == GRUCell {
  /// A GRU layer. `resetAfter: true` (default) is the form of PyTorch, cuDNN and Keras's default
  /// `reset_after=True`; `false` is the original form (Keras `reset_after=False`), which applies
  /// the reset gate before the candidate's recurrent product. See `GRUCell`.
  public convenience init(
    units: Int, resetAfter: Bool = true, returnSequences: Bool = false, goBackwards: Bool = false,
    dropout: Double = 0, recurrentDropout: Double = 0, stateful: Bool = false, trainableInitialState: Bool = false
  ) {
    self.init(
      GRUCell(resetAfter: resetAfter), units: units, returnSequences: returnSequences, goBackwards: goBackwards, dropout: dropout,
      recurrentDropout: recurrentDropout, stateful: stateful, trainableInitialState: trainableInitialState)
  }
}

extension RNN where Cell == SimpleRNNCell {
  /// A SimpleRNN layer with `activation` tanh (default) or relu.
  public convenience init(
    units: Int, activation: SimpleRNNCell.Activation = .tanh, returnSequences: Bool = false,
    goBackwards: Bool = false, dropout: Double = 0, recurrentDropout: Double = 0, stateful: Bool = false,
    trainableInitialState: Bool = false
  ) {
    self.init(
      SimpleRNNCell(activation: activation), units: units, returnSequences: returnSequences,
      goBackwards: goBackwards, dropout: dropout, recurrentDropout: recurrentDropout, stateful: stateful,
      trainableInitialState: trainableInitialState)
  }
}
