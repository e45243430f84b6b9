// swift-tools-version:6.0
import PackageDescription

let package = Package(
  name: "Recurrent",
  products: [
    // MARK: - Public API
    .library(name: "Recurrent", targets: ["Recurrent"]),
    .library(name: "RecurrentONNX", targets: ["RecurrentONNX"]),
    .executable(name: "rnn", targets: ["rnn"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
  ],
  targets: [
    // MARK: - Public API
    .target(
      name: "Recurrent",
      dependencies: ["CRecurrentKernels"]
    ),
    // ONNX export in its own target, so `import Recurrent` does not pull in SwiftProtobuf.
    // Sources/RecurrentONNX/Generated/onnx.pb.swift is generated from Scripts/onnx/onnx.proto
    // by Scripts/generate-onnx-swift.sh and committed (no build plugin).
    .target(
      name: "RecurrentONNX",
      dependencies: ["Recurrent", .product(name: "SwiftProtobuf", package: "swift-protobuf")]
    ),
    .executableTarget(
      name: "rnn",
      dependencies: [
        "Recurrent",
        "RecurrentONNX",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]
    ),

    // The README's "Training a model in Swift" example: `swift run -c release TrainSine`.
    .executableTarget(
      name: "TrainSine",
      dependencies: ["Recurrent"],
      path: "Examples/TrainSine"
    ),

    // MARK: - Implementation details
    // C kernels: GEMM micro-kernels and vector math with AVX2+FMA variants chosen at run time
    // (cpuid) and a portable fallback. No unsafeFlags: the ISA is selected per function with
    // __attribute__((target("avx2,fma"))), so the package stays usable as a dependency.
    .target(
      name: "CRecurrentKernels",
      linkerSettings: [.linkedLibrary("pthread", .when(platforms: [.linux]))]
    ),

    // MARK: - Tests
    .target(
      name: "RecurrentTestSupport",
      dependencies: ["Recurrent"],
      path: "Tests/RecurrentTestSupport"
    ),
    .testTarget(
      name: "RecurrentTests",
      dependencies: ["Recurrent", "RecurrentTestSupport", "CRecurrentKernels"],
      resources: [.copy("Fixtures")]
    ),
    .testTarget(
      name: "RecurrentONNXTests",
      dependencies: ["RecurrentONNX", "Recurrent"],
      resources: [.copy("Fixtures")]
    ),
    .testTarget(
      name: "rnnTests",
      dependencies: ["rnn", "Recurrent", "RecurrentONNX", "rnn-save-stress"]
    ),
    // Saves checkpoints in a loop until killed (AtomicSaveKillTests).
    .executableTarget(
      name: "rnn-save-stress",
      dependencies: ["Recurrent"],
      path: "Tests/SaveStress"
    ),
  ]
)
