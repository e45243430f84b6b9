/// One named parameter tensor inside a `ParameterStore`: a view by offset and shape.
public struct Parameter: Hashable, Sendable {
  /// Unique name, PyTorch style (`layers.0.weight_ih`).
  public let name: String
  /// Index of the first element in the store's flat `params` and `grads` buffers.
  public let offset: Int
  /// Row-major shape of the view.
  public let shape: [Int]
  /// Number of elements.
  public var count: Int { shape.reduce(1, *) }
  /// The flat index range this parameter occupies.
  public var range: Range<Int> { offset..<(offset + count) }
}

/// Every trainable number of a model in one flat `params` buffer, with a parallel flat `grads`
/// buffer of the same length.
///
/// Layers register their weights with `add(_:shape:)` and keep the returned `Parameter` (an
/// offset and a shape); kernels address the flat buffers through `withBuffers`. Zeroing the
/// gradients, clipping, optimizer steps and checkpoints are then one pass over one array each.
/// Backward passes *accumulate* (`+=`) into `grads`; call `zeroGradients()` between steps.
public final class ParameterStore<Scalar: TensorScalar> {
  /// All parameter values, concatenated in registration order.
  public var params: [Scalar] = []
  /// The gradient of the loss with respect to each element of `params`.
  public var grads: [Scalar] = []
  /// The registered views, in registration order.
  public private(set) var parameters: [Parameter] = []
  private var byName: [String: Int] = [:]

  public init() {}

  /// Total number of scalars.
  public var count: Int { params.count }

  /// Registers a parameter of `shape` named `name` (must be unique), zero-filled.
  @discardableResult
  public func add(_ name: String, shape: [Int]) -> Parameter {
    precondition(byName[name] == nil, "ParameterStore: duplicate parameter name \(name)")
    let parameter = Parameter(name: name, offset: params.count, shape: shape)
    params.append(contentsOf: repeatElement(0, count: parameter.count))
    grads.append(contentsOf: repeatElement(0, count: parameter.count))
    byName[name] = parameters.count
    parameters.append(parameter)
    return parameter
  }

  /// The parameter registered under `name`, if any.
  public subscript(name: String) -> Parameter? {
    byName[name].map { parameters[$0] }
  }

  /// A copy of `parameter`'s current value.
  public func value(of parameter: Parameter) -> Tensor<Scalar> {
    Tensor(shape: parameter.shape, scalars: Array(params[parameter.range]))
  }

  /// A copy of `parameter`'s accumulated gradient.
  public func gradient(of parameter: Parameter) -> Tensor<Scalar> {
    Tensor(shape: parameter.shape, scalars: Array(grads[parameter.range]))
  }

  /// Overwrites `parameter`'s value; `value` must have the same element count.
  public func setValue(_ value: Tensor<Scalar>, for parameter: Parameter) {
    precondition(
      value.count == parameter.count,
      "ParameterStore: \(parameter.name) expects \(parameter.shape), got \(value.shape)")
    params.replaceSubrange(parameter.range, with: value.scalars)
  }

  /// Sets every gradient to zero.
  public func zeroGradients() {
    grads.withUnsafeMutableBufferPointer { g in
      if let base = g.baseAddress { WorkspaceBuffer<Scalar>.zeroFill(base, count: g.count) }
    }
  }

  /// Calls `body` with base pointers to the flat `params` and `grads` buffers.
  @inlinable
  public func withBuffers<R>(
    _ body: (UnsafeMutablePointer<Scalar>, UnsafeMutablePointer<Scalar>) throws -> R
  ) rethrows -> R {
    try params.withUnsafeMutableBufferPointer { p in
      try grads.withUnsafeMutableBufferPointer { g in
        // An empty store has nil base addresses; layers with no parameters never dereference.
        let pp = p.baseAddress ?? UnsafeMutablePointer(bitPattern: MemoryLayout<Scalar>.alignment)!
        let gp = g.baseAddress ?? UnsafeMutablePointer(bitPattern: MemoryLayout<Scalar>.alignment)!
        return try body(pp, gp)
      }
    }
  }
}
