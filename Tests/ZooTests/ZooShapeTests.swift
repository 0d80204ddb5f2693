import Foundation
import Engine
import Testing
import NN
@testable import Zoo

@Suite struct ZooShapeTests {
    /// Every preset builds and maps a small clip to [N, classes]; tiny presets run at their own input.
    @Test(arguments: ModelZoo.presets.map(\.name))
    func logitsHaveTheRightShape(_ name: String) throws {
        let preset = try ModelZoo.preset(named: name)
        let model = preset.build(classes: 7).eval()
        var shape = preset.input.shape
        shape[0] = 2
        if !name.hasSuffix("_tiny") && !name.hasPrefix("c3d") { shape[3] = 64; shape[4] = 64 }
        if name.hasPrefix("slowfast") && !name.hasSuffix("_tiny") { shape[2] = 16 }
        let y = GradMode.noGrad { model(ParityFill.input(shape)) }
        #expect(y.shape == [2, 7])
        let finite = y.scalars.allSatisfy { $0.isFinite }
        #expect(finite)
    }

    @Test func unknownNamesSuggestTheNearest() {
        #expect(throws: ZooError.unknownPreset("r2plus1d18", suggestion: "r2plus1d_18")) { try ModelZoo.preset(named: "r2plus1d18") }
    }

    @Test func tinyModelsTrainOneStep() throws {
        let model = try ModelZoo.preset(named: "r2plus1d_18_tiny").build(classes: 3)
        let x = ParityFill.input([2, 3, 8, 32, 32])
        let loss = crossEntropy(model(x), targets: [0, 2])
        loss.backward()
        let allGradients = model.parameters().allSatisfy { $0.grad != nil }
        #expect(allGradients)
    }
}

@Suite struct ZooCheckpointTests {
    @Test func safetensorsRoundTripGivesTheSameLogits() throws {
        let preset = try ModelZoo.preset(named: "tsm_r50_tiny")
        let a = preset.build(seed: 1).eval(), b = preset.build(seed: 2).eval()
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("motive-zoo-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try a.saveSafetensors(to: url)
        try b.loadSafetensors(from: url)
        let x = ParityFill.input(preset.input.shape)
        let (ya, yb) = GradMode.noGrad { (a(x), b(x)) }
        #expect(ya.scalars == yb.scalars)
    }

    @Test func dryRunCountsTheSameFLOPs() throws {
        let model = try ModelZoo.preset(named: "r2plus1d_18_tiny").build().eval()
        let x = ParityFill.input([1, 3, 8, 64, 64])
        let real = FLOPs.count { _ = model(x) }, dry = FLOPs.count(dryRun: true) { _ = model(x) }
        #expect(real.byOperator == dry.byOperator && real.total > 0)
    }
}

@Suite struct SlowFastTests {
    @Test func slowFramesFollowPackPathway() {
        #expect(SlowFast.slowIndices(frames: 32, alpha: 4) == [0, 4, 8, 13, 17, 22, 26, 31])
        #expect(SlowFast.slowIndices(frames: 32, alpha: 8) == [0, 10, 20, 31])
    }
}

@Suite struct OnlineTSMTests {
    /// Streaming frame by frame equals running the clip at once with a past-only shift.
    @Test func streamingMatchesThePastOnlyClip() throws {
        let model = try #require(ModelZoo.preset(named: "tsm_r50_tiny").build(classes: 5) as? ResNet2D).eval()
        ParityFill.fill(model)
        let k = 4
        let clip = ParityFill.input([1, 3, k, 48, 48])
        let frames = clip.permuted([0, 2, 1, 3, 4]).reshaped([k, 3, 48, 48])
        // Offline: every block's branch sees the past-only shift over the K frames.
        let offline: Tensor = GradMode.noGrad {
            var y = maxPool(model.bn1(model.conv1(frames)).relu(), kernel: [3, 3], stride: [2, 2], padding: [1, 1])
            for stage in model.stages {
                for block in stage.blocks { y = block.forward(y, branchInput: temporalShift(y, segments: k, pastOnly: true)) }
            }
            return model.head(globalAvgPool(y), training: false)
        }
        let stream = OnlineTSM(model)
        for t in 0..<k {
            let online = stream.step(frames.sliced(axis: 0, start: t, end: t + 1))
            let expected = offline.sliced(axis: 0, start: t, end: t + 1)
            let worst = zip(online.scalars, expected.scalars).map { abs($0 - $1) }.max()!
            #expect(worst < 1e-4, "frame \(t): difference \(worst)")
        }
        // After a reset the first frame again sees zeros as its past.
        stream.reset()
        let again = stream.step(frames.sliced(axis: 0, start: 0, end: 1))
        #expect(zip(again.scalars, offline.sliced(axis: 0, start: 0, end: 1).scalars).allSatisfy { abs($0 - $1) < 1e-4 })
    }
}

/// Every preset accepts its own input shape at the model boundary, and a wrong one is a typed error.
@Suite struct ModelInputCheckTests {
    @Test func presetsAcceptTheirInputAndRefuseOthers() throws {
        for preset in ModelZoo.presets where preset.name.hasSuffix("_tiny") {
            let model = preset.build(classes: 2)
            let shape = preset.input.shape
            #expect(throws: Never.self, "\(preset.name)") { try model.check(input: Tensor.zeros(shape)) }
            var wrongChannels = shape
            wrongChannels[1] += 1
            #expect(throws: ModelInputError.self, "\(preset.name)") { try model.check(input: Tensor.zeros(wrongChannels)) }
            #expect(throws: ModelInputError.self, "\(preset.name)") { try model.check(input: Tensor.zeros(Array(shape.dropFirst()))) }
        }
        let tsn = try ModelZoo.preset(named: "tsn_r18_tiny")
        var shape = tsn.input.shape
        shape[2] += 1                                             // one segment too many
        #expect(throws: ModelInputError.self) { try tsn.build(classes: 2).check(input: Tensor.zeros(shape)) }
    }

