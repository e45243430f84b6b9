import Foundation
import RecurrentTestSupport
import Testing

@testable import Recurrent

/// Optimizers: one step against hand-computed values, clipping, schedules, state round trips,
/// and Keras golden values (Scripts/fixtures/make_optimizer_fixtures.py -> keras_optimizers.json).
@Suite struct OptimizerTests {
  /// A store with one parameter "w" holding `values`, and gradients `grads`.
  static func store(_ values: [Double], grads: [Double]) -> ParameterStore<Double> {
    let store = ParameterStore<Double>()
    store.add("w", shape: [values.count])
    store.params = values
    store.grads = grads
    return store
  }

  static func expectClose(
    _ got: [Double], _ want: [Double], tolerance: Double = 1e-15, _ what: String,
    sourceLocation: SourceLocation = #_sourceLocation
  ) {
    let d = maxAbsoluteDifference(got, want)
    #expect(d <= tolerance, "\(what): got \(got), expected \(want) (max |diff| \(d))", sourceLocation: sourceLocation)
  }

  // MARK: - One step against hand-computed values

  @Test func sgd() {
    let s = Self.store([1, -2], grads: [0.5, 0.25])
    SGD(learningRate: 0.1).step(s)
    Self.expectClose(s.params, [0.95, -2.025], "plain")

    // Momentum 0.9, two steps with the same gradient: v1 = -0.1 g, v2 = 0.9 v1 - 0.1 g.
    let g = 0.5
    let m = Self.store([1], grads: [g])
    let momentum = SGD(learningRate: 0.1, momentum: 0.9)
    momentum.step(m)
    momentum.step(m)
    let v1 = -0.1 * g, v2 = 0.9 * v1 - 0.1 * g
    Self.expectClose(m.params, [1 + v1 + v2], "momentum")
    #expect(momentum.iterations == 2)
    Self.expectClose(momentum.stateBuffers["momentum"]!, [v2], "momentum state")

    let n = Self.store([1], grads: [g])
    SGD(learningRate: 0.1, momentum: 0.9, nesterov: true).step(n)
    Self.expectClose(n.params, [1 + 0.9 * v1 - 0.1 * g], "nesterov")

    // Decoupled weight decay: w (1 - lr wd) - lr g.
    let d = Self.store([2], grads: [0.5])
    SGD(learningRate: 0.1, weightDecay: 0.5).step(d)
    Self.expectClose(d.params, [2 - 2 * 0.5 * 0.1 - 0.1 * 0.5], "weight decay")
  }

  @Test func adamFirstStep() {
    // Step 1: m = (1-b1) g, v = (1-b2) g^2, lr_t = lr sqrt(1-b2) / (1-b1), so
    // w -= lr_t m / (sqrt(v) + eps) = lr g / (|g| + eps / sqrt(1 - b2)).
    let g: [Double] = [0.5, -2, 0]
    let s = Self.store([1, 1, 1], grads: g)
    let adam = Adam(learningRate: 0.01)
    adam.step(s)
    let shift = 1e-7 / (0.001).squareRoot()
    Self.expectClose(s.params, g.map { 1 - 0.01 * $0 / (abs($0) + shift) }, "adam")
    Self.expectClose(adam.stateBuffers["momentum"]!, g.map { 0.1 * $0 }, tolerance: 1e-16, "m")
    Self.expectClose(adam.stateBuffers["velocity"]!, g.map { 0.001 * $0 * $0 }, tolerance: 1e-16, "v")

    let w = Self.store([1, 1, 1], grads: g)
    let adamw = AdamW(learningRate: 0.01, weightDecay: 0.5)
    adamw.step(w)
    Self.expectClose(w.params, g.map { 1 - 0.01 * 0.5 - 0.01 * $0 / (abs($0) + shift) }, "adamw")
    #expect(adamw.name == "adamw" && adamw.weightDecay == 0.5 && AdamW().weightDecay == 0.004)

    // amsgrad: a small second gradient keeps v_hat at the first step's v.
    let a = Self.store([0], grads: [1])
    let ams = Adam(learningRate: 0.01, amsgrad: true)
    ams.step(a)
    a.grads = [0.01]
    ams.step(a)
    let vHat = ams.stateBuffers["velocity_hat"]!
    Self.expectClose(vHat, [0.001], tolerance: 1e-18, "v_hat")
  }

