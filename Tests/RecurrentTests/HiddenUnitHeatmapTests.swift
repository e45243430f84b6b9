import Foundation
import Recurrent
import Testing

/// The Karpathy-style heatmap: unit selection with known answers, and a real character model.
@Suite struct HiddenUnitHeatmapTests {
  static let passage = Array("He said \"no\" (twice).\nShe said \"yes, 42\" and left.\n")

  @Test func textFeaturesTrackQuotesBracketsAndColumns() {
    let f = Dictionary(uniqueKeysWithValues: HiddenUnitHeatmap.textFeatures(Self.passage).map { ($0.name, $0.values) })
    let quotes = f["inside quotes"]!
    // After reading the opening quote (index 8) and up to before the closing one (index 11).
    #expect(quotes[7] == 0 && quotes[8] == 1 && quotes[10] == 1 && quotes[11] == 0)
    #expect(f["inside brackets"]![13] == 1 && f["inside brackets"]![19] == 0)
    let newline = Self.passage.firstIndex(of: "\n")!
    #expect(f["position in the line"]![newline] == 0 && f["position in the line"]![newline + 1] == 1)
    #expect(f["digit"]!.reduce(0, +) == 2 && f["uppercase"]!.reduce(0, +) == 2)
  }

  /// Unit 2 is the quote indicator (scaled and shifted: r = 1), unit 0 the column (r = 1 with
  /// "position in the line"), unit 1 constant (r = 0), unit 3 the negated whitespace (r = -1).
  @Test func selectsTheUnitsThatTrackTheText() {
    let f = Dictionary(uniqueKeysWithValues: HiddenUnitHeatmap.textFeatures(Self.passage).map { ($0.name, $0.values) })
    let activations = [
      f["position in the line"]!.map { $0 / 30 - 0.5 }, Array(repeating: 0.3, count: Self.passage.count),
      f["inside quotes"]!.map { 0.8 * $0 - 0.4 }, f["whitespace"]!.map { -0.9 * $0 },
    ]
    let picked = HiddenUnitHeatmap.select(activations: activations, text: Self.passage, count: 3)
    // All three have |r| = 1 (up to rounding): the constant unit 1 is the one left out.
    #expect(picked.map(\.index).sorted() == [0, 2, 3])
    let byIndex = Dictionary(uniqueKeysWithValues: picked.map { ($0.index, $0) })
    #expect(byIndex[0]!.feature == "position in the line" && abs(byIndex[0]!.correlation - 1) < 1e-12)
    #expect(byIndex[2]!.feature == "inside quotes" && abs(byIndex[2]!.correlation - 1) < 1e-12)
    #expect(byIndex[3]!.feature == "whitespace" && abs(byIndex[3]!.correlation + 1) < 1e-12)
    let top = HiddenUnitHeatmap.select(activations: activations, text: Self.passage, count: 1)
    #expect(top.count == 1 && top[0].index != 1)
    let chosen = HiddenUnitHeatmap.select(activations: activations, text: Self.passage, chosen: [1, 2])
    #expect(chosen.map(\.index) == [1, 2] && chosen[0].feature == "none" && chosen[0].correlation == 0)
    #expect(chosen[1].values == activations[2])
  }

  /// A small character LSTM trained here for a few epochs with `CharLanguageModel`: the heatmap
  /// has one value per character and unit, equal to the layer's hidden state after that
  /// character, and renders as coloured spans.
  @Test func heatmapOfATrainedCharacterModel() throws {
    let text = String(repeating: "she said \"hi there\" (and left).\nhe said \"bye\" [twice].\n", count: 12)
    let corpus = try TextCorpus(text: text)
    let model = Sequential<Float>(seed: 2) {
      Embedding(vocabularySize: corpus.vocabulary.count, dimension: 8)
      LSTM(units: 12, returnSequences: true)
      Dense(units: corpus.vocabulary.count)
    }
    model.compile(optimizer: Adam(learningRate: 0.02), loss: SparseCategoricalCrossentropy(fromLogits: true))
    let batches = try TBPTTBatches(ids: corpus.ids, batchSize: 4, steps: 32)
    var losses = [Double]()
    for _ in 0..<4 { losses.append(try CharLanguageModel.trainEpoch(model, on: batches)) }
    #expect(losses.last! < losses.first!)

    let passage = "he said \"hi\" (and left).\n"
    let heatmap = try HiddenUnitHeatmap.compute(model: model, vocabulary: corpus.vocabulary, text: passage, count: 3)
    #expect(heatmap.layerName == "layers.1 lstm")
    #expect(heatmap.text == Array(passage))
    #expect(heatmap.units.count == 3 && Set(heatmap.units.map(\.index)).count == 3)
    let h = (model.layers[1] as! LSTM).lastState!.h  // [1, 12]: after the last character
    for u in heatmap.units {
      #expect(u.values.count == passage.count && u.values.allSatisfy { (-1...1).contains($0) })
      #expect(abs(u.values.last! - Double(h.scalars[u.index])) < 1e-6)
    }
    let chosen = try HiddenUnitHeatmap.compute(model: model, vocabulary: corpus.vocabulary, text: passage, units: [3, 7])
    #expect(chosen.units.map(\.index) == [3, 7])
    let html = chosen.html()
    #expect(html.contains("<b>unit 3</b>") && html.components(separatedBy: "<span").count - 1 == 2 * passage.count)
    #expect(html.contains("&quot;"))

    #expect(throws: RecurrentError.self) {
      try HiddenUnitHeatmap.compute(model: model, vocabulary: corpus.vocabulary, text: passage, units: [12])
    }
    #expect(throws: RecurrentError.self) {
      try HiddenUnitHeatmap.compute(model: model, vocabulary: corpus.vocabulary, text: passage, layer: 0)
    }
    #expect(throws: RecurrentError.self) {
      try HiddenUnitHeatmap.compute(model: model, vocabulary: corpus.vocabulary, text: "zebra €")
    }
  }
}