    /// Shapes other than the preset's (`motive flops --input`) are checked by what each
    /// architecture needs; each refused one stopped the process in an engine check before.
    @Test func otherShapesAreCheckedByArchitecture() throws {
        func check(_ name: String, _ t: Int, _ side: Int, channels: Int = 3) throws -> Bool {
            let preset = try ModelZoo.preset(named: name)
            do {
                try preset.build(classes: 2).check(input: Tensor.zeros([1, channels, t, side, side]))
                return true
            } catch { return false }
        }
        #expect(try check("r2plus1d_18_tiny", 32, 112) && check("r2plus1d_18_tiny", 1, 1))
        #expect(try check("slowfast_r50_tiny", 32, 64) && !check("slowfast_r50_tiny", 17, 64))
        #expect(try check("i3d_r50_tiny", 2, 64) && !check("i3d_r50_tiny", 1, 64) && check("slow_r50_tiny", 1, 64))
        #expect(try !check("c3d_tiny", 16, 96) && !check("timesformer_tiny", 16, 64))
        #expect(try !check("two_stream_tsn_tiny", 5, 64, channels: 13) && check("two_stream_tsn_tiny", 4, 64, channels: 13))
        // Before any tensor is made: channels, rank and size.
        let preset = try ModelZoo.preset(named: "r2plus1d_18_tiny")
        #expect(throws: Never.self) { try preset.checkInput([1, 3, 64, 224, 224]) }
        #expect(throws: ZooError.self) { try preset.checkInput([1, 100_000, 1, 1, 1]) }
        #expect(throws: ZooError.self) { try preset.checkInput([1, 3, 1000, 1000, 1000]) }
        #expect(throws: ZooError.self) { try preset.checkInput([1, 3, Int.max / 2, 4, 4]) }
        #expect(throws: ZooError.self) { try preset.checkInput([1, 3, 16, 112]) }
    }
}