  @Test func rmspropAndAdagradFirstStep() {
    let g: [Double] = [0.5, -2]
    let r = Self.store([1, 1], grads: g)
    RMSprop(learningRate: 0.01).step(r)  // v = 0.1 g^2; w -= lr g / sqrt(v + eps)
    Self.expectClose(r.params, g.map { 1 - 0.01 * $0 / (0.1 * $0 * $0 + 1e-7).squareRoot() }, "rmsprop")

    let c = Self.store([1, 1], grads: g)
    RMSprop(learningRate: 0.01, momentum: 0.5, centered: true).step(c)  // a = 0.1 g; d = v - a^2 + eps
    Self.expectClose(c.params, g.map { 1 - 0.01 * $0 / (0.1 * $0 * $0 - 0.01 * $0 * $0 + 1e-7).squareRoot() }, "centered")

    let a = Self.store([1, 1], grads: g)
    let adagrad = Adagrad(learningRate: 0.1)
    adagrad.step(a)  // acc = 0.1 + g^2; w -= lr g / sqrt(acc + eps)
    Self.expectClose(a.params, g.map { 1 - 0.1 * $0 / (0.1 + $0 * $0 + 1e-7).squareRoot() }, "adagrad")
    Self.expectClose(adagrad.stateBuffers["accumulator"]!, g.map { 0.1 + $0 * $0 }, "accumulator")
  }

  // MARK: - Clipping

  /// Two parameters, a [2] = (3, 4) (norm 5) and b [1] = (-12) (norm 12): global norm 13.
  static func twoParameters() -> ParameterStore<Double> {
    let store = ParameterStore<Double>()
    store.add("a", shape: [2])
    store.add("b", shape: [1])
    store.params = [1, 1, 1]
    store.grads = [3, 4, -12]
    return store
  }

  @Test func clipping() {
    let s = Self.twoParameters()
    #expect(globalNorm(of: s) == 13)
    #expect(clipGlobalNorm(s, maxNorm: 26) == 13)
    #expect(s.grads == [3, 4, -12])  // within the limit: untouched
    #expect(clipGlobalNorm(s, maxNorm: 6.5) == 13)
    Self.expectClose(s.grads, [1.5, 2, -6], "global")

    let p = Self.twoParameters()
    clipParameterNorms(p, maxNorm: 6)
    Self.expectClose(p.grads, [3, 4, -6], "per parameter")  // a (norm 5) is kept, b scaled

    let v = Self.twoParameters()
    clipGradientValues(v, limit: 3.5)
    #expect(v.grads == [3, 3.5, -3.5])

    // Huge finite gradients still have a finite norm; a NaN gives NaN and leaves grads alone.
    let huge = Self.store([0, 0], grads: [3e200, 4e200])
    Self.expectClose([globalNorm(of: huge)], [5e200], tolerance: 1e186, "huge")
    let bad = Self.store([0, 0], grads: [.nan, 1])
    #expect(clipGlobalNorm(bad, maxNorm: 1).isNaN && bad.grads[1] == 1)
    #expect(globalNorm(of: ParameterStore<Float>()) == 0)
  }

