// libFuzzer entry: the safetensors reader, then the checkpoint loader on whatever it accepts.
// Built by Scripts/fuzz.sh together with every Recurrent source (one module), so internal
// entry points are reachable.

func fuzzSafetensors(_ bytes: [UInt8]) {
  guard let file = try? SafetensorsFile(bytes: bytes, source: "fuzz.safetensors") else { return }
  for info in file.tensors {
    _ = try? file.doubles(info.name)
    _ = try? file.tensor(info.name, as: Float.self)
  }
  // The loader's path: architecture metadata, parameter plan checked against the file, weights.
  _ = try? Sequential<Float>.model(from: file)
}
