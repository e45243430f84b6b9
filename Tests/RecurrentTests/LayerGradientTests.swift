import Recurrent
import RecurrentTestSupport
import Testing

/// Every non-recurrent layer and option against central differences in Double
/// (`checkLayerGradients`: every input element and every parameter, relative error < 1e-6).
@Suite struct LayerGradientTests {
  static let tolerance = 1e-6

  static func expectPasses(
    _ layer: some Layer<Double>, _ shape: [Int], seed: UInt64 = 1, training: Bool = false,
    mask: Tensor<Double>? = nil, inputIndices: Range<Int>? = nil, input: Tensor<Double>? = nil,
    _ what: String, sourceLocation: SourceLocation = #_sourceLocation
  ) {
    let r = checkLayerGradients(
      layer, inputShape: shape, seed: seed, training: training, mask: mask, inputIndices: inputIndices, input: input)
    #expect(r.maxRelativeError < tolerance, "\(what): \(r.maxRelativeError) at \(r.worst)", sourceLocation: sourceLocation)
  }

  @Test(arguments: ActivationFunction.allCases)
  func dense(activation: ActivationFunction) {
    Self.expectPasses(DenseLayer<Double>(units: 4, activation: activation), [3, 5], "dense \(activation) [B, F]")
    Self.expectPasses(DenseLayer<Double>(units: 3, activation: activation), [2, 4, 5], seed: 2, "dense \(activation) [B, T, F]")
  }

  @Test func denseWithoutBias() {
    Self.expectPasses(DenseLayer<Double>(units: 4, activation: .tanh, useBias: false), [3, 2, 5], "dense no bias")
  }

  @Test(arguments: Padding1D.allCases)
  func conv1D(padding: Padding1D) {
    Self.expectPasses(Conv1DLayer<Double>(filters: 4, kernelSize: 3, padding: padding), [2, 7, 3], "conv \(padding)")
    Self.expectPasses(
      Conv1DLayer<Double>(filters: 3, kernelSize: 3, padding: padding, dilation: 2), [2, 9, 2], seed: 2,
      "conv \(padding) dilation 2")
    Self.expectPasses(
      Conv1DLayer<Double>(filters: 3, kernelSize: 2, strides: 2, padding: padding), [2, 8, 3], seed: 3,
      "conv \(padding) strides 2")
    Self.expectPasses(
      Conv1DLayer<Double>(filters: 2, kernelSize: 4, strides: 3, padding: padding, dilation: 2), [1, 13, 2], seed: 4,
      "conv \(padding) strides 3 dilation 2")
    Self.expectPasses(
      Conv1DLayer<Double>(filters: 3, kernelSize: 3, strides: 2, padding: padding, activation: .relu), [2, 9, 3],
      seed: 5, "conv \(padding) relu")
  }

  @Test func conv1DWithoutBiasAndKernel1() {
    Self.expectPasses(Conv1DLayer<Double>(filters: 3, kernelSize: 1, useBias: false), [2, 4, 3], "conv k1 no bias")
  }

  @Test func pooling() {
    Self.expectPasses(MaxPool1DLayer<Double>(poolSize: 2), [2, 7, 3], "max pool valid")
    Self.expectPasses(MaxPool1DLayer<Double>(poolSize: 3, strides: 2, padding: .same), [2, 8, 3], "max pool same")
    Self.expectPasses(MaxPool1DLayer<Double>(poolSize: 3, strides: 1, padding: .same), [2, 5, 2], "max pool overlap")
    Self.expectPasses(GlobalAveragePooling1DLayer<Double>(), [3, 5, 4], "global average")
    Self.expectPasses(GlobalMaxPooling1DLayer<Double>(), [3, 5, 4], "global max")
  }

  @Test func poolingWithMask() {
    // row 0: last two steps padded; row 1: all real; row 2: fully padded
    let mask = Tensor<Double>(shape: [3, 5], scalars: [1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0])
    Self.expectPasses(GlobalAveragePooling1DLayer<Double>(), [3, 5, 4], mask: mask, "global average masked")
    Self.expectPasses(GlobalMaxPooling1DLayer<Double>(), [3, 5, 4], mask: mask, "global max masked")
  }

