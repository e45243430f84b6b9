/// Runs a recurrent layer forwards and a copy of it backwards in time, and merges the two.
///
/// The backward copy has the same configuration with `goBackwards` flipped and its own weights,
/// named with PyTorch's `_reverse` suffix (`layers.1.weight_ih_reverse`, ...). With
/// `returnSequences` the backward output is re-reversed so that step t of both halves refers
/// to input step t (Keras semantics), then merged:
///
///     concat: [y_fwd, y_bwd] (2 * units)   sum: y_fwd + y_bwd   mul: y_fwd * y_bwd
///     average: (y_fwd + y_bwd) / 2
///
/// Without `returnSequences` the merged values are the two final states (the backward one
/// has seen input step 0 last). Masks are honoured by both halves.
public final class Bidirectional<Cell: RecurrentCell, Scalar: TensorScalar>: Layer {
  /// How the two directions' outputs combine.
  public enum MergeMode: String, Sendable, CaseIterable { case concat, sum, mul, average }

  public let forwardLayer: RNN<Cell, Scalar>
  public let backwardLayer: RNN<Cell, Scalar>
  public let mergeMode: MergeMode
  private var outputs: (Tensor<Scalar>, Tensor<Scalar>)?

  public var kind: String { "bidirectional_\(forwardLayer.kind)" }

  /// Wraps `layer`; its configuration (units, returnSequences, dropout, ...) is copied to the
  /// backward half.
  public init(_ layer: RNN<Cell, Scalar>, mergeMode: MergeMode = .concat) {
    forwardLayer = layer
    backwardLayer = RNN(
      layer.cell, units: layer.units, returnSequences: layer.returnSequences, goBackwards: !layer.goBackwards,
      dropout: layer.dropout, recurrentDropout: layer.recurrentDropout, stateful: layer.stateful,
      trainableInitialState: layer.trainableInitialState, initialization: layer.initialization)
    backwardLayer.nameSuffix = "_reverse"
    self.mergeMode = mergeMode
  }

  public func build(
    inputShape: [Int], store: ParameterStore<Scalar>, name: String, generator: inout SeededGenerator
  ) throws -> [Int] {
    var shape = try forwardLayer.build(inputShape: inputShape, store: store, name: name, generator: &generator)
    _ = try backwardLayer.build(inputShape: inputShape, store: store, name: name, generator: &generator)
    if mergeMode == .concat { shape[shape.count - 1] *= 2 }
    return shape
  }

  /// Clears both halves' carried states (stateful layers).
  public func resetStates() {
    forwardLayer.resetStates()
    backwardLayer.resetStates()
  }

  public func forward(_ input: Tensor<Scalar>, context: LayerContext<Scalar>) -> Tensor<Scalar> {
    let mask = context.mask
    let yf = forwardLayer.forward(input, context: context)
    context.mask = mask
    var yb = backwardLayer.forward(input, context: context)
    if backwardLayer.returnSequences { yb = Self.reverseTime(yb) }
    outputs = (yf, yb)
    switch mergeMode {
    case .concat: return Self.concatLastAxis(yf, yb)
    case .sum: return Tensor(shape: yf.shape, scalars: zip(yf.scalars, yb.scalars).map { $0 + $1 })
    case .mul: return Tensor(shape: yf.shape, scalars: zip(yf.scalars, yb.scalars).map { $0 * $1 })
    case .average: return Tensor(shape: yf.shape, scalars: zip(yf.scalars, yb.scalars).map { ($0 + $1) / 2 })
    }
  }

  public func backward(_ outputGradient: Tensor<Scalar>) -> Tensor<Scalar> {
    guard let (yf, yb) = outputs else { preconditionFailure("Bidirectional: backward before forward") }
    let dy = outputGradient
    var dyf: Tensor<Scalar>, dyb: Tensor<Scalar>
    switch mergeMode {
    case .concat: (dyf, dyb) = Self.splitLastAxis(dy)  // reverses concat
    case .sum: (dyf, dyb) = (dy, dy)
    case .mul:  // reverses y = yf * yb
      dyf = Tensor(shape: dy.shape, scalars: zip(dy.scalars, yb.scalars).map { $0 * $1 })
      dyb = Tensor(shape: dy.shape, scalars: zip(dy.scalars, yf.scalars).map { $0 * $1 })
    case .average:
      let half = Tensor(shape: dy.shape, scalars: dy.scalars.map { $0 / 2 })
      (dyf, dyb) = (half, half)
    }
    if backwardLayer.returnSequences { dyb = Self.reverseTime(dyb) }  // reverses the re-reversal
    let dxf = forwardLayer.backward(dyf)
    let dxb = backwardLayer.backward(dyb)
    return Tensor(shape: dxf.shape, scalars: zip(dxf.scalars, dxb.scalars).map { $0 + $1 })
  }

  /// [B, T, F] with the time axis reversed.
  static func reverseTime(_ x: Tensor<Scalar>) -> Tensor<Scalar> {
    let B = x.shape[0], T = x.shape[1], F = x.shape[2]
    var y = x
    for b in 0..<B {
      for t in 0..<T {
        for f in 0..<F { y.scalars[(b * T + t) * F + f] = x.scalars[(b * T + (T - 1 - t)) * F + f] }
      }
    }
    return y
  }

  static func concatLastAxis(_ a: Tensor<Scalar>, _ b: Tensor<Scalar>) -> Tensor<Scalar> {
    let F = a.shape.last!, rows = a.count / F
    var out = [Scalar]()
    out.reserveCapacity(2 * a.count)
    for r in 0..<rows {
      out.append(contentsOf: a.scalars[(r * F)..<((r + 1) * F)])
      out.append(contentsOf: b.scalars[(r * F)..<((r + 1) * F)])
    }
    var shape = a.shape
    shape[shape.count - 1] = 2 * F
    return Tensor(shape: shape, scalars: out)
  }

  static func splitLastAxis(_ x: Tensor<Scalar>) -> (Tensor<Scalar>, Tensor<Scalar>) {
    let F2 = x.shape.last!, F = F2 / 2, rows = x.count / F2
    var a = [Scalar](), b = [Scalar]()
    a.reserveCapacity(rows * F)
    b.reserveCapacity(rows * F)
    for r in 0..<rows {
      a.append(contentsOf: x.scalars[(r * F2)..<(r * F2 + F)])
      b.append(contentsOf: x.scalars[(r * F2 + F)..<((r + 1) * F2)])
    }
    var shape = x.shape
    shape[shape.count - 1] = F
    return (Tensor(shape: shape, scalars: a), Tensor(shape: shape, scalars: b))
  }
}
