/// The copy (memory) task (Hochreiter & Schmidhuber 1997; Graves et al. 2014; Arjovsky et al.
/// 2016): read `length` symbols, wait `delay` blank steps, see a delimiter, then output the
/// symbols in order.
///
/// Classes: 0 = blank, 1...`symbols` = the symbols, `symbols + 1` = the delimiter, so C =
/// `symbols + 2`. With L = `length`, D = `delay`, T = 2L + D + 1 steps:
///
///     step:    0 ..< L          L ..< L+D    L+D          L+D+1 ..< T
///     input:   a_1 ... a_L      blank        delimiter    blank
///     target:  blank            blank        blank        a_1 ... a_L
///
///     x [N, T, C]:  one-hot inputs
///     y [N, T]:     class indices of the targets (train with SparseCategoricalCrossentropy on a
///                   `returnSequences` layer followed by Dense(units: C))
///
/// Baseline: a memoryless model predicts blank until the delimiter and then guesses, so its
/// accuracy over the L recall steps (`recallAccuracy`) is 1/`symbols` (12.5% with 8 symbols) and
/// its cross-entropy is L ln(symbols) / T per step (`baselineCrossEntropy`). Accuracy over all
/// T steps is misleading here (blanks are easy): use the recall accuracy.
public struct CopyTask: Sendable, Equatable {
  /// Distinct symbols to copy (>= 1).
  public var symbols: Int
  /// Symbols per sequence L (>= 1).
  public var length: Int
  /// Blank steps between the last symbol and the delimiter D (>= 0).
  public var delay: Int

  public init(symbols: Int = 8, length: Int = 10, delay: Int = 10) {
    self.symbols = symbols
    self.length = length
    self.delay = delay
  }

  /// The classes C = symbols + 2 (input features and output units).
  public var classes: Int { symbols + 2 }
  /// Steps per sequence T = 2L + D + 1.
  public var steps: Int { 2 * length + delay + 1 }
  /// The step of the delimiter.
  public var delimiterStep: Int { length + delay }
  /// The steps whose targets are the copied symbols.
  public var recallSteps: Range<Int> { (delimiterStep + 1)..<steps }
  /// Recall accuracy of guessing.
  public var chanceRecallAccuracy: Double { 1 / Double(symbols) }
  /// Mean per-step cross-entropy (nats) of the best memoryless model.
  public var baselineCrossEntropy: Double { Double(length) * _log(Double(symbols)) / Double(steps) }

  public func generate<Scalar: TensorScalar>(
    samples: Int, seed: UInt64, as _: Scalar.Type = Float.self
  ) throws -> TaskDataset<Scalar> {
    try TaskSupport.require(symbols >= 1, "copy task: symbols must be >= 1, got \(symbols)")
    try TaskSupport.require(length >= 1, "copy task: length must be >= 1, got \(length)")
    try TaskSupport.require(delay >= 0, "copy task: delay must be >= 0, got \(delay)")
    try TaskSupport.require(samples >= 1, "copy task: samples must be >= 1, got \(samples)")
    var g = SeededGenerator(seed: seed ^ 0x434F_5059)
    let T = steps, C = classes, L = length
    var x = [Scalar](repeating: 0, count: samples * T * C)
    var y = [Scalar](repeating: 0, count: samples * T)
    for n in 0..<samples {
      var inputs = [Int](repeating: 0, count: T)
      for i in 0..<L {
        let s = 1 + TaskSupport.uniform(symbols, &g)
        inputs[i] = s
        y[n * T + delimiterStep + 1 + i] = Scalar(Double(s))
      }
      inputs[delimiterStep] = symbols + 1
      for t in 0..<T { x[(n * T + t) * C + inputs[t]] = 1 }
    }
    return TaskDataset(x: Tensor(shape: [samples, T, C], scalars: x), y: Tensor(shape: [samples, T], scalars: y))
  }

  /// The fraction of recall steps whose most likely class (argmax over the last axis of
  /// `prediction` [N, T, C], logits or probabilities) is the target symbol.
  public func recallAccuracy<Scalar: TensorScalar>(prediction: Tensor<Scalar>, targets y: Tensor<Scalar>) -> Double {
    precondition(
      prediction.rank == 3 && prediction.shape[1] == steps && prediction.shape[2] == classes && y.shape == Array(prediction.shape.prefix(2)),
      "CopyTask.recallAccuracy: prediction \(prediction.shape) / targets \(y.shape) do not fit T = \(steps), C = \(classes)")
    let N = prediction.shape[0], T = steps, C = classes
    var correct = 0
    for n in 0..<N {
      for t in recallSteps where TaskSupport.argmax(prediction.scalars, (n * T + t) * C, C) == Int(Double(y.scalars[n * T + t])) {
        correct += 1
      }
    }
    return Double(correct) / Double(max(1, N * recallSteps.count))
  }
}
