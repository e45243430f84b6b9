import ArgumentParser
import Foundation
import Recurrent

/// `rnn import`: converts PyTorch or Keras weights into a Recurrent checkpoint (docs/interop.md).
///
/// - `--pytorch FILE`: a `state_dict` saved with `safetensors.torch.save_file`; `--layers` and
///   `--input-size` describe the equivalent model (the state_dict does not record it).
/// - `--keras FILE`: weights written by `Scripts/keras_to_safetensors.py`; the architecture comes
///   from the file unless `--layers` is given.
///
/// Exit codes (see `ExitCodes`): 64 usage, 65 tensors that do not fit, 74 I/O.
struct Import: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "import",
    abstract: "Convert PyTorch or Keras weights into a Recurrent checkpoint.",
    discussion: """
      --layers lists the model, comma-separated:
        lstm:H, gru:H, rnn:H (tanh), rnn_relu:H    recurrent layers
        bilstm:H, bigru:H, birnn:H, birnn_relu:H   bidirectional (concat)
        dense:N or dense:N:ACTIVATION              linear, relu, tanh, sigmoid,
                                                   softmax
        embedding:VOCAB:DIM, dropout:RATE
      A PyTorch nn.LSTM(num_layers=2, bidirectional=True) is "bilstm:H,bilstm:H".
      A recurrent layer followed by another returns its sequence; the last one
      returns only its last step unless --return-sequences is given (a Dense
      after it then applies to every step).
      --mapping names the source modules in layer order (PyTorch: the tensor
      names before the last dot, e.g. rnn,fc); without it each layer takes the
      one module that fits. With --keras and no --layers the architecture is
      the one recorded in the file. See docs/interop.md.
      Exit codes: 64 bad usage, 65 tensors that do not fit the model, 74 file
      not readable/writable.

      Examples:
        rnn import --pytorch state.safetensors --input-size 8 \\
                   --layers bilstm:64,bilstm:64,dense:10 --return-sequences \\
                   --out model.safetensors
        rnn import --keras keras.safetensors --out model.safetensors
      """)

  @Option(name: .long, help: "PyTorch state_dict (.safetensors from safetensors.torch.save_file).")
  var pytorch: String?

  @Option(name: .long, help: "Keras weights (.safetensors from Scripts/keras_to_safetensors.py).")
  var keras: String?

  @Option(name: .long, help: "The model's layers, e.g. \"lstm:64,dense:10\" (required with --pytorch).")
  var layers: String?

  @Option(name: .long, help: "Features per input step (not needed when the first layer is an embedding).")
  var inputSize: Int?

  @Option(name: .long, help: "Sequence length recorded in the checkpoint (any length runs later).")
  var steps: Int = 1

  @Flag(name: .long, help: "The last recurrent layer returns its whole sequence.")
  var returnSequences = false

  @Option(name: .long, help: "Source module names in layer order, comma-separated (e.g. rnn,fc).")
  var mapping: String?

  @Option(name: .long, help: "Where to write the Recurrent checkpoint (.safetensors).")
  var out: String

  @Flag(name: .long, help: "Print nothing on success.")
  var quiet = false

  func validate() throws {
    guard (pytorch == nil) != (keras == nil) else { throw ValidationError("give exactly one of --pytorch FILE and --keras FILE") }
    if pytorch != nil && layers == nil { throw ValidationError("--pytorch needs --layers (the state_dict does not record the model)") }
    if let inputSize, !(1...(1 << 24)).contains(inputSize) { throw ValidationError("--input-size must be 1...16777216, got \(inputSize)") }
    guard (1...(1 << 24)).contains(steps) else { throw ValidationError("--steps must be 1...16777216, got \(steps)") }
    if out.isEmpty { throw ValidationError("--out needs a file path") }
    if let layers { _ = try Self.parseLayers(layers, returnSequences: returnSequences) }
  }

  /// The layer specs of a `--layers` list.
  static func parseLayers(_ text: String, returnSequences: Bool) throws -> [LayerSpec] {
    let items = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
    guard !items.isEmpty, !items.contains(where: \.isEmpty) else { throw ValidationError("--layers: expected e.g. \"lstm:64,dense:10\"") }
    let recurrent = ["lstm", "gru", "rnn", "rnn_relu"]
    var specs = [LayerSpec]()
    for item in items {
      let parts = item.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
      func size(_ i: Int) throws -> Int {
        guard i < parts.count, let v = Int(parts[i]), (1...(1 << 24)).contains(v) else {
          throw ValidationError("--layers: \"\(item)\": expected a positive size in field \(i + 1)")
        }
        return v
      }
      func arity(_ n: Int...) throws {
        guard n.contains(parts.count) else { throw ValidationError("--layers: \"\(item)\" has \(parts.count - 1) value(s); expected \(n.map { $0 - 1 })") }
      }
      var kind = parts[0].lowercased()
      let bidirectional = kind.hasPrefix("bi") && recurrent.contains(String(kind.dropFirst(2)))
      if bidirectional { kind = String(kind.dropFirst(2)) }
      switch kind {
      case _ where recurrent.contains(kind):
        try arity(2)
        let spec = LayerSpec(kind: kind, config: ["units": .int(try size(1)), "returnSequences": .bool(true)])
        specs.append(bidirectional ? LayerSpec(kind: "bidirectional", config: ["mergeMode": .string("concat"), "layer": spec.json]) : spec)
      case "dense":
        try arity(2, 3)
        let activation = parts.count == 3 ? parts[2] : "linear"
        guard ActivationFunction(rawValue: activation) != nil else {
          throw ValidationError("--layers: \"\(item)\": unknown activation (\(ActivationFunction.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        specs.append(LayerSpec(kind: "dense", config: ["units": .int(try size(1)), "activation": .string(activation)]))
      case "embedding":
        try arity(3)
        specs.append(LayerSpec(kind: "embedding", config: ["vocabularySize": .int(try size(1)), "dimension": .int(try size(2))]))
      case "dropout":
        try arity(2)
        guard let rate = Double(parts[1]), rate >= 0, rate < 1 else { throw ValidationError("--layers: \"\(item)\": rate must be in [0, 1)") }
        specs.append(LayerSpec(kind: "dropout", config: ["rate": .double(rate)]))
      default:
        throw ValidationError(
          "--layers: unknown layer \"\(parts[0])\" (lstm, gru, rnn, rnn_relu, bilstm, bigru, birnn, birnn_relu, dense, embedding, dropout)")
      }
    }
    // Every recurrent layer but the last returns its sequence; the last one as asked.
    if let last = specs.lastIndex(where: { recurrent.contains($0.kind) || $0.kind == "bidirectional" }) {
      if specs[last].kind == "bidirectional", var inner = specs[last].config["layer"]?.object, var config = inner["config"]?.object {
        config["returnSequences"] = .bool(returnSequences)
        inner["config"] = .object(config)
        specs[last].config["layer"] = .object(inner)
      } else {
        specs[last].config["returnSequences"] = .bool(returnSequences)
      }
    }
    return specs
  }

  /// Builds, loads and saves; returns what was loaded from where.
  func execute() throws -> (model: Sequential<Float>, layers: [ImportedLayer]) {
    let modules = mapping.map { $0.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) } }
    let model: Sequential<Float>
    let report: [ImportedLayer]
    if let layers {
      let specs = try Self.parseLayers(layers, returnSequences: returnSequences)
      let tokens = specs.first?.kind == "embedding"
      guard tokens || inputSize != nil else {
        throw RecurrentError.invalidArgument("--input-size is needed (features per step) unless the first layer is an embedding")
      }
      if tokens && inputSize != nil { throw RecurrentError.invalidArgument("--input-size does not apply when the first layer is an embedding") }
      let architecture = ModelArchitecture(inputShape: tokens ? [steps] : [steps, inputSize!], seed: 0, layers: specs)
      model = try architecture.makeModel(source: "--layers")
      if let pytorch {
        report = try model.loadPyTorchStateDict(from: pytorch, mapping: modules)
      } else {
        report = try model.loadKerasWeights(from: keras!, mapping: modules)
      }
    } else {
      model = try ModelArchitecture(kerasWeights: URL(fileURLWithPath: keras!)).makeModel(source: keras!)
      report = try model.loadKerasWeights(from: keras!, mapping: modules)
    }
    try model.save(to: out, metadata: ["imported_from": pytorch.map { "pytorch: \($0)" } ?? "keras: \(keras!)"])
    return (model, report)
  }

  func run() throws {
    let (model, report) = try ExitCodes.reporting("import") { try execute() }
    guard !quiet else { return }
    let architecture = try ModelArchitecture(of: model)
    for entry in report {
      let module = entry.module.isEmpty ? "(top level)" : entry.module
      let stacked = report.filter { $0.module == entry.module }.count > 1
      let spec = architecture.layers[entry.layer]
      let kind = spec.kind == "bidirectional" ? "bidirectional \(spec.config["layer"]?.object?["kind"]?.string ?? "")" : spec.kind
      print("layers.\(entry.layer) \(kind) <- \(module)\(stacked ? " level \(entry.level)" : ""): \(entry.tensors.count) tensors")
    }
    print("wrote \(out): \(architecture.layers.map(\.kind).joined(separator: " -> ")), \(model.store.count) parameters, input \(architecture.inputShape)")
  }
}
