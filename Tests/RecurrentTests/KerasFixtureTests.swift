import Foundation
import Recurrent
import RecurrentTestSupport
import Testing

/// Golden fixtures from Keras 3 / TensorFlow in float64 (Scripts/fixtures/make_keras_fixtures.py):
/// random weights, 2 stacked layers, 50 steps, non-zero initial states; outputs, final states and
/// every gradient, compared in Float (5e-5) and in Double (1e-12). No Python needed.
@Suite struct KerasFixtureTests {
  struct Layer: Decodable {
    var weight_ih, weight_hh, bias_ih, bias_hh, h0, Rh, h_n: [Double]
    var c0, Rc, c_n: [Double]?
    var grad_weight_ih, grad_weight_hh, grad_bias_ih, grad_bias_hh, grad_h0: [Double]
    var grad_c0: [Double]?
  }
  struct Fixture: Decodable {
    var cell: String
    var batch, steps, input_size: Int
    var hidden_sizes: [Int]
    var go_backwards: Bool
    var x, R, output, grad_x: [Double]
    var loss: Double
    var layers: [Layer]
  }

  static func load(_ name: String) throws -> Fixture {
    let url = try #require(Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Fixtures"))
    return try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
  }

  static func check<Cell: RecurrentCell, S: TensorScalar>(
    _ f: Fixture, _ cell: Cell, _: S.Type, tolerance: Double
  ) {
    let B = f.batch, T = f.steps
    let store = ParameterStore<S>()
    var rng = SeededGenerator(seed: 0)
    var layers = [RecurrentLayer<Cell, S>]()
    for (l, H) in f.hidden_sizes.enumerated() {
      let layer = RecurrentLayer<Cell, S>(
        cell, inputSize: l == 0 ? f.input_size : f.hidden_sizes[l - 1], hiddenSize: H,
        goBackwards: f.go_backwards, store: store, name: "layers.\(l)", generator: &rng)
      let w = f.layers[l]
      for (p, v) in [(layer.weightIH, w.weight_ih), (layer.weightHH, w.weight_hh), (layer.biasIH, w.bias_ih), (layer.biasHH, w.bias_hh)] {
        store.setValue(Tensor(shape: p.shape, scalars: v.map { S($0) }), for: p)
      }
      layers.append(layer)
    }
    func t(_ v: [Double], _ shape: [Int]) -> Tensor<S> { Tensor(shape: shape, scalars: v.map { S($0) }) }
    func close(_ got: Tensor<S>, _ want: [Double], _ what: String) {
      let d = maxAbsoluteDifference(got.scalars.map(Double.init), want)
      #expect(d <= tolerance, "\(f.cell) \(what): max |diff| \(d) > \(tolerance)")
    }

    var input = t(f.x, [B, T, f.input_size])
    for (l, layer) in layers.enumerated() {
      let H = f.hidden_sizes[l], w = f.layers[l]
      let out = layer.forward(input, initialState: RecurrentState(h: t(w.h0, [B, H]), c: w.c0.map { t($0, [B, H]) }))
      close(out.finalState.h, w.h_n, "layers.\(l).h_n")
      if let c = out.finalState.c, let want = w.c_n { close(c, want, "layers.\(l).c_n") }
      input = out.sequence
    }
    close(input, f.output, "output")

    var dSeq = t(f.R, input.shape)
    for l in stride(from: layers.count - 1, through: 0, by: -1) {
      let H = f.hidden_sizes[l], w = f.layers[l]
      let g = layers[l].backward(
        sequenceGradient: dSeq, finalStateGradient: RecurrentState(h: t(w.Rh, [B, H]), c: w.Rc.map { t($0, [B, H]) }))
      close(g.initialState.h, w.grad_h0, "layers.\(l).grad_h0")
      if let c = g.initialState.c, let want = w.grad_c0 { close(c, want, "layers.\(l).grad_c0") }
      let layer = layers[l]
      close(store.gradient(of: layer.weightIH), w.grad_weight_ih, "layers.\(l).grad_weight_ih")
      close(store.gradient(of: layer.weightHH), w.grad_weight_hh, "layers.\(l).grad_weight_hh")
      close(store.gradient(of: layer.biasIH), w.grad_bias_ih, "layers.\(l).grad_bias_ih")
      close(store.gradient(of: layer.biasHH), w.grad_bias_hh, "layers.\(l).grad_bias_hh")
      dSeq = g.input
    }
    close(dSeq, f.grad_x, "grad_x")
  }

  static let names = [
    "keras_simple_rnn_2layer", "keras_lstm_2layer", "keras_gru_2layer",
    "keras_simple_rnn_gobackwards", "keras_lstm_gobackwards", "keras_gru_gobackwards",
    "keras_gru_reset_before_2layer", "keras_gru_reset_before_gobackwards",
  ]

  @Test(arguments: names)
  func matchesKeras(name: String) throws {
    let f = try Self.load(name)
    switch f.cell {
    case "simple_rnn":
      Self.check(f, SimpleRNNCell(), Float.self, tolerance: 5e-5)
      Self.check(f, SimpleRNNCell(), Double.self, tolerance: 1e-12)
    case "lstm":
      Self.check(f, LSTMCell(), Float.self, tolerance: 5e-5)
      Self.check(f, LSTMCell(), Double.self, tolerance: 1e-12)
    case "gru":
      Self.check(f, GRUCell(), Float.self, tolerance: 5e-5)
      Self.check(f, GRUCell(), Double.self, tolerance: 1e-12)
    case "gru_reset_before":  // Keras reset_after=False
      Self.check(f, GRUCell(resetAfter: false), Float.self, tolerance: 5e-5)
      Self.check(f, GRUCell(resetAfter: false), Double.self, tolerance: 1e-12)
    default:
      Issue.record("unknown cell \(f.cell)")
    }
  }
}
