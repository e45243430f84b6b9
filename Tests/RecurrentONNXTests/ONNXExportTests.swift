import Foundation
import Recurrent
import RecurrentONNX
import Testing

/// ONNX export against onnxruntime, without Python: for each case in `ONNXFixtureCase.all` the
/// committed fixtures hold the checkpoint (`onnx_<case>.safetensors`), the input
/// (`onnx_<case>_x.npy`), the ONNX file our exporter wrote (`onnx_<case>.onnx`) and what
/// onnxruntime computed on it (`onnx_<case>_ort.npy`, by Scripts/fixtures/onnx_export.py).
///
/// To regenerate: `RECURRENT_WRITE_FIXTURES=1 swift test --filter ONNXExportTests`, then
/// `/work/venv/bin/python Scripts/fixtures/onnx_export.py`, then run the tests again.
@Suite struct ONNXExportTests {
  static let writing = ProcessInfo.processInfo.environment["RECURRENT_WRITE_FIXTURES"] == "1"

  static func fixture(_ name: String, _ ext: String) throws -> URL {
    try #require(
      Bundle.module.url(forResource: name, withExtension: ext, subdirectory: "Fixtures"),
      "missing fixture \(name).\(ext): regenerate with RECURRENT_WRITE_FIXTURES=1 and Scripts/fixtures/onnx_export.py")
  }

  static var sourceFixtures: URL {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
  }

  /// Writes the checkpoint, the input and the ONNX file of `c` into the source tree.
  static func writeFixtures(_ c: ONNXFixtureCase) throws {
    let dir = sourceFixtures
    let model = try c.model()
    try model.save(to: dir.appendingPathComponent("onnx_\(c.name).safetensors"))
    let x = c.input()
    let array =
      c.vocabulary != nil
      ? NPYArray(integers: x.scalars.map { Int($0) }, shape: x.shape, dtype: .int64) : NPYArray(x, dtype: .float32)
    try array.write(to: dir.appendingPathComponent("onnx_\(c.name)_x.npy"))
    if let lengths = c.lengths {
      try NPYArray(integers: lengths, shape: [lengths.count], dtype: .int64)
        .write(to: dir.appendingPathComponent("onnx_\(c.name)_lengths.npy"))
    }
    try c.exporter.write(model, to: dir.appendingPathComponent("onnx_\(c.name).onnx"))
  }

  @Test(arguments: ONNXFixtureCase.all.map(\.name))
  func matchesOnnxruntime(_ name: String) throws {
    let c = try #require(ONNXFixtureCase.all.first { $0.name == name })
    if Self.writing { try Self.writeFixtures(c) }
    let model = try Sequential<Float>.load(from: try Self.fixture("onnx_\(name)", "safetensors"))
    // The committed checkpoint is the case's architecture.
    #expect(try ModelArchitecture(of: model) == ModelArchitecture(of: try c.model()))

    // The exporter reproduces the committed ONNX file byte for byte.
    let bytes = try c.exporter.serializedModel(model)
    let committed = try AtomicFile.read(try Self.fixture("onnx_\(name)", "onnx"))
    let shared = min(bytes.count, committed.count)
    let firstDifference = (0..<shared).first { bytes[$0] != committed[$0] } ?? shared
    let identical = bytes.count == committed.count && firstDifference == shared
    #expect(
      identical,
      "the exporter's output for \(name) (\(bytes.count) bytes) differs from the committed onnx_\(name).onnx (\(committed.count) bytes) from byte \(firstDifference)"
    )

    // Our forward pass equals onnxruntime's run of that file on the committed input.
    let xArray = try NPYArray(contentsOf: try Self.fixture("onnx_\(name)_x", "npy"))
    let x: Tensor<Float> =
      c.vocabulary != nil
      ? Tensor(shape: xArray.shape, scalars: try xArray.integers(source: "x").map { Float($0) }) : xArray.tensor(as: Float.self)
    #expect(x == c.input())
    if let lengths = c.lengths {
      let committed = try NPYArray(contentsOf: try Self.fixture("onnx_\(name)_lengths", "npy")).integers(source: "lengths")
      #expect(committed == lengths)
    }
    let ours = try model.predict(x, lengths: c.lengths)
    guard let ortURL = Bundle.module.url(forResource: "onnx_\(name)_ort", withExtension: "npy", subdirectory: "Fixtures") else {
      Issue.record("onnx_\(name)_ort.npy missing: run Scripts/fixtures/onnx_export.py")
      return
    }
    let ort = try NPYArray(contentsOf: ortURL).tensor(as: Float.self)
    #expect(ours.shape == ort.shape)
    let worst = zip(ours.scalars, ort.scalars).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? .infinity
    #expect(worst <= 1e-5, "\(name): largest difference from onnxruntime \(worst)")
  }

  /// The graph's structure, independent of onnxruntime: gate order, attributes, interface.
  @Test func lstmGraphStructure() throws {
    let c = try #require(ONNXFixtureCase.all.first { $0.name == "lstm" })
    let model = try c.model()
    let proto = try ONNXExporter().export(model)
    #expect(proto.opsetImport.map(\.version) == [17])
    let g = proto.graph
    #expect(g.node.map(\.opType) == ["Transpose", "LSTM", "Squeeze", "Transpose", "Identity"])
    #expect(g.input.map(\.name) == ["input"] && g.output.map(\.name) == ["output"])
    let dims = g.input[0].type.tensorType.shape.dim.map { $0.dimParam.isEmpty ? "\($0.dimValue)" : $0.dimParam }
    #expect(dims == ["batch", "steps", "3"])
    // W block 1 (ONNX "o") is our block 3 (o) of weight_ih [20, 3].
    let W = try #require(g.initializer.first { $0.name == "layers.0.W" })
    #expect(W.dims == [1, 20, 3])
    let ours = model.store.value(of: try #require(model.store["layers.0.weight_ih"])).scalars
    let onnx = W.rawData.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    #expect(Array(onnx[15..<30]) == Array(ours[45..<60]))  // ONNX o  <- ours o
    #expect(Array(onnx[30..<45]) == Array(ours[15..<30]))  // ONNX f  <- ours f
    #expect(Array(onnx[45..<60]) == Array(ours[30..<45]))  // ONNX c  <- ours g
  }

  @Test func unsupportedLayersAreNamed() throws {
    let masked = Sequential<Float>(seed: 1) {
      Embedding(vocabularySize: 5, dimension: 2, maskIndex: 0)
      LSTM(units: 2)
    }
    try masked.build(inputShape: [4])
    #expect {
      try ONNXExporter().export(masked)
    } throws: { e in
      guard case RecurrentError.invalidArgument(let m) = e else { return false }
      return m.contains("layers.0 (embedding)") && m.contains("maskIndex")
    }
    let wrapped = Sequential<Float>(seed: 1) {
      TimeDistributed(Conv1D(filters: 2, kernelSize: 1))
    }
    try wrapped.build(inputShape: [3, 4, 2])
    #expect {
      try ONNXExporter().export(wrapped)
    } throws: { e in
      guard case RecurrentError.invalidArgument(let m) = e else { return false }
      return m.contains("layers.0 (time_distributed)") && m.contains("conv1d")
    }
  }
}

extension ONNXFixtureCase {
  /// The exporter for this case: with a `lengths` input when the case runs with lengths.
  var exporter: ONNXExporter {
    var e = ONNXExporter()
    e.lengthsInput = lengths != nil
    return e
  }
}
