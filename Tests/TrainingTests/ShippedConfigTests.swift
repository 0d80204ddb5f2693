import Clips
import Engine
import Foundation
import Testing
import Video
import Zoo
@testable import Training
@testable import Inference

/// The job configs shipped in Models/configs (one per full-size zoo preset, with the reference
/// recipes): each loads through its `_base_` chain, names a zoo preset and validates, and its
/// clips are what the preset takes.
@Suite struct ShippedConfigTests {
    /// The repository: this file is Tests/TrainingTests/ShippedConfigTests.swift.
    static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let folder = repository.appendingPathComponent("Models/configs")

    /// Every `*.yaml` under Models/configs outside `_base_/`, as paths relative to the folder, sorted.
    static let configs: [String] = {
        guard let walk = FileManager.default.enumerator(atPath: folder.path) else { return [] }
        return walk.compactMap { $0 as? String }
            .filter { $0.hasSuffix(".yaml") && !$0.split(separator: "/").contains("_base_") }
            .sorted()
    }()

    static func load(_ name: String) throws -> JobConfig {
        try ConfigLoader.load(folder.appendingPathComponent(name).path)
    }

    @Test func theFolderHoldsConfigs() {
        #expect(!Self.configs.isEmpty, "no job configs found under \(Self.folder.path)")
    }

    @Test func everyFullSizePresetHasOne() {
        let names = Set(Self.configs)
        // Two-stream presets are not trained by one job: their streams are (`motive two-stream`).
        for preset in ModelZoo.presets where !preset.name.hasSuffix("_tiny") && preset.input.modality != .twoStream {
            #expect(names.contains("\(preset.name).yaml"), "Models/configs/\(preset.name).yaml is missing")
        }
    }

    @Test(arguments: ShippedConfigTests.configs) func loadsAndValidates(_ name: String) throws {
        let config = try Self.load(name)
        let preset = try ModelZoo.preset(named: config.model.preset)
        try ConfigLoader.validate(config)
        #expect(name == "\(preset.name).yaml", "\(name) trains \(preset.name)")
        #expect(!preset.name.hasSuffix("_tiny"))
        #expect(config.model.classes == 400)
        #expect(config.output.dir == "runs/\(preset.name)")
    }

    /// Checkpoints record the preset's input and evaluation samples by it, so training clips follow
    /// it too: the sampler, the normalisation and the train crop size, on frames of any shape.
    @Test(arguments: ShippedConfigTests.configs) func clipsMatchThePresetInput(_ name: String) throws {
        let config = try Self.load(name)
        let input = try ModelZoo.preset(named: config.model.preset).input
        let sampler = try #require(config.data.sampler)
        #expect(sampler.clipLength == input.clipLength && sampler.frameInterval == input.frameInterval
                && sampler.clipCount == input.clips && !sampler.testMode)
        let normalization = Normalization(input.normalization)
        let train = try #require(config.data.trainPipeline)
        let test = try #require(config.data.testPipeline)
        #expect(train.normalization == normalization && test.normalization == normalization)
        var rng = Xoshiro(seed: 7)
        for (width, height) in [(340, 256), (256, 340), (320, 240)] {
            let clip = FrameStack(count: 2, height: height, width: width,
                                  pixels: [UInt8](repeating: 128, count: 2 * height * width * 3))
            for _ in 0..<6 {
                let views = train.views(clip, using: &rng)
                #expect(views.count == 1 && views[0].width == input.size && views[0].height == input.size,
                        "\(width)×\(height) trains on \(views.map { "\($0.width)×\($0.height)" })")
            }
            let views = test.views(clip, using: &rng)
            #expect(views.count == config.eval.crops, "\(views.count) test crops, eval.crops is \(config.eval.crops)")
            #expect(Set(views.map { [$0.width, $0.height] }).count == 1)
        }
    }
}
