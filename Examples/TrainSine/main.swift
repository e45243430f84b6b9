import Foundation
import Recurrent

// Data: windows of 30 samples of a random mix of two sine waves; the target is the next sample.
let task = SineWaveTask(steps: 30, horizon: 1, components: 2)
let data = try task.generate(samples: 1200, seed: 1)
let (train, test) = data.split(validation: 200)

// Model: a bidirectional LSTM under a second LSTM, then a linear read-out.
let model = Sequential(seed: 7) {
  Bidirectional(LSTM(units: 12, returnSequences: true))
  LSTM(units: 12)
  Dense(units: 1)
}
model.compile(optimizer: Adam(learningRate: 0.01), loss: MeanSquaredError(), metrics: [.mae])
try model.build(inputShape: [task.steps, 1])
print(model.summary())

// Train: 20% of the training windows held out for validation; keep the best epoch's weights.
let history = try model.fit(
  train.x, train.y, epochs: 10, batchSize: 32, validationSplit: 0.2,
  callbacks: [EarlyStopping(monitor: "val_loss", patience: 2, restoreBestWeights: true)], verbose: 2)
print(String(format: "best val_loss %.6f after %d epochs", history["val_loss"].min()!, history.epochs.count))

// Evaluate on 200 unseen windows, against two naive forecasts.
let scores = try model.evaluate(test.x, test.y)
let baselines = SineWaveTask.baselines(of: test)
print(String(format: "test MSE %.6f, MAE %.4f", scores["loss"]!, scores["mae"]!))
print(String(format: "baselines: predict the mean %.4f, repeat the last value %.4f", baselines.mean, baselines.lastValue))

// Predict, save a checkpoint, load it back: the same predictions.
let first = test.samples(0..<3)
let forecast = try model.predict(first.x)
for n in 0..<3 { print(String(format: "window %d: predicted %+.4f, true %+.4f", n, forecast[n, 0], first.y[n, 0])) }
try model.save(to: "sine.safetensors")
let restored = try Sequential<Float>.load(from: "sine.safetensors")
print("reloaded sine.safetensors, same predictions: \(try restored.predict(first.x) == forecast)")
