import Engine
import Foundation
import Testing
import NN
@testable import Zoo

/// The temporal stream starts from RGB weights: conv1's kernels averaged over R, G and B and
/// repeated for each of the 2L flow channels; everything else loads as it is.
@Suite struct CrossModalityTests {
    @Test func kernelsAreAveragedOverColourAndRepeated() {
        // [2, 3, 1, 2]: output o, colour c, position p holds 100·o + 10·c + p.
        var values: [Float] = []
        for o in 0..<2 { for c in 0..<3 { for p in 0..<2 { values.append(Float(100 * o + 10 * c + p)) } } }
        let rgb = Tensor(values, shape: [2, 3, 1, 2])
        let flow = ResNet2D.crossModality(rgb, channels: 4)
        #expect(flow.shape == [2, 4, 1, 2])
        // Mean over c of 10·c is 10.
        #expect(flow.scalars == [10, 11, 10, 11, 10, 11, 10, 11, 110, 111, 110, 111, 110, 111, 110, 111])
    }

    @Test func anRGBCheckpointStartsTheFlowStream() throws {
        let rgb = try #require(try ModelZoo.preset(named: "tsn_r18_tiny").build(seed: 1).eval() as? ResNet2D)
        let flow = try #require(try ModelZoo.preset(named: "tsn_r18_flow_tiny").build(seed: 2).eval() as? ResNet2D)
        try flow.loadStateDict(Self.dict(rgb), strict: true)
        let own = Self.dict(flow), source = Self.dict(rgb)
        let expected = ResNet2D.crossModality(try #require(source["conv1.weight"]), channels: 10)
        #expect(own["conv1.weight"]?.shape == [16, 10, 7, 7])
        #expect(own["conv1.weight"]?.scalars == expected.scalars)
        for (key, t) in source where key != "conv1.weight" { #expect(own[key]?.scalars == t.scalars, "\(key)") }
        // A flow stack whose ten planes all equal one grey image g gives conv1 ten times the mean
        // kernel's response, which is 10/3 of the RGB model's response to the colour image (g, g, g).
        let grey = ParityFill.input([1, 1, 4, 64, 64])
        let a = GradMode.noGrad { flow.conv1(grey.expanded(to: [1, 10, 4, 64, 64]).permuted([0, 2, 1, 3, 4]).reshaped([4, 10, 64, 64])) }
        let b = GradMode.noGrad { rgb.conv1(grey.expanded(to: [1, 3, 4, 64, 64]).permuted([0, 2, 1, 3, 4]).reshaped([4, 3, 64, 64])) }
        let worst = zip(a.scalars, b.scalars).map { abs($0 - $1 * 10 / 3) }.max() ?? 0
        #expect(worst < 1e-4, "largest difference \(worst)")
    }

    @Test func flowModelsKeepTheirOwnFirstConvolution() throws {
        let a = try ModelZoo.preset(named: "tsn_r18_flow_tiny").build(seed: 1)
        let b = try ModelZoo.preset(named: "tsn_r18_flow_tiny").build(seed: 2)
        try b.loadStateDict(Self.dict(a), strict: true)
        #expect(Self.dict(b)["conv1.weight"]?.scalars == Self.dict(a)["conv1.weight"]?.scalars)
        // An RGB model is never fed a flow model's conv1.
        let rgb = try ModelZoo.preset(named: "tsn_r18_tiny").build()
        #expect(throws: (any Error).self) { try rgb.loadStateDict(Self.dict(a), strict: true) }
    }

    static func dict(_ model: VideoModel) -> [String: Tensor] {
        Dictionary(model.stateDict().map { ($0.0, $0.1) }, uniquingKeysWith: { a, _ in a })
    }
}
