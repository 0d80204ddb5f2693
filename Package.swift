// swift-tools-version: 6.0
// Motive: video action recognition in Swift. Targets depend one way only:
// CPUFeatures (what the CPU offers; built for the baseline target), Support (atomic files,
// parallel-for, stop flags, line readers) and Specs (closed sets shared by Zoo and Clips) → C shims → Engine (tensors, autograd) → TensorIO (weight files) → NN (modules,
// optimizers) → Zoo (video models); CFFmpeg → Video (decode, encode) → Clips (samplers,
// transforms, datasets), Synth (generated datasets); Flow (TV-L1 optical flow); Clips, Zoo →
// Inference (checkpoints, the one predict path, evaluation) → Training (job configs, the trainer)
// → Distributed (training over MPI: CMPI) and Benchmark (accuracy against FLOPs against measured speed) → Server (the daemon) → motive (CLI).
// Protos (message types generated from ONNX's and TensorBoard's .proto files) → Training (TensorBoard event files) and
// ONNX (export: Inference, Protos → ONNX → motive). Clips, Video, CGzip (zlib) → Datasets (archives sent over HTTP, their
// lists and checks) → Server, motive.
import PackageDescription

let package = Package(
    name: "Motive",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "Engine", targets: ["Engine"]),
        .library(name: "NN", targets: ["NN"]),
        .library(name: "Video", targets: ["Video"]),
        .library(name: "Clips", targets: ["Clips"]),
        .library(name: "Flow", targets: ["Flow"]),
        .library(name: "Inference", targets: ["Inference"]),
        .library(name: "Benchmark", targets: ["Benchmark"]),
        .executable(name: "motive", targets: ["motive"]),
        .executable(name: "motive-bench", targets: ["motive-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket", from: "2.8.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/vapor/multipart-kit", from: "4.7.1"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.20"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
    ],
    targets: [
        .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        // Open MPI (Debian's libopenmpi-dev): only Distributed, and the CLI through it, link it.
        .systemLibrary(name: "CMPI", path: "Sources/CMPI", pkgConfig: "ompi-c", providers: [.apt(["libopenmpi-dev"])]),
        .systemLibrary(name: "CFFmpeg", path: "Sources/CFFmpeg", pkgConfig: "libavformat",
                       providers: [.apt(["libavformat-dev", "libavcodec-dev", "libswscale-dev", "libavutil-dev", "libavdevice-dev"])]),
        // zlib (Debian's zlib1g-dev): gzip for dataset archives.
        .systemLibrary(name: "CGzip", path: "Sources/CGzip", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .target(name: "CPUFeatures"),
        // BuildInfoPlugin stamps the git commit into Support (BuildInfo.commit) at every build.
        .target(name: "Support", plugins: ["BuildInfoPlugin"]),
        .plugin(name: "BuildInfoPlugin", capability: .buildTool()),
        .target(name: "Specs"),
        // Message types generated from ONNX's and TensorBoard's .proto files (generate.sh, run by hand).
        .target(name: "Protos", dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")],
                exclude: ["generate.sh"]),
        .target(name: "Engine", dependencies: ["COpenBLAS", "Support", "CPUFeatures"]),
        .target(name: "TensorIO", dependencies: ["Engine", "Support", "ZIPFoundation"]),
        .target(name: "NN", dependencies: ["Engine", "TensorIO"]),
        .target(name: "Video", dependencies: ["CFFmpeg"]),
        .target(name: "Flow", dependencies: ["Support"]),
        .target(name: "Clips", dependencies: ["Video", "Engine", "Flow", "Specs", "Support"]),
        .target(name: "Synth", dependencies: ["Video", "Engine"]),
        .target(name: "Zoo", dependencies: ["Engine", "NN", "TensorIO", "Specs"]),
        .target(name: "Inference", dependencies: ["Engine", "NN", "TensorIO", "Video", "Clips", "Zoo", "Specs", "Support"]),
        .target(name: "Training", dependencies: ["Engine", "NN", "TensorIO", "Video", "Clips", "Flow", "Zoo", "Specs", "Support",
                                                 "Inference", "Protos", "Yams", .product(name: "SwiftProtobuf", package: "swift-protobuf")]),
        // Datasets sent over HTTP: archives (tar, tar.gz, zip) unpacked with care, laid out as lists, checked.
        .target(name: "Datasets", dependencies: ["Clips", "Video", "Support", "CGzip", "ZIPFoundation"]),
        // ONNX export: traces a zoo model's forward pass and writes it as an ONNX graph.
        .target(name: "ONNX", dependencies: ["Engine", "NN", "Zoo", "Clips", "Inference", "Support", "Protos",
                                             .product(name: "SwiftProtobuf", package: "swift-protobuf")]),
        .target(name: "Distributed", dependencies: ["CMPI", "Training", "Support"]),
        .target(name: "Benchmark", dependencies: ["Engine", "NN", "Zoo", "Inference", "Support"]),
        .target(name: "Server", dependencies: [
            "Engine", "NN", "Video", "Clips", "Zoo", "Specs", "Support", "Inference", "Training", "Benchmark", "Datasets",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            .product(name: "_NIOFileSystem", package: "swift-nio"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "MultipartKit", package: "multipart-kit"),
        ]),
        .executableTarget(name: "motive", dependencies: [
            "CPUFeatures", "Engine", "TensorIO", "NN", "Video", "Clips", "Flow", "Synth", "Zoo", "Specs", "Support", "Inference", "Training",
            "Distributed", "Benchmark", "Server", "ONNX", "Datasets", "Yams",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .executableTarget(name: "motive-bench", dependencies: [
            "CPUFeatures", "Engine", "NN", "Video", "Clips", "Flow", "Support", "Zoo", "Benchmark",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .testTarget(name: "SupportTests", dependencies: ["Support", "CPUFeatures"]),
        .testTarget(name: "EngineTests", dependencies: ["Engine"]),
        .testTarget(name: "TensorIOTests", dependencies: ["TensorIO"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "NNTests", dependencies: ["NN"]),
        .testTarget(name: "CFFmpegTests", dependencies: ["CFFmpeg"]),
        .testTarget(name: "VideoTests", dependencies: ["Video"]),
        .testTarget(name: "ClipsTests", dependencies: ["Clips", "Support"], resources: [.copy("Fixtures")]),
        .testTarget(name: "SynthTests", dependencies: ["Synth"]),
        .testTarget(name: "FlowTests", dependencies: ["Flow"], resources: [.copy("Fixtures")]),
        .testTarget(name: "ZooTests", dependencies: ["Zoo", "ONNX", "Protos", "Inference"], resources: [.copy("Fixtures")]),
        .testTarget(name: "InferenceTests", dependencies: ["Inference", "Clips", "Zoo"]),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "Inference", "Synth"]),
        .testTarget(name: "DistributedTests", dependencies: ["Distributed", "Training", "Inference", "Synth", "TensorIO"]),
        .testTarget(name: "DatasetsTests", dependencies: ["Datasets", "Clips", "Video", "Synth", "Support"]),
        .testTarget(name: "BenchmarkTests", dependencies: ["Benchmark", "Inference", "Training", "Synth", "Zoo"]),
        .testTarget(name: "ServerTests", dependencies: [
            "Server", "Inference", "Training", "Synth", "Video", "Zoo", "Datasets", "Yams",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdTesting", package: "hummingbird"),
            .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
        ]),
    ],
    swiftLanguageModes: [.v6]
)

// Motive's libraries and tests compile for x86-64 with AVX2 and FMA (the `haswell` feature set:
// Intel Haswell, AMD Zen and every later x86-64 server). Swift's default target is SSE2, which
// runs the hand-written loops (elementwise ops, norms, im2col, Winograd transforms, TV-L1) four
// lanes wide. OpenBLAS picks its own kernels at run time either way. CPUFeatures and the two
// executables stay at the default target, so that `CPUFeatures.requireCompiledFeatures()` can
// refuse an older CPU with a message before any of the other code runs.
#if arch(x86_64)
for target in package.targets where target.name != "CPUFeatures" && (target.type == .regular || target.type == .test) {
    target.swiftSettings = (target.swiftSettings ?? []) + [.unsafeFlags(["-target-cpu", "haswell"])]
}
#endif

// libFuzzer targets, one per parser (Fuzz/<name>, seeds in Tests/Fuzz/<name>), only with
// MOTIVE_FUZZ=1: `make fuzz` builds them with -sanitize=fuzzer,address in .build-fuzz, and other
// builds never see them.
if Context.environment["MOTIVE_FUZZ"] == "1" {
    let parsers: [(name: String, dependencies: [Target.Dependency])] = [
        ("safetensors", ["TensorIO"]), ("torch-zip", ["TensorIO"]), ("unpickler", ["TensorIO"]), ("config", ["Training"]),
        ("multipart", ["Server", .product(name: "NIOCore", package: "swift-nio")]), ("annotations", ["Clips"]),
        ("importers", ["Clips"]), ("flo", ["Flow"]), ("pgm", ["Flow"]), ("video", ["Video"]),
    ]
    package.targets += [
        .systemLibrary(name: "CLibFuzzer", path: "Fuzz/CLibFuzzer"),
        .target(name: "FuzzDriver", dependencies: ["CLibFuzzer"], path: "Fuzz/FuzzDriver"),
    ]
    package.targets += parsers.map { parser in
        .executableTarget(name: "fuzz-\(parser.name)", dependencies: ["FuzzDriver"] + parser.dependencies,
                          path: "Fuzz/\(parser.name)")
    }
}
