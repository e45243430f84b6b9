import Foundation
import Recurrent
import Testing

@testable import rnn

/// `--layers` text to architecture layer specs, and the errors naming the bad token.
@Suite struct LayerFlagParserTests {
  @Test func everyKindBuildsTheModelItNames() throws {
    let specs = try LayerFlagParser.parse(
      "conv1d:8:5:2:relu:causal, maxpool:2, bilstm:6:seq, dropout:0.25, gru:5:seq, rnn:4:seq, layernorm, globalmax, dense:3:softmax")
    #expect(specs.map(\.kind) == [
      "conv1d", "max_pooling1d", "bidirectional", "dropout", "gru", "rnn", "layer_normalization", "global_max_pooling1d", "dense",
    ])
    let model: Sequential<Float> = try ModelArchitecture(inputShape: [40, 3], seed: 1, layers: specs).makeModel()
    let conv = try #require(model.layers[0] as? Conv1DLayer<Float>)
    #expect(conv.filters == 8 && conv.kernelSize == 5 && conv.dilation == 2 && conv.activation == .relu && conv.padding == .causal)
    #expect((model.layers[1] as? MaxPool1DLayer<Float>)?.poolSize == 2)
    #expect(model.layers[2] is Bidirectional<LSTMCell, Float>)
    #expect((model.layers[3] as? DropoutLayer<Float>)?.rate == 0.25)
    #expect((model.layers[4] as? GRU)?.returnSequences == true)
    #expect((model.layers[5] as? SimpleRNN)?.units == 4)
    #expect((model.layers[8] as? Dense)?.activation == .softmax)
    // 40 causal steps, pooled by 2 -> 20; bidirectional concat 12; ... global max over time -> [4]; dense 3.
    #expect(model.layerOutputShapes.map { $0 } == [[40, 8], [20, 8], [20, 12], [20, 12], [20, 5], [20, 4], [20, 4], [4], [3]])

    let tokens = try LayerFlagParser.parse("embedding:50:8:mask,lstm:16,dense:1:sigmoid")
    let lm: Sequential<Float> = try ModelArchitecture(inputShape: [7], seed: 1, layers: tokens).makeModel()
    #expect((lm.layers[0] as? Embedding)?.maskIndex == 0)
    #expect((lm.layers[1] as? LSTM)?.returnSequences == false)
    #expect(lm.layerOutputShapes.last == [1])
    #expect(try LayerFlagParser.parse("globalavg,flatten,maxpool,conv1d:2:3").map(\.kind) == [
      "global_average_pooling1d", "flatten", "max_pooling1d", "conv1d",
    ])
  }

  @Test(arguments: [
    ("lstm:64,dense", "layer 2 'dense': expected dense:UNITS[:ACTIVATION]"),
    ("lstm:0", "layer 1 'lstm:0': units must be a positive integer, got '0'"),
    ("lstm:64:sequences", "layer 1 'lstm:64:sequences': the second argument can only be 'seq'"),
    ("lstmm:64", "layer 1 'lstmm:64': unknown layer 'lstmm' (known: conv1d, maxpool"),
    ("conv1d:32", "layer 1 'conv1d:32': expected conv1d:FILTERS:KERNEL"),
    ("conv1d:32:5:gelu", "'gelu' is not a dilation (integer), an activation"),
    ("conv1d:32:5:2:3", "more than one dilation"),
    ("dense:10:swish", "'swish' is not an activation (linear, relu, tanh, sigmoid, softmax)"),
    ("dropout:1", "layer 1 'dropout:1': rate must be a number in [0, 1), got '1'"),
    ("lstm:8,,dense:1", "layer 2 '': empty"),
    ("embedding:10", "expected embedding:VOCABULARY:DIMENSION[:mask]"),
    ("globalavg:2", "globalavg takes no arguments"),
    ("maxpool:x", "pool size must be a positive integer, got 'x'"),
    ("", "--layers is empty"),
  ])
  func badTokensAreNamed(text: String, message: String) {
    do {
      _ = try LayerFlagParser.parse(text)
      Issue.record("accepted '\(text)'")
    } catch {
      #expect("\(error)".contains(message), "\(error)")
    }
  }
}