  @Test func optimizersClipInPlaceBeforeUpdating() {
    let s = Self.twoParameters()
    SGD(learningRate: 1, globalClipNorm: 6.5).step(s)
    Self.expectClose(s.grads, [1.5, 2, -6], "grads clipped in place")
    Self.expectClose(s.params, [-0.5, -1, 7], "update with clipped grads")

    let v = Self.twoParameters()
    SGD(learningRate: 1, clipValue: 3.5).step(v)
    #expect(v.params == [-2, -2.5, 4.5])

    let n = Self.twoParameters()
    SGD(learningRate: 1, clipNorm: 6).step(n)
    Self.expectClose(n.params, [-2, -3, 7], "per-parameter clipNorm")
  }

  // MARK: - Schedules

  @Test func schedules() {
    let step = StepDecay(stepSize: 3, gamma: 0.5)
    #expect([0, 2, 3, 5, 6, 9].map { step.learningRate(base: 0.8, step: $0) } == [0.8, 0.8, 0.4, 0.4, 0.2, 0.1])

    let exponential = ExponentialDecay(decaySteps: 10, decayRate: 0.5)
    Self.expectClose(
      [0, 5, 10, 15].map { exponential.learningRate(base: 2, step: $0) }, [2, 2 * 0.5.squareRoot(), 1, 0.5.squareRoot()],
      "exponential")
    let stairs = ExponentialDecay(decaySteps: 10, decayRate: 0.5, staircase: true)
    #expect([0, 9, 10, 19, 20].map { stairs.learningRate(base: 2, step: $0) } == [2, 2, 1, 1, 0.5])

    let cosine = CosineDecay(decaySteps: 10, alpha: 0.1)
    Self.expectClose(
      [0, 5, 10, 20].map { cosine.learningRate(base: 1, step: $0) }, [1, 0.9 * 0.5 + 0.1, 0.1, 0.1], "cosine")
    Self.expectClose([CosineDecay(decaySteps: 4).learningRate(base: 1, step: 1)], [0.5 * (1 + cos(Double.pi / 4))], "cos")

    let warm = WarmUp(steps: 4, then: CosineDecay(decaySteps: 8))
    Self.expectClose(
      [0, 1, 2, 4, 8, 12, 100].map { warm.learningRate(base: 0.1, step: $0) }, [0, 0.025, 0.05, 0.1, 0.05, 0, 0],
      tolerance: 1e-17, "warm-up then cosine")
    #expect(WarmUp(steps: 2).learningRate(base: 0.1, step: 7) == 0.1)
    #expect(WarmUp(steps: 0).learningRate(base: 0.1, step: 0) == 0.1)
  }

  @Test func optimizerUsesScheduleFromStepZero() {
    let s = Self.store([0], grads: [1])
    let sgd = SGD(learningRate: 1, schedule: StepDecay(stepSize: 1, gamma: 0.5))
    var seen: [Double] = []
    for _ in 0..<3 {
      seen.append(sgd.currentLearningRate)
      sgd.step(s)
    }
    #expect(seen == [1, 0.5, 0.25])
    #expect(s.params == [-1.75])
    #expect(sgd.learningRate == 1 && sgd.iterations == 3)
  }

  // MARK: - State round trip

  static let roundTripConfigurations: [@Sendable () -> any Optimizer] = [
    { SGD(learningRate: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.01) },
    { Adam(learningRate: 0.01, amsgrad: true, globalClipNorm: 1, schedule: CosineDecay(decaySteps: 4)) },
    { AdamW(learningRate: 0.01) },
    { RMSprop(learningRate: 0.01, momentum: 0.9, centered: true, clipValue: 0.3) },
    { Adagrad(learningRate: 0.1, schedule: WarmUp(steps: 2)) },
  ]

