// The libFuzzer entry point shared by every target: Scripts/fuzz.sh builds one binary from all
// Recurrent sources and the files in Fuzz/ (one module, so internal API is reachable), and
// selects the target with RECURRENT_FUZZ_TARGET (safetensors, npy, csv, wav, model_json).
// FuzzRegressionTests replays Fuzz/regressions/TARGET/ through the same calls.
import Foundation

nonisolated(unsafe) private var selectedTarget: (([UInt8]) -> Void)?

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  if selectedTarget == nil {
    let name = ProcessInfo.processInfo.environment["RECURRENT_FUZZ_TARGET"] ?? ""
    switch name {
    case "safetensors": selectedTarget = fuzzSafetensors
    case "npy": selectedTarget = fuzzNPY
    case "csv": selectedTarget = fuzzCSV
    case "wav": selectedTarget = fuzzWAV
    case "model_json": selectedTarget = fuzzModelJSON
    default:
      fputs("set RECURRENT_FUZZ_TARGET to safetensors, npy, csv, wav or model_json (got '\(name)')\n", stderr)
      exit(64)
    }
  }
  let bytes = size == 0 || data == nil ? [] : Array(UnsafeBufferPointer(start: data, count: size))
  selectedTarget!(bytes)
  return 0
}
