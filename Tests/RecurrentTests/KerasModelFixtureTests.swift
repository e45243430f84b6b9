import Foundation
import Recurrent
import RecurrentTestSupport
import Testing

/// Whole-model golden fixtures from Keras 3 / TensorFlow in float64
/// (Scripts/fixtures/make_keras_model_fixtures.py): stacked masked Bidirectional LSTM / GRU
/// (reset-after and reset-before) with every merge mode, and Conv1D(causal, dilated, relu) -> LSTM -> Dense. Weights are set by
/// their `model.store` names; the output, dL/dx (from `model.backward`) and every parameter
/// gradient of loss = sum(output * R) are compared in Float (5e-5) and Double (1e-9).
@Suite struct KerasModelFixtureTests {
  struct Param: Decodable {
    var name: String
    var shape: [Int]
    var value, grad: [Double]
  }
  struct Fixture: Decodable {
    var model: String
    var merge_modes: [String]
    var batch, steps, features: Int
    var mask: [Double]?
    var x, R, output, grad_x: [Double]
    var output_shape: [Int]
    var params: [Param]
  }

  static func load(_ name: String) throws -> Fixture {
    let url = try #require(Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Fixtures"))
    return try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
  }

  static func mode<Cell: RecurrentCell, S: TensorScalar>(_ s: String, _: Cell.Type, _: S.Type) throws
    -> Bidirectional<Cell, S>.MergeMode
  {
    switch s {
    case "ave": return .average
    default: return try #require(Bidirectional<Cell, S>.MergeMode(rawValue: s), "merge mode \(s)")
    }
  }

  static func makeModel<S: TensorScalar>(_ f: Fixture, _: S.Type) throws -> Sequential<S> {
    switch f.model {
    case "bilstm":
      let m0 = try mode(f.merge_modes[0], LSTMCell.self, S.self), m1 = try mode(f.merge_modes[1], LSTMCell.self, S.self)
      return Sequential<S> {
        Bidirectional(RNN<LSTMCell, S>(units: 4, returnSequences: true), mergeMode: m0)
        Bidirectional(RNN<LSTMCell, S>(units: 3), mergeMode: m1)
        DenseLayer<S>(units: 2)
      }
    case "bigru":
      let m0 = try mode(f.merge_modes[0], GRUCell.self, S.self), m1 = try mode(f.merge_modes[1], GRUCell.self, S.self)
      return Sequential<S> {
        Bidirectional(RNN<GRUCell, S>(units: 4, returnSequences: true), mergeMode: m0)
        Bidirectional(RNN<GRUCell, S>(units: 3), mergeMode: m1)
        DenseLayer<S>(units: 2)
      }
    case "bigru_reset_before":
      let m0 = try mode(f.merge_modes[0], GRUCell.self, S.self), m1 = try mode(f.merge_modes[1], GRUCell.self, S.self)
      return Sequential<S> {
        Bidirectional(RNN<GRUCell, S>(units: 4, resetAfter: false, returnSequences: true), mergeMode: m0)
        Bidirectional(RNN<GRUCell, S>(units: 3, resetAfter: false), mergeMode: m1)
        DenseLayer<S>(units: 2)
      }
    case "conv_lstm":
      return Sequential<S> {
        Conv1DLayer<S>(filters: 6, kernelSize: 3, padding: .causal, dilation: 2, activation: .relu)
        RNN<LSTMCell, S>(units: 5)
        DenseLayer<S>(units: 3)
      }
    default:
      throw RecurrentError.invalidArgument("unknown model \(f.model)")
    }
  }

  static func check<S: TensorScalar>(_ f: Fixture, _: S.Type, tolerance: Double) throws {
    let B = f.batch, T = f.steps
    let model = try makeModel(f, S.self)
    try model.build(inputShape: [T, f.features])
    func t(_ v: [Double], _ shape: [Int]) -> Tensor<S> { Tensor(shape: shape, scalars: v.map { S($0) }) }
    func close(_ got: Tensor<S>, _ want: [Double], _ what: String) {
      #expect(got.count == want.count, "\(f.model) \(what): \(got.count) values, want \(want.count)")
      let d = maxAbsoluteDifference(got.scalars.map(Double.init), want)
      #expect(d <= tolerance, "\(f.model) \(S.self) \(what): max |diff| \(d) > \(tolerance)")
    }

    // Every parameter of the model is in the fixture, and vice versa.
    let byName = Dictionary(uniqueKeysWithValues: model.store.parameters.map { ($0.name, $0) })
    #expect(Set(byName.keys) == Set(f.params.map(\.name)), "names: ours \(byName.keys.sorted())")
    for p in f.params {
      let param = try #require(byName[p.name], "no parameter \(p.name)")
      #expect(param.shape == p.shape, "\(p.name): shape \(param.shape), fixture \(p.shape)")
      model.store.setValue(t(p.value, p.shape), for: param)
    }

    let context = LayerContext<S>(mask: f.mask.map { t($0, [B, T]) })
    let y = try model.forward(t(f.x, [B, T, f.features]), context: context)
    #expect(y.shape == f.output_shape)
    close(y, f.output, "output")

    model.store.zeroGradients()
    let dx = model.backward(t(f.R, f.output_shape))
    close(dx, f.grad_x, "grad_x")
    for p in f.params {
      close(model.store.gradient(of: byName[p.name]!), p.grad, "grad \(p.name)")
    }
  }

  static let names = [
    "keras_model_bilstm_masked", "keras_model_bigru_masked", "keras_model_bigru_reset_before_masked",
    "keras_model_conv_lstm",
  ]

  @Test(arguments: names)
  func matchesKeras(name: String) throws {
    let f = try Self.load(name)
    try Self.check(f, Float.self, tolerance: 5e-5)
    try Self.check(f, Double.self, tolerance: 1e-9)
  }
}