  @Test func layerNorm() {
    Self.expectPasses(LayerNormLayer<Double>(), [3, 6], "layer norm [B, F]")
    Self.expectPasses(LayerNormLayer<Double>(epsilon: 1e-5), [2, 3, 4], seed: 2, "layer norm [B, T, F]")
  }

  @Test func embedding() {
    Self.expectPasses(
      EmbeddingLayer<Double>(vocabularySize: 7, dimension: 3), [3, 5], inputIndices: 0..<7, "embedding")
    // repeated ids accumulate; the masked id still gets its row's gradient
    let ids = Tensor<Double>(shape: [2, 4], scalars: [0, 2, 2, 0, 1, 0, 2, 3])
    Self.expectPasses(
      EmbeddingLayer<Double>(vocabularySize: 4, dimension: 2, maskIndex: 0), [2, 4], inputIndices: 0..<4, input: ids,
      "embedding masked")
  }

  @Test func dropout() {
    Self.expectPasses(DropoutLayer<Double>(rate: 0.4), [4, 3, 5], training: true, "dropout training")
    Self.expectPasses(DropoutLayer<Double>(rate: 0.4), [4, 5], training: false, "dropout inference")
  }

  @Test func reshaping() {
    Self.expectPasses(RepeatVectorLayer<Double>(count: 4), [3, 5], "repeat vector")
    Self.expectPasses(FlattenLayer<Double>(), [2, 3, 4], "flatten")
  }

  @Test func timeDistributed() {
    Self.expectPasses(
      TimeDistributedLayer<Double>(DenseLayer<Double>(units: 3, activation: .sigmoid)), [2, 4, 5],
      "time distributed dense")
    Self.expectPasses(
      TimeDistributedLayer<Double>(Conv1DLayer<Double>(filters: 2, kernelSize: 2, padding: .same)), [2, 3, 4, 2],
      "time distributed conv1d")
    Self.expectPasses(
      TimeDistributedLayer<Double>(DropoutLayer<Double>(rate: 0.3)), [2, 3, 4], training: true,
      "time distributed dropout")
  }

  /// The checker must be able to fail: a layer whose backward is off is caught.
  @Test func checkerDetectsAWrongGradient() {
    let r = checkLayerGradients(WrongLayer(), inputShape: [2, 3], seed: 1)
    #expect(r.maxRelativeError > 1e-4, "\(r)")
    let s = checkLayerGradients(OverwritingLayer(), inputShape: [2, 3], seed: 1)
    #expect(s.worst.hasPrefix("accumulation"), "\(s)")
  }
}

/// y = 2x, but backward claims dy * 2.001.
private final class WrongLayer: Layer {
  var kind: String { "wrong" }
  func build(inputShape: [Int], store: ParameterStore<Double>, name: String, generator: inout SeededGenerator) throws -> [Int] {
    inputShape
  }
  func forward(_ x: Tensor<Double>, context: LayerContext<Double>) -> Tensor<Double> {
    Tensor(shape: x.shape, scalars: x.scalars.map { 2 * $0 })
  }
  func backward(_ dY: Tensor<Double>) -> Tensor<Double> {
    Tensor(shape: dY.shape, scalars: dY.scalars.map { 2.001 * $0 })
  }
}

/// y = x * w with a correct gradient that is assigned instead of accumulated.
private final class OverwritingLayer: Layer {
  var kind: String { "overwriting" }
  var store: ParameterStore<Double>!
  var w: Parameter!
  var x = Tensor<Double>(shape: [0])
  func build(inputShape: [Int], store: ParameterStore<Double>, name: String, generator: inout SeededGenerator) throws -> [Int] {
    self.store = store
    w = store.add("\(name).weight", shape: [1])
    return inputShape
  }
  func forward(_ x: Tensor<Double>, context: LayerContext<Double>) -> Tensor<Double> {
    self.x = x
    let v = store.params[w.offset]
    return Tensor(shape: x.shape, scalars: x.scalars.map { v * $0 })
  }
  func backward(_ dY: Tensor<Double>) -> Tensor<Double> {
    store.grads[w.offset] = zip(dY.scalars, x.scalars).reduce(0) { $0 + $1.0 * $1.1 }
    let v = store.params[w.offset]
    return Tensor(shape: dY.shape, scalars: dY.scalars.map { v * $0 })
  }
}
