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
