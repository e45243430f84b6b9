// libFuzzer entry: the NPY reader and its conversions.

func fuzzNPY(_ bytes: [UInt8]) {
  guard let array = try? NPYArray(bytes: bytes, source: "fuzz.npy") else { return }
  _ = array.tensor(as: Float.self)
  _ = try? array.integers(source: "fuzz.npy")
  _ = try? NPYArray(bytes: array.serialized(), source: "round trip")
}
