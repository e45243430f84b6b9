// libFuzzer entry: the model-architecture JSON (as stored in a checkpoint's metadata), then
// what the checkpoint loader does with it before any tensor is compared: the parameter plan,
// and building the model (bounded as the loader bounds it by the file).

func fuzzModelJSON(_ bytes: [UInt8]) {
  guard let text = String(validating: bytes, as: UTF8.self),
    let architecture = try? ModelArchitecture(json: text, source: "fuzz.json")
  else { return }
  _ = architecture.json.description
  guard let plan = (try? architecture.partialParameterPlan(source: "fuzz.json"))?.plan else { return }
  // The loader builds only after the file's tensors matched the plan (or, for an incomplete
  // plan, held at least its parameters), so the file bounds the weights: mimic a 1 MB file.
  let total = plan.values.reduce(0) { $0 &+ $1.reduce(1, &*) }
  guard total >= 0, total <= 1 << 18 else { return }
  _ = try? architecture.makeModel(Float.self, source: "fuzz.json")
}
