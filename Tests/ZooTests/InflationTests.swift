import Engine
import Foundation
import NN
import Testing
@testable import Zoo

@Suite struct InflationTests {
    /// A 2D ResNet-50 (¼ width, one segment) with non-trivial weights and statistics.
    func imageNet() -> ResNet2D {
        var c = ResNet2D.Config()
        c.segments = 1; c.width = 16; c.classes = 10
        var rng = Xoshiro(seed: 4)
        let model = ResNet2D(c, using: &rng).eval()
        ParityFill.fill(model)
        return model
    }

    func threeD(_ name: String) throws -> SlowResNet {
        try #require(ModelZoo.preset(named: name).build(classes: 10) as? SlowResNet).eval()
    }

    @Test(arguments: ["slow_r50_tiny", "i3d_r50_tiny"])
    func centreInflationReproducesTheImageNetworkOnABoringClip(_ name: String) throws {
        let image = imageNet(), video = try threeD(name)
        let left = try Inflation.inflate(Dictionary(uniqueKeysWithValues: image.stateDict()), into: video, mode: .centre)
        #expect(left.allSatisfy { $0.hasSuffix("num_batches_tracked") }, "not inflated: \(left)")
        let frame = ParityFill.input([1, 3, 1, 64, 64])
        let clip = frame.repeated([1, 1, 8, 1, 1])          // one frame, eight times
        let (f2, f3) = GradMode.noGrad { (image.features(frame), video.features(clip)) }
        #expect(f2.shape == f3.shape)
        let worst = zip(f2.scalars, f3.scalars).map { abs($0 - $1) }.max() ?? 1
        #expect(worst < 1e-4, "largest feature difference \(worst)")
        // The classifier has the same shape, so it is copied too: the logits agree as well.
        let (l2, l3) = GradMode.noGrad { (image(frame), video(clip)) }
        #expect(zip(l2.scalars, l3.scalars).allSatisfy { abs($0 - $1) < 1e-3 })
    }

    @Test func meanInflationSpreadsEachKernelOverTime() throws {
        let image = imageNet(), video = try threeD("i3d_r50_tiny")
        try Inflation.inflate(Dictionary(uniqueKeysWithValues: image.stateDict()), into: video, mode: .mean)
        let w2 = image.conv1.weight, w3 = video.stemConv.weight          // 7×7 → 5×7×7
        #expect(w3.shape == [16, 3, 5, 7, 7])
        // Each temporal slice is w/5, so the slices add back to the 2D kernel.
        let summed = w3.sum(axis: 2)
        #expect(zip(summed.scalars, w2.scalars).allSatisfy { abs($0 - $1) < 1e-6 })
        #expect(abs(w3.data[0] - w2.data[0] / 5) < 1e-7)
        // Batch-norm statistics are copied as they are.
        #expect(video.stemNorm.runningVar!.scalars == image.bn1.runningVar!.scalars)
    }

    @Test func aMissingKeyIsNamed() throws {
        var state = Dictionary(uniqueKeysWithValues: imageNet().stateDict())
        state["layer2.0.conv2.weight"] = nil
        #expect(throws: Inflation.Error.missingKey("layer2.0.conv2.weight", for: "blocks.3.res_blocks.0.branch2.conv_b.weight")) {
            try Inflation.inflate(state, into: try threeD("i3d_r50_tiny"))
        }
    }
}
