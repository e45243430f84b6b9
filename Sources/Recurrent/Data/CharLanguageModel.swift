/// Training and evaluation loops for character-level language models over `TBPTTBatches`,
/// with the recurrent state carried from chunk to chunk (truncated BPTT, k1 = k2 = T).
///
/// The model maps token ids [B, T] to logits [B, T, V], e.g.
///
///     let model = Sequential<Float>(seed: 1) {
///       Embedding(vocabularySize: V, dimension: 32)
///       LSTM(units: 128, returnSequences: true)
///       Dense(units: V)
///     }
///     model.compile(optimizer: Adam(learningRate: 2e-3), loss: SparseCategoricalCrossentropy())
///     for epoch in 0..<10 {
///       let trainNats = try CharLanguageModel.trainEpoch(model, on: trainBatches)
///       let valNats = try CharLanguageModel.meanCrossEntropy(model, on: validationBatches)
///       print(epoch, CharLanguageModel.bitsPerCharacter(nats: valNats))
///     }
///
/// (`Sequential.fit(truncatedBPTT:)` needs [N, T, F] inputs, so it does not take token ids [B, L];
/// these loops do the same thing for them.)
public enum CharLanguageModel {
  /// Bits per character from a mean cross-entropy in nats: bpc = loss / ln 2
  /// (per byte for the `.bytes` unit). A uniform guess over V symbols gives log2(V).
  public static func bitsPerCharacter(nats: Double) -> Double { nats / 0.693_147_180_559_945_3 }

  /// One pass over every chunk of `batches` in order: reset the state, then per chunk forward
  /// (state carried from the previous chunk, detached), loss, backward and one optimizer step.
  ///
  /// Uses the model's compiled optimizer and loss (call `compile` first; the loss must take
  /// class ids, e.g. `SparseCategoricalCrossentropy()`). Recurrent layers are made stateful for
  /// the pass and restored (and reset) afterwards. `onChunk(k, loss)` is called after each
  /// chunk, e.g. for a progress bar.
  ///
  /// - Returns: the mean cross-entropy in nats over every target position of the epoch (the
  ///   training loss as the weights moved).
  /// - Throws: `invalidArgument` if the model is not compiled or has a `Bidirectional` layer;
  ///   `shapeMismatch` if its output is not [B, T, V].
  @discardableResult
  public static func trainEpoch(
    _ model: Sequential<Float>, on batches: TBPTTBatches, onChunk: ((Int, Double) -> Void)? = nil
  ) throws -> Double {
    guard let optimizer = model.optimizer, let loss = model.loss else {
      throw RecurrentError.invalidArgument("call compile(optimizer:loss:) before CharLanguageModel.trainEpoch")
    }
    return try withCarriedState(model) {
      var total = 0.0, positions = 0.0
      for chunk in batches {
        model.trainingStep &+= 1
        let context = LayerContext<Float>(training: true, seed: model.seed &* 0x9E37_79B9 &+ model.trainingStep)
        model.store.zeroGradients()
        let logits = try model.forward(chunk.inputs, context: context)
        try checkLogits(logits, chunk)
        let (value, dLogits) = try loss.compute(prediction: logits, target: chunk.targets, mask: nil)
        model.backward(dLogits)
        optimizer.step(model.store)
        let n = Double(chunk.targets.count)
        total += value * n
        positions += n
        onChunk?(chunk.index, value)
      }
      return total / max(1, positions)
    }
  }

  /// Mean cross-entropy (nats, from logits) of the model's next-symbol predictions over every
  /// target position of `batches`, in inference mode with the state carried across chunks.
  /// Divide by ln 2 (`bitsPerCharacter`) for bits per character.
  public static func meanCrossEntropy(_ model: Sequential<Float>, on batches: TBPTTBatches) throws -> Double {
    let loss = SparseCategoricalCrossentropy(fromLogits: true)
    return try withCarriedState(model) {
      var total = 0.0, positions = 0.0
      for chunk in batches {
        let logits = try model.forward(chunk.inputs, context: LayerContext(training: false))
        try checkLogits(logits, chunk)
        let (value, _) = try loss.compute(prediction: logits, target: chunk.targets, mask: nil)
        let n = Double(chunk.targets.count)
        total += value * n
        positions += n
      }
      return total / max(1, positions)
    }
  }

  /// Runs `body` with every recurrent layer stateful and freshly reset; restores the flags and
  /// resets the states afterwards.
  static func withCarriedState<R>(_ model: Sequential<Float>, _ body: () throws -> R) throws -> R {
    if model.layers.contains(where: { $0 is any BidirectionalLayer }) {
      throw RecurrentError.invalidArgument("a language model cannot carry state through a Bidirectional layer")
    }
    var saved: [(StatefulLayer, Bool)] = []
    for case let layer as StatefulLayer in model.layers {
      saved.append((layer, layer.stateful))
      layer.stateful = true
      layer.resetStates()
    }
    defer {
      for (layer, was) in saved {
        layer.resetStates()
        layer.stateful = was
      }
    }
    return try body()
  }

  private static func checkLogits(_ logits: Tensor<Float>, _ chunk: TBPTTBatches.Chunk) throws {
    let B = chunk.inputs.shape[0], T = chunk.inputs.shape[1]
    guard logits.rank == 3, logits.shape[0] == B, logits.shape[1] == T else {
      throw RecurrentError.shapeMismatch(
        "a character model must output logits [batch, steps, vocabulary] = [\(B), \(T), V] for ids [\(B), \(T)], "
          + "got \(logits.shape) (does the last recurrent layer have returnSequences: true?)")
    }
  }
}
