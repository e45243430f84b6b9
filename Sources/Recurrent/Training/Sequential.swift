/// A stack of layers, each feeding the next: Keras's `Sequential`.
///
///     let model = Sequential {
///       Conv1D(filters: 32, kernelSize: 5, padding: .causal, activation: .relu)
///       LSTM(units: 64)
///       Dense(units: 10)
///     }
///     model.compile(optimizer: Adam(learningRate: 1e-3), loss: SparseCategoricalCrossentropy())
///     let history = try model.fit(x, y, epochs: 10, batchSize: 32, validationSplit: 0.1)
///
/// All parameters live in one `ParameterStore` (`store`), named `layers.<i>.<param>` as PyTorch
/// names an `nn.Sequential`. The model builds itself on first use from the input's shape
/// (or call `build(inputShape:)`), drawing initial weights from `seed`; the same seed and
/// thread count give bit-identical training.
public final class Sequential<Scalar: TensorScalar> {
  public private(set) var layers: [any Layer<Scalar>]
  public let store = ParameterStore<Scalar>()
  /// Seeds weight initialisation, shuffling and dropout.
  public let seed: UInt64
  /// Input shape without the batch axis, once built.
  public private(set) var inputShape: [Int]?
  /// Output shape of each layer without the batch axis, once built.
  public private(set) var layerOutputShapes: [[Int]] = []

  public internal(set) var optimizer: (any Optimizer)?
  public internal(set) var loss: (any Loss)?
  public internal(set) var metrics: [Metric] = []
  /// Set by a callback (e.g. early stopping) to end `fit` after the current epoch.
  public var stopTraining = false
  /// Batches drawn so far; seeds each batch's dropout masks.
  var trainingStep: UInt64 = 0
  var shuffleGenerator: SeededGenerator

  public init(seed: UInt64 = 0, @LayerBuilder<Scalar> _ content: () -> [any Layer<Scalar>]) {
    self.layers = content()
    self.seed = seed
    self.shuffleGenerator = SeededGenerator(seed: seed ^ 0x5348_5546_464C_4521)
  }

  public init(_ layers: [any Layer<Scalar>], seed: UInt64 = 0) {
    self.layers = layers
    self.seed = seed
    self.shuffleGenerator = SeededGenerator(seed: seed ^ 0x5348_5546_464C_4521)
  }

  /// Appends a layer (before the model is built).
  public func add(_ layer: any Layer<Scalar>) {
    precondition(inputShape == nil, "Sequential.add: the model is already built")
    layers.append(layer)
  }

  /// Builds every layer for inputs of `inputShape` (no batch axis). Throws when a layer
  /// does not accept its input shape, naming the layer.
  public func build(inputShape: [Int]) throws {
    if let built = self.inputShape {
      let tokenInput = layers.first is any InputValidatingLayer<Scalar>
      guard Self.compatible(built, inputShape) || (tokenInput && built.count == 1 && inputShape.count == 1) else {
        throw RecurrentError.shapeMismatch("model was built for input \(built), got \(inputShape)")
      }
      return
    }
    guard !layers.isEmpty else { throw RecurrentError.invalidArgument("Sequential has no layers") }
    var generator = SeededGenerator(seed: seed)
    var shape = inputShape
    var shapes = [[Int]]()
    for (i, layer) in layers.enumerated() {
      do {
        shape = try layer.build(inputShape: shape, store: store, name: "layers.\(i)", generator: &generator)
      } catch let error as RecurrentError {
        throw RecurrentError.shapeMismatch("layer \(i) (\(layer.kind)): \(error)")
      }
      shapes.append(shape)
    }
    self.inputShape = inputShape
    layerOutputShapes = shapes
  }

  /// Sequence length may differ from call to call (for token ids [T] too); every other axis
  /// must match.
  static func compatible(_ built: [Int], _ new: [Int]) -> Bool {
    guard built.count == new.count else { return false }
    if built.count >= 2 { return Array(built.dropFirst()) == Array(new.dropFirst()) }
    return built == new
  }

  /// Runs every layer on a batch [B, ...]. Builds on first use.
  public func forward(_ x: Tensor<Scalar>, context: LayerContext<Scalar>) throws -> Tensor<Scalar> {
    guard x.rank >= 2 else {
      throw RecurrentError.shapeMismatch("model input must have a batch axis, got shape \(x.shape)")
    }
    try build(inputShape: Array(x.shape.dropFirst()))
    if let first = layers.first as? any InputValidatingLayer<Scalar> { try first.validate(x) }
    var h = x
    for layer in layers { h = layer.forward(h, context: context) }
    return h
  }

  /// Backpropagates dL/d(output) through every layer, accumulating into `store.grads`.
  @discardableResult
  public func backward(_ outputGradient: Tensor<Scalar>) -> Tensor<Scalar> {
    var d = outputGradient
    for layer in layers.reversed() { d = layer.backward(d) }
    return d
  }

  /// The model's outputs for `x` [N, ...] in inference mode, in batches of `batchSize`.
  /// `lengths` (one per sample) masks the padded steps of variable-length sequences.
  public func predict(_ x: Tensor<Scalar>, batchSize: Int = 32, lengths: [Int]? = nil) throws -> Tensor<Scalar> {
    let data = try TrainingData(x: x, y: nil, lengths: lengths, name: "predict")
    var out = [Scalar]()
    var outShape: [Int] = []
    for batch in data.batches(order: Array(0..<data.count), size: batchSize) {
      let y = try forward(batch.x, context: LayerContext(training: false, mask: batch.mask))
      outShape = Array(y.shape.dropFirst())
      out.append(contentsOf: y.scalars)
    }
    return Tensor(shape: [data.count] + outShape, scalars: out)
  }

  /// Resets every stateful layer's carried state.
  public func resetStates() {
    for layer in layers {
      (layer as? StatefulLayer)?.resetStates()
      if let b = layer as? any BidirectionalLayer { b.resetBothStates() }
    }
  }

  /// A table of layers, output shapes and parameter counts, as Keras's `summary()`.
  public func summary() -> String {
    var rows = [["layer", "kind", "output shape", "params"]]
    for (i, layer) in layers.enumerated() {
      let shape = i < layerOutputShapes.count ? "[batch, " + layerOutputShapes[i].map(String.init).joined(separator: ", ") + "]" : "?"
      let count = store.parameters.filter { $0.name.hasPrefix("layers.\(i).") }.reduce(0) { $0 + $1.count }
      rows.append(["layers.\(i)", layer.kind, shape, "\(count)"])
    }
    rows.append(["total", "", "", "\(store.count)"])
    let widths = (0..<4).map { c in rows.map { $0[c].count }.max()! }
    return rows.map { r in r.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ") }
      .joined(separator: "\n")
  }
}

/// Lets `Sequential` reset both halves of a bidirectional layer without knowing its cell type.
public protocol BidirectionalLayer { func resetBothStates() }
extension Bidirectional: BidirectionalLayer {
  public func resetBothStates() { resetStates() }
}

extension String {
  fileprivate func padding(toLength n: Int, withPad pad: String, startingAt _: Int) -> String {
    count >= n ? self : self + String(repeating: pad, count: n - count)
  }
}