  static func roundTrip<S: TensorScalar>(_ make: () -> any Optimizer, _: S.Type) {
    var rng = SeededGenerator(seed: 99)
    let store = ParameterStore<S>()
    store.add("kernel", shape: [3, 4])
    store.add("bias", shape: [4])
    store.params = (0..<store.count).map { _ in S(Double.random(in: -1...1, using: &rng)) }
    let gradients = (0..<5).map { _ in (0..<store.count).map { _ in S(Double.random(in: -1...1, using: &rng)) } }

    let first = make()
    #expect(first.stateBuffers.isEmpty, "\(first.name): state before the first step")
    for g in gradients[0..<3] {
      store.grads = g
      first.step(store)
    }
    let saved = (params: store.params, state: first.stateBuffers, iterations: first.iterations)
    #expect(saved.state.values.allSatisfy { $0.count == store.count }, "\(first.name): state lengths")
    for g in gradients[3...] {
      store.grads = g
      first.step(store)
    }

    let resumed = make()
    resumed.stateBuffers = saved.state
    resumed.iterations = saved.iterations
    let restored = ParameterStore<S>()
    restored.add("kernel", shape: [3, 4])
    restored.add("bias", shape: [4])
    restored.params = saved.params
    for g in gradients[3...] {
      restored.grads = g
      resumed.step(restored)
    }
    #expect(restored.params == store.params, "\(first.name) \(S.self): resumed run differs")
    #expect(resumed.stateBuffers == first.stateBuffers, "\(first.name) \(S.self): resumed state differs")
  }

  @Test func stateBuffersRoundTripBitIdentically() {
    for make in Self.roundTripConfigurations {
      Self.roundTrip(make, Double.self)
      Self.roundTrip(make, Float.self)
    }
  }

  @Test func stateBufferNamesFollowKeras() {
    let s = Self.store([1, 2], grads: [0.1, 0.2])
    let optimizers: [(any Optimizer, [String])] = [
      (SGD(), []), (SGD(momentum: 0.9), ["momentum"]), (Adam(), ["momentum", "velocity"]),
      (Adam(amsgrad: true), ["momentum", "velocity", "velocity_hat"]), (AdamW(), ["momentum", "velocity"]),
      (RMSprop(), ["velocity"]), (RMSprop(momentum: 0.5, centered: true), ["average_gradient", "momentum", "velocity"]),
      (Adagrad(), ["accumulator"]),
    ]
    for (optimizer, names) in optimizers {
      optimizer.step(s)
      #expect(optimizer.stateBuffers.keys.sorted() == names, "\(optimizer.name)")
    }
    let adagrad = Adagrad(initialAccumulatorValue: 0.25)
    adagrad.step(Self.store([1], grads: [0]))
    #expect(adagrad.stateBuffers["accumulator"] == [0.25])
  }

  // MARK: - Keras golden values

  struct Fixture: Decodable {
    struct Case: Decodable {
      var name: String
      var exact: Bool
      var weights: [[Double]]
      var state: [String: [Double]]
    }
    var shapes: [[Int]]
    var names: [String]
    var initial: [Double]
    var gradients: [[Double]]
    var cases: [Case]
  }

  static func load() throws -> Fixture {
    let url = try #require(Bundle.module.url(forResource: "keras_optimizers", withExtension: "json", subdirectory: "Fixtures"))
    return try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
  }

