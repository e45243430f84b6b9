import ArgumentParser
import Recurrent

/// The `rnn` command: recurrent networks from the terminal.
@main
struct RNNCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "rnn",
    abstract: "Recurrent neural networks (SimpleRNN, LSTM, GRU): check, train and inspect them.",
    version: "0.1.0",
    subcommands: [
      Gradcheck.self, Info.self, Bench.self, Demo.self, Train.self, Sample.self, Predict.self, Evaluate.self,
      Forward.self, Features.self, Inspect.self, Import.self, Export.self,
    ],
    defaultSubcommand: nil
  )
}

/// Options every subcommand that computes shares.
struct ComputeOptions: ParsableArguments {
  @Option(name: .long, help: "Threads the kernels may use (default: all cores).")
  var threads: Int?

  func validate() throws {
    if let threads, threads < 1 || threads > 256 {
      throw ValidationError("--threads must be between 1 and 256, got \(threads)")
    }
  }

  func apply() {
    if let threads { ComputeSettings.threadCount = threads }
  }
}

/// `rnn info`: what the kernels run on.
struct Info: ParsableCommand {
  static let configuration = CommandConfiguration(abstract: "Show the instruction set and thread count the kernels use.")

  func run() throws {
    print("instruction set: \(ComputeSettings.activeInstructionSet)")
    print("threads:         \(ComputeSettings.threadCount)")
  }
}
