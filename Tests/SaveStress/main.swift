// A helper for AtomicSaveKillTests: saves checkpoints to one path in a loop until it is killed.
//
//     rnn-save-stress PATH [FIRST_GENERATION]
//
// Generation g is a Dense(256) model for [100] inputs (25 856 parameters, 101 KB) whose
// parameter i is 1000 g + (i mod 997), saved with metadata
// "generation" = g. AtomicSaveKillTests.expectedWeights(generation:count:) is the check.
import Foundation
import Recurrent

let arguments = CommandLine.arguments
guard arguments.count >= 2 else {
  FileHandle.standardError.write(Data("usage: rnn-save-stress PATH [FIRST_GENERATION]\n".utf8))
  exit(64)
}
let url = URL(fileURLWithPath: arguments[1])
var generation = arguments.count >= 3 ? Int(arguments[2]) ?? 1 : 1
let model = Sequential<Float>(seed: 0) { Dense(units: 256) }
try model.build(inputShape: [100])
let pattern = (0..<model.store.count).map { Float($0 % 997) }
while true {
  let base = Float(1000 * generation)
  model.store.params = pattern.map { base + $0 }
  try model.save(to: url, metadata: ["generation": "\(generation)"])
  generation += 1
}