  /// The fixture's optimizers (see the script): float32-exact hyperparameters, plus two cases
  /// with Keras's defaults, which Keras rounds through float32.
  static let kerasCases: [String: @Sendable () -> any Optimizer] = [
    "sgd": { SGD(learningRate: 0.1) },
    "sgd_momentum": { SGD(learningRate: 0.1, momentum: 0.875) },
    "sgd_nesterov": { SGD(learningRate: 0.1, momentum: 0.875, nesterov: true) },
    "sgd_clipvalue": { SGD(learningRate: 0.1, clipValue: 0.5) },
    "sgd_clipnorm": { SGD(learningRate: 0.1, clipNorm: 0.5) },
    "sgd_momentum_weight_decay": { SGD(learningRate: 0.1, momentum: 0.875, weightDecay: 0.0625) },
    "adam": { Adam(learningRate: 0.01, beta1: 0.875, beta2: 0.9990234375) },
    "adam_amsgrad": { Adam(learningRate: 0.01, beta1: 0.875, beta2: 0.9990234375, amsgrad: true) },
    "adam_global_clipnorm": { Adam(learningRate: 0.01, beta1: 0.875, beta2: 0.9990234375, globalClipNorm: 1) },
    "adam_exponential_decay": {
      Adam(learningRate: 0.01, beta1: 0.875, beta2: 0.9990234375, schedule: ExponentialDecay(decaySteps: 2, decayRate: 0.5))
    },
    "adamw": { AdamW(learningRate: 0.01, weightDecay: 0.125, beta1: 0.875, beta2: 0.9990234375) },
    "rmsprop": { RMSprop(learningRate: 0.01, rho: 0.875) },
    "rmsprop_centered_momentum": { RMSprop(learningRate: 0.01, rho: 0.875, momentum: 0.875, centered: true) },
    "rmsprop_cosine_decay": { RMSprop(learningRate: 0.01, rho: 0.875, schedule: CosineDecay(decaySteps: 4, alpha: 0.1)) },
    "adagrad": { Adagrad(learningRate: 0.1) },
    "sgd_nesterov_keras_defaults": { SGD(learningRate: 0.1, momentum: 0.9, nesterov: true) },
    "adam_keras_defaults": { Adam(learningRate: 0.01) },
  ]

  static func relativeError(_ got: [Double], _ want: [Double]) -> Double {
    maxAbsoluteDifference(got, want) / max(want.map(abs).max() ?? 0, .leastNormalMagnitude)
  }

  /// Replays the fixture's gradients; returns the largest norm-wise relative error
  /// max_i |ours_i - keras_i| / max_i |keras_i| of the weights over all steps, and of each final
  /// state buffer. (Norm-wise, because a weight passing near zero has no meaningful elementwise
  /// relative error in Float.)
  static func replay<S: TensorScalar>(_ f: Fixture, _ c: Fixture.Case, _: S.Type) throws -> (weights: Double, state: Double) {
    let make = try #require(kerasCases[c.name], "no Swift optimizer for fixture case \(c.name)")
    let optimizer = make()
    let store = ParameterStore<S>()
    for (name, shape) in zip(f.names, f.shapes) { store.add(name, shape: shape) }
    store.params = f.initial.map { S($0) }
    var worst = 0.0
    for (g, want) in zip(f.gradients, c.weights) {
      store.grads = g.map { S($0) }
      optimizer.step(store)
      worst = max(worst, relativeError(store.params.map(Double.init), want))
    }
    #expect(optimizer.iterations == c.weights.count)
    var worstState = 0.0
    #expect(optimizer.stateBuffers.keys.sorted() == c.state.keys.sorted(), "\(c.name): state buffer names")
    for (name, want) in c.state {
      worstState = max(worstState, relativeError(optimizer.stateBuffers[name] ?? [], want))
    }
    return (worst, worstState)
  }

  @Test func matchesKeras() throws {
    let f = try Self.load()
    #expect(Set(f.cases.map(\.name)) == Set(Self.kerasCases.keys), "fixture cases and Swift cases differ")
    for c in f.cases {
      let double = try Self.replay(f, c, Double.self)
      let float = try Self.replay(f, c, Float.self)
      // Exact cases: the Keras formula in float64. The "keras_defaults" cases differ by Keras's
      // float32 rounding of 0.9 / 0.999 (~2e-7 on the weights).
      let doubleTolerance = c.exact ? 1e-12 : 1e-5
      #expect(double.weights <= doubleTolerance, "\(c.name) Double: weights rel err \(double.weights)")
      #expect(double.state <= (c.exact ? 1e-12 : 1e-5), "\(c.name) Double: state rel err \(double.state)")
      #expect(float.weights <= max(1e-6, doubleTolerance), "\(c.name) Float: weights rel err \(float.weights)")
    }
  }
}
