import Foundation
import Recurrent

/// Accumulates the nodes and initializers of an ONNX graph, with unique value names and small
/// helpers for attributes and constant tensors. Names are derived from the layer that emits
/// them (`layers.1/LSTM`, `layers.1.W`), so the graph reads like the model and the output is
/// deterministic: the same model always gives the same bytes.
struct ONNXGraphBuilder {
  private(set) var nodes: [Onnx_NodeProto] = []
  private(set) var initializers: [Onnx_TensorProto] = []
  private var used = Set<String>()

  /// `base`, or `base_1`, `base_2`, ... if taken.
  mutating func unique(_ base: String) -> String {
    var name = base
    var k = 0
    while used.contains(name) {
      k += 1
      name = "\(base)_\(k)"
    }
    used.insert(name)
    return name
  }

  /// Reserves a name that the graph must use verbatim (its input).
  mutating func reserve(_ name: String) { used.insert(name) }

  /// Adds a node `op(inputs) -> outputs` named `<scope>/<op>` and returns its output names.
  /// An empty input name marks an omitted optional input.
  @discardableResult
  mutating func node(
    _ op: String, _ inputs: [String], scope: String, attributes: [Onnx_AttributeProto] = [], outputs: Int = 1,
    outputNames: [String]? = nil
  ) -> [String] {
    var n = Onnx_NodeProto()
    n.opType = op
    n.name = unique("\(scope)/\(op)")
    n.input = inputs
    n.output = outputNames ?? (0..<outputs).map { i in unique(outputs == 1 ? n.name : "\(n.name):\(i)") }
    n.attribute = attributes
    nodes.append(n)
    return n.output
  }

  /// A single-output node.
  mutating func op(
    _ op: String, _ inputs: [String], scope: String, _ attributes: [Onnx_AttributeProto] = [], name: String? = nil
  ) -> String {
    node(op, inputs, scope: scope, attributes: attributes, outputNames: name.map { [$0] })[0]
  }

  /// A float32 constant [shape] named `name` (made unique).
  mutating func floats(_ name: String, _ values: [Float], shape: [Int]) -> String {
    precondition(values.count == shape.reduce(1, *), "ONNXGraphBuilder: \(name) has \(values.count) values for \(shape)")
    var t = Onnx_TensorProto()
    t.name = unique(name)
    t.dataType = Int32(Onnx_TensorProto.DataType.float.rawValue)
    t.dims = shape.map { Int64($0) }
    var bytes = [UInt8]()
    bytes.reserveCapacity(values.count * 4)
    for v in values {
      let bits = v.bitPattern.littleEndian
      withUnsafeBytes(of: bits) { bytes.append(contentsOf: $0) }
    }
    t.rawData = Data(bytes)
    initializers.append(t)
    return t.name
  }

  /// An int64 constant (1-D unless `shape` says otherwise), for shapes, axes and indices.
  mutating func int64s(_ name: String, _ values: [Int64], shape: [Int]? = nil) -> String {
    var t = Onnx_TensorProto()
    t.name = unique(name)
    t.dataType = Int32(Onnx_TensorProto.DataType.int64.rawValue)
    t.dims = (shape ?? [values.count]).map { Int64($0) }
    t.int64Data = values
    initializers.append(t)
    return t.name
  }

  /// `x` with the time axis (1) of [B, T, ...] reversed: Slice(starts -1, ends INT64_MIN, step -1).
  mutating func reversed(_ x: String, axes: [Int64], scope: String) -> String {
    let n = axes.count
    let starts = int64s("\(scope).slice_starts", Array(repeating: -1, count: n))
    let ends = int64s("\(scope).slice_ends", Array(repeating: Int64.min, count: n))
    let ax = int64s("\(scope).slice_axes", axes)
    let steps = int64s("\(scope).slice_steps", Array(repeating: -1, count: n))
    return op("Slice", [x, starts, ends, ax, steps], scope: scope)
  }

  /// The activation of a Dense or Conv1D layer applied to `x` (nothing for linear).
  mutating func activation(_ f: ActivationFunction, _ x: String, scope: String) -> String {
    switch f {
    case .linear: x
    case .relu: op("Relu", [x], scope: scope)
    case .tanh: op("Tanh", [x], scope: scope)
    case .sigmoid: op("Sigmoid", [x], scope: scope)
    case .softmax: op("Softmax", [x], scope: scope, [.int("axis", -1)])
    }
  }
}

extension Onnx_AttributeProto {
  static func int(_ name: String, _ value: Int64) -> Self {
    var a = Self()
    a.name = name
    a.type = .int
    a.i = value
    return a
  }

  static func ints(_ name: String, _ values: [Int64]) -> Self {
    var a = Self()
    a.name = name
    a.type = .ints
    a.ints = values
    return a
  }

  static func float(_ name: String, _ value: Float) -> Self {
    var a = Self()
    a.name = name
    a.type = .float
    a.f = value
    return a
  }

  static func string(_ name: String, _ value: String) -> Self {
    var a = Self()
    a.name = name
    a.type = .string
    a.s = Data(value.utf8)
    return a
  }

  static func strings(_ name: String, _ values: [String]) -> Self {
    var a = Self()
    a.name = name
    a.type = .strings
    a.strings = values.map { Data($0.utf8) }
    return a
  }
}

extension Onnx_ValueInfoProto {
  /// A tensor value of `elementType` whose dimensions are fixed sizes or named (symbolic) ones.
  static func tensor(_ name: String, _ elementType: Onnx_TensorProto.DataType, dims: [ONNXDimension]) -> Self {
    var shape = Onnx_TensorShapeProto()
    shape.dim = dims.map { d in
      var dim = Onnx_TensorShapeProto.Dimension()
      switch d {
      case .fixed(let n): dim.dimValue = Int64(n)
      case .named(let s): dim.dimParam = s
      }
      return dim
    }
    var tensor = Onnx_TypeProto.Tensor()
    tensor.elemType = Int32(elementType.rawValue)
    tensor.shape = shape
    var type = Onnx_TypeProto()
    type.tensorType = tensor
    var v = Self()
    v.name = name
    v.type = type
    return v
  }
}

/// One dimension of a graph input or output: a fixed size or a symbolic name ("batch", "steps").
enum ONNXDimension: Equatable {
  case fixed(Int)
  case named(String)
}
