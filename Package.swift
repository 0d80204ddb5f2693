// swift-tools-version: 6.0
// Motive: video action recognition in Swift. Targets depend one way only:
// C shims → Engine (tensors, autograd) → TensorIO (weight files) → NN (modules, optimizers);
// CFFmpeg → Video (decode, encode) → Clips (samplers, transforms, datasets), Synth (generated
// datasets); NN → Zoo (video models); Clips, Zoo → Training (job configs) → motive (CLI).
import PackageDescription

let package = Package(
    name: "Motive",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "Engine", targets: ["Engine"]),
        .library(name: "NN", targets: ["NN"]),
        .library(name: "Video", targets: ["Video"]),
        .library(name: "Clips", targets: ["Clips"]),
        .executable(name: "motive", targets: ["motive"]),
        .executable(name: "motive-bench", targets: ["motive-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CFFmpeg", path: "Sources/CFFmpeg", pkgConfig: "libavformat",
                       providers: [.apt(["libavformat-dev", "libavcodec-dev", "libswscale-dev", "libavutil-dev"])]),
        .target(name: "Engine", dependencies: ["COpenBLAS"]),
        .target(name: "TensorIO", dependencies: ["Engine"]),
        .target(name: "NN", dependencies: ["Engine", "TensorIO"]),
        .target(name: "Video", dependencies: ["CFFmpeg"]),
        .target(name: "Clips", dependencies: ["Video", "Engine"]),
        .target(name: "Synth", dependencies: ["Video", "Engine"]),
        .target(name: "Zoo", dependencies: ["Engine", "NN", "TensorIO"]),
        .target(name: "Training", dependencies: ["Engine", "NN", "TensorIO", "Video", "Clips", "Zoo", "Yams"]),
        .executableTarget(name: "motive", dependencies: [
            "Engine", "TensorIO", "NN", "Video", "Clips", "Synth", "Zoo", "Training", "Yams",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "motive-bench", dependencies: [
            "Engine", "NN", "Video", "Clips",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .testTarget(name: "EngineTests", dependencies: ["Engine"]),
        .testTarget(name: "TensorIOTests", dependencies: ["TensorIO"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "NNTests", dependencies: ["NN"]),
        .testTarget(name: "CFFmpegTests", dependencies: ["CFFmpeg"]),
        .testTarget(name: "VideoTests", dependencies: ["Video"]),
        .testTarget(name: "ClipsTests", dependencies: ["Clips"], resources: [.copy("Fixtures")]),
        .testTarget(name: "SynthTests", dependencies: ["Synth"]),
        .testTarget(name: "ZooTests", dependencies: ["Zoo"], resources: [.copy("Fixtures")]),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "Synth"]),
    ],
    swiftLanguageModes: [.v6]
)
