/// What one recurrent layer (or one direction of a bidirectional one) shows after a probe pass.
public struct RecurrentLayerDiagnosis: Sendable {
  /// e.g. "layers.1 lstm" or "layers.2 gru (reverse)".
  public var name: String
  /// ||dL/dh_t|| for t = 0 ... T (index 0: the initial state).
  public var gradientNorms: [Double]
  /// σ_max of W_hh.
  public var spectralNorm: Double
  public var gates: [GateStatistics]
  /// min and max of the hidden (and cell) states over the batch.
  public var hiddenRange: ClosedRange<Double>
  public var cellRange: ClosedRange<Double>?

  /// ||dL/dh_1|| / ||dL/dh_T||: far below 1 means the gradient vanishes going back in time.
  public var firstToLastGradientRatio: Double {
    guard gradientNorms.count >= 2, gradientNorms.last! > 0 else { return .nan }
    return gradientNorms[1] / gradientNorms.last!
  }
}

/// Layers that can describe their recurrent internals after a forward and backward pass.
public protocol RecurrentDiagnosable {
  func diagnose(name: String) -> [RecurrentLayerDiagnosis]
}

extension RNN: RecurrentDiagnosable {
  public func diagnose(name: String) -> [RecurrentLayerDiagnosis] {
    guard let engine else { return [] }
    let tr = engine.trace()
    func range(_ t: Tensor<Scalar>) -> ClosedRange<Double> {
      let v = t.scalars.map { Double($0) }
      return (v.min() ?? 0)...(v.max() ?? 0)
    }
    return [
      RecurrentLayerDiagnosis(
        name: "\(name) \(kind)" + (nameSuffix.isEmpty ? "" : " (reverse)"), gradientNorms: engine.hiddenGradientNorms(),
        spectralNorm: engine.recurrentSpectralNorm, gates: engine.gateStatistics(), hiddenRange: range(tr.hidden),
        cellRange: tr.cell.map(range))
    ]
  }
}

extension Bidirectional: RecurrentDiagnosable {
  public func diagnose(name: String) -> [RecurrentLayerDiagnosis] {
    forwardLayer.diagnose(name: name) + backwardLayer.diagnose(name: name)
  }
}

extension Sequential {
  /// Runs a probe pass on `x` and describes every recurrent layer: the loss is ½||y||² of the
  /// model's output (no labels needed), so dL/dy = y and the gradient-flow curve shows how
  /// much of an output-side signal reaches each time step. Inference mode; parameter
  /// gradients are zeroed afterwards.
  public func diagnose(_ x: Tensor<Scalar>, lengths: [Int]? = nil) throws -> [RecurrentLayerDiagnosis] {
    var mask: Tensor<Scalar>?
    if let lengths {
      guard x.rank >= 2, lengths.count == x.shape[0] else {
        throw RecurrentError.shapeMismatch("diagnose: \(lengths.count) lengths for input \(x.shape)")
      }
      var m = Tensor<Scalar>(shape: [x.shape[0], x.shape[1]])
      for (b, l) in lengths.enumerated() { for t in 0..<min(l, x.shape[1]) { m[b, t] = 1 } }
      mask = m
    }
    let y = try forward(x, context: LayerContext(training: false, mask: mask))
    store.zeroGradients()
    backward(y)
    store.zeroGradients()
    var out = [RecurrentLayerDiagnosis]()
    for (i, layer) in layers.enumerated() {
      if let d = layer as? RecurrentDiagnosable { out += d.diagnose(name: "layers.\(i)") }
    }
    return out
  }
}
