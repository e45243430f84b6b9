import Foundation
import Recurrent

/// Parses the `--layers` flag of `rnn train --x`: a comma-separated list of layers, each
/// `kind[:argument]...`, into the `LayerSpec`s of a `ModelArchitecture` (so a model given by
/// flags and one given by `--model-json` are built, saved and loaded the same way).
///
///     conv1d:FILTERS:KERNEL[:DILATION][:ACTIVATION][:PADDING]   Conv1D (padding valid|same|causal)
///     maxpool[:K]                                               MaxPool1D, pool and stride K (2)
///     lstm:UNITS[:seq]  gru:UNITS[:seq]  rnn:UNITS[:seq]        recurrent; seq = returnSequences
///     bilstm:UNITS[:seq]  bigru:UNITS[:seq]  birnn:UNITS[:seq]  Bidirectional (concat)
///     dropout:RATE                                              Dropout, 0 <= RATE < 1
///     dense:UNITS[:ACTIVATION]                                  Dense (linear|relu|tanh|sigmoid|softmax)
///     globalavg  globalmax                                      global pooling over time
///     embedding:VOCABULARY:DIMENSION[:mask]                     Embedding (mask: id 0 is padding)
///     flatten  layernorm
///
/// Example: `conv1d:32:5:relu:causal,maxpool:2,lstm:64,dropout:0.2,dense:10`. Errors name the
/// token, its position and what was expected.
enum LayerFlagParser {
  static let kinds = [
    "conv1d", "maxpool", "lstm", "gru", "rnn", "bilstm", "bigru", "birnn", "dropout", "dense", "globalavg", "globalmax",
    "embedding", "flatten", "layernorm",
  ]

  /// The layer specs `text` lists. Throws `RecurrentError.invalidArgument` naming the bad token.
  static func parse(_ text: String) throws -> [LayerSpec] {
    let tokens = text.split(separator: ",", omittingEmptySubsequences: false).map {
      $0.trimmingCharacters(in: .whitespaces)
    }
    guard !(tokens.count == 1 && tokens[0].isEmpty) else {
      throw RecurrentError.invalidArgument("--layers is empty; e.g. --layers \"lstm:64,dense:10\"")
    }
    return try tokens.enumerated().map { i, token in try parse(token: token, position: i + 1) }
  }

  static func parse(token: String, position: Int) throws -> LayerSpec {
    func bad(_ message: String) -> RecurrentError {
      .invalidArgument("--layers: layer \(position) '\(token)': \(message)")
    }
    guard !token.isEmpty else { throw bad("empty (two commas in a row, or a comma at the end?)") }
    let parts = token.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
    let kind = parts[0].lowercased()
    var args = Array(parts.dropFirst())

    func count(_ range: ClosedRange<Int>, _ usage: String) throws {
      guard range.contains(args.count) else { throw bad("expected \(usage)") }
    }
    func positive(_ s: String, _ what: String) throws -> Int {
      guard let v = Int(s), v >= 1, v <= 1 << 24 else { throw bad("\(what) must be a positive integer, got '\(s)'") }
      return v
    }
    func activation(_ s: String) throws -> ActivationFunction {
      guard let a = ActivationFunction(rawValue: s.lowercased()) else {
        throw bad("'\(s)' is not an activation (\(ActivationFunction.allCases.map(\.rawValue).joined(separator: ", ")))")
      }
      return a
    }
    func sequenceFlag() throws -> Bool {
      guard args.count == 2 else { return false }
      guard args[1].lowercased() == "seq" else { throw bad("the second argument can only be 'seq' (return sequences), got '\(args[1])'") }
      return true
    }
    func recurrent(_ cellKind: String, usage: String) throws -> JSONObject {
      try count(1...2, usage)
      return ["units": .int(try positive(args[0], "units")), "returnSequences": .bool(try sequenceFlag())]
    }

    switch kind {
    case "lstm", "gru", "rnn":
      return LayerSpec(kind: kind, config: try recurrent(kind, usage: "\(kind):UNITS[:seq]"))
    case "bilstm", "bigru", "birnn":
      let inner = String(kind.dropFirst(2))
      let config = try recurrent(inner, usage: "\(kind):UNITS[:seq]")
      return LayerSpec(
        kind: "bidirectional", config: ["mergeMode": .string("concat"), "layer": LayerSpec(kind: inner, config: config).json])
    case "dense":
      try count(1...2, "dense:UNITS[:ACTIVATION]")
      let act = args.count == 2 ? try activation(args[1]) : .linear
      return LayerSpec(kind: "dense", config: ["units": .int(try positive(args[0], "units")), "activation": .string(act.rawValue)])
    case "conv1d":
      guard args.count >= 2 else { throw bad("expected conv1d:FILTERS:KERNEL[:DILATION][:ACTIVATION][:PADDING]") }
      var config: JSONObject = [
        "filters": .int(try positive(args[0], "filters")), "kernelSize": .int(try positive(args[1], "kernel size")),
      ]
      for extra in args.dropFirst(2) {
        if let d = Int(extra) {
          guard config["dilation"] == nil else { throw bad("more than one dilation") }
          config["dilation"] = .int(try positive(String(d), "dilation"))
        } else if let p = Padding1D(rawValue: extra.lowercased()) {
          guard config["padding"] == nil else { throw bad("more than one padding") }
          config["padding"] = .string(p.rawValue)
        } else if let a = ActivationFunction(rawValue: extra.lowercased()) {
          guard config["activation"] == nil else { throw bad("more than one activation") }
          config["activation"] = .string(a.rawValue)
        } else {
          throw bad(
            "'\(extra)' is not a dilation (integer), an activation (\(ActivationFunction.allCases.map(\.rawValue).joined(separator: ", "))) "
              + "or a padding (valid, same, causal)")
        }
      }
      return LayerSpec(kind: "conv1d", config: config)
    case "maxpool":
      try count(0...1, "maxpool[:K]")
      return LayerSpec(kind: "max_pooling1d", config: ["poolSize": .int(args.isEmpty ? 2 : try positive(args[0], "pool size"))])
    case "dropout":
      try count(1...1, "dropout:RATE")
      guard let rate = Double(args[0]), rate >= 0, rate < 1 else { throw bad("rate must be a number in [0, 1), got '\(args[0])'") }
      return LayerSpec(kind: "dropout", config: ["rate": .double(rate)])
    case "embedding":
      try count(2...3, "embedding:VOCABULARY:DIMENSION[:mask]")
      var config: JSONObject = [
        "vocabularySize": .int(try positive(args[0], "vocabulary size")), "dimension": .int(try positive(args[1], "dimension")),
      ]
      if args.count == 3 {
        guard args[2].lowercased() == "mask" else { throw bad("the third argument can only be 'mask' (id 0 is padding), got '\(args[2])'") }
        config["maskIndex"] = .int(0)
      }
      return LayerSpec(kind: "embedding", config: config)
    case "globalavg", "globalmax", "flatten", "layernorm":
      args = args.filter { !$0.isEmpty }
      guard args.isEmpty else { throw bad("\(kind) takes no arguments") }
      let name = ["globalavg": "global_average_pooling1d", "globalmax": "global_max_pooling1d", "flatten": "flatten",
                  "layernorm": "layer_normalization"][kind]!
      return LayerSpec(kind: name)
    default:
      throw bad("unknown layer '\(parts[0])' (known: \(kinds.joined(separator: ", ")))")
    }
  }
}
