import Foundation
import Recurrent
import RecurrentTestSupport
import Testing

/// Golden values from Keras 3 (Scripts/fixtures/make_layer_fixtures.py -> Fixtures/keras_layers.json):
/// fixed random weights in our PyTorch layouts; the output, dL/dx and every weight gradient of
/// L = sum(output * R) must match in Float within 1e-5 (and in Double within 1e-12).
@Suite struct LayerKerasFixtureTests {
  struct Config: Decodable {
    var units, filters, kernel_size, strides, dilation, pool_size: Int?
    var activation, padding: String?
    var epsilon: Double?
  }
  struct Case: Decodable {
    var name, layer: String
    var config: Config
    var input_shape, output_shape: [Int]
    var x, output, R, grad_x: [Double]
    var loss: Double
    var weight, bias, grad_weight, grad_bias, mask: [Double]?
  }
  struct Fixture: Decodable {
    var notes: String
    var cases: [Case]
  }

  static let fixture: Fixture? = {
    guard let url = Bundle.module.url(forResource: "keras_layers", withExtension: "json", subdirectory: "Fixtures"),
      let data = try? Data(contentsOf: url)
    else { return nil }
    return try? JSONDecoder().decode(Fixture.self, from: data)
  }()

  static var names: [String] { fixture?.cases.map(\.name) ?? ["<keras_layers.json missing>"] }

  static func makeLayer<S: TensorScalar>(_ c: Case, _: S.Type) throws -> any Layer<S> {
    let activation = try #require(ActivationFunction(rawValue: c.config.activation ?? "linear"))
    let padding = try #require(Padding1D(rawValue: c.config.padding ?? "valid"))
    switch c.layer {
    case "dense":
      return DenseLayer<S>(units: try #require(c.config.units), activation: activation)
    case "conv1d":
      return Conv1DLayer<S>(
        filters: try #require(c.config.filters), kernelSize: try #require(c.config.kernel_size),
        strides: try #require(c.config.strides), padding: padding, dilation: try #require(c.config.dilation),
        activation: activation)
    case "max_pooling1d":
      return MaxPool1DLayer<S>(poolSize: try #require(c.config.pool_size), strides: c.config.strides, padding: padding)
    case "layer_normalization":
      return LayerNormLayer<S>(epsilon: try #require(c.config.epsilon))
    case "global_average_pooling1d":
      return GlobalAveragePooling1DLayer<S>()
    default:
      throw RecurrentError.invalidArgument("unknown layer \(c.layer)")
    }
  }

  static func check<S: TensorScalar>(_ c: Case, _: S.Type, tolerance: Double) throws {
    let layer = try makeLayer(c, S.self)
    let store = ParameterStore<S>()
    var rng = SeededGenerator(seed: 0)
    let built = try layer.build(inputShape: Array(c.input_shape.dropFirst()), store: store, name: "l", generator: &rng)
    #expect([c.input_shape[0]] + built == c.output_shape, "\(c.name): build's output shape")
    func t(_ v: [Double], _ shape: [Int]) -> Tensor<S> { Tensor(shape: shape, scalars: v.map { S($0) }) }
    func close(_ got: [S], _ want: [Double], _ what: String) {
      let d = maxAbsoluteDifference(got.map(Double.init), want)
      #expect(d <= tolerance, "\(c.name) \(S.self) \(what): max |diff| \(d) > \(tolerance)")
    }
    let weight = store["l.weight"], bias = store["l.bias"]
    #expect((weight != nil) == (c.weight != nil) && (bias != nil) == (c.bias != nil), "\(c.name): parameters")
    if let weight, let w = c.weight { store.setValue(t(w, weight.shape), for: weight) }
    if let bias, let b = c.bias { store.setValue(t(b, bias.shape), for: bias) }

    let context = LayerContext<S>(mask: c.mask.map { t($0, Array(c.input_shape.prefix(2))) })
    let y = layer.forward(t(c.x, c.input_shape), context: context)
    #expect(y.shape == c.output_shape, "\(c.name): output shape \(y.shape)")
    close(y.scalars, c.output, "output")
    let loss = zip(y.scalars, c.R).reduce(0.0) { $0 + Double($1.0) * $1.1 }
    #expect(abs(loss - c.loss) <= tolerance * max(1, abs(c.loss)) * 10, "\(c.name): loss \(loss) vs \(c.loss)")

    let dX = layer.backward(t(c.R, c.output_shape))
    close(dX.scalars, c.grad_x, "grad_x")
    if let weight, let want = c.grad_weight { close(store.gradient(of: weight).scalars, want, "grad_weight") }
    if let bias, let want = c.grad_bias { close(store.gradient(of: bias).scalars, want, "grad_bias") }
  }

  @Test(arguments: names)
  func matchesKeras(name: String) throws {
    let fixture = try #require(Self.fixture, "Fixtures/keras_layers.json missing or malformed")
    let c = try #require(fixture.cases.first { $0.name == name })
    try Self.check(c, Float.self, tolerance: 1e-5)
    try Self.check(c, Double.self, tolerance: 1e-12)
  }

  /// The fixture covers what the brief asks for.
  @Test func coversEveryLayer() throws {
    let fixture = try #require(Self.fixture)
    let layers = Set(fixture.cases.map(\.layer))
    #expect(layers == ["dense", "conv1d", "max_pooling1d", "layer_normalization", "global_average_pooling1d"])
    let conv = fixture.cases.filter { $0.layer == "conv1d" }
    for padding in ["valid", "same", "causal"] {
      #expect(conv.contains { $0.config.padding == padding && $0.config.dilation == 2 })
      #expect(conv.contains { $0.config.padding == padding && $0.config.strides == 2 })
    }
    #expect(fixture.cases.contains { $0.layer == "global_average_pooling1d" && $0.mask != nil })
  }
}
