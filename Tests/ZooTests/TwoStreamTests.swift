import Engine
import Foundation
import Testing
import NN
@testable import Zoo

/// Late fusion: the two-stream model is its two TSNs side by side, scores weighted 1 : 1.5.
@Suite struct TwoStreamTests {
    static func dict(_ model: Module) -> [String: Tensor] {
        Dictionary(model.stateDict().map { ($0.0, $0.1) }, uniquingKeysWith: { a, _ in a })
    }

    @Test func itIsItsStreamsFused() throws {
        let model = try #require(try ModelZoo.preset(named: "two_stream_tsn_tiny").build(classes: 5, seed: 3).eval() as? TwoStream)
        let rgb = try ModelZoo.preset(named: "tsn_r18_tiny").build(classes: 5).eval()
        let flow = try ModelZoo.preset(named: "tsn_r18_flow_tiny").build(classes: 5).eval()
        // The streams' keys are their TSN keys under rgb. and flow.
        let own = Self.dict(model)
        #expect(Set(own.keys) == Set(Self.dict(rgb).keys.map { "rgb." + $0 } + Self.dict(flow).keys.map { "flow." + $0 }))
        try rgb.loadStateDict(Dictionary(own.filter { $0.key.hasPrefix("rgb.") }.map { (String($0.key.dropFirst(4)), $0.value) }, uniquingKeysWith: { a, _ in a }))
        try flow.loadStateDict(Dictionary(own.filter { $0.key.hasPrefix("flow.") }.map { (String($0.key.dropFirst(5)), $0.value) }, uniquingKeysWith: { a, _ in a }))

        let x = ParityFill.input([2, 13, 4, 64, 64])
        let (a, b) = (x.sliced(axis: 1, start: 0, end: 3), x.sliced(axis: 1, start: 3, end: 13))
        let (ra, fb) = GradMode.noGrad { (rgb(a), flow(b)) }
        let fused = GradMode.noGrad { model(x) }
        #expect(fused.shape == [2, 5])
        let expected = zip(ra.scalars, fb.scalars).map { $0 + 1.5 * $1 }
        #expect(zip(fused.scalars, expected).allSatisfy { abs($0 - $1) <= 1e-5 * max(1, abs($1)) })

        model.fusion = TwoStream.Fusion(rgbWeight: 2, flowWeight: 1, softmax: true)
        let soft = GradMode.noGrad { model(x) }
        let (pa, pb) = (ra.softmax(axis: 1).scalars, fb.softmax(axis: 1).scalars)
        #expect(zip(soft.scalars, zip(pa, pb).map { 2 * $0 + $1 }).allSatisfy { abs($0 - $1) <= 1e-5 })
        // Fused softmax scores of weights 2 and 1 sum to 3 per clip.
        #expect(abs(soft.scalars[0..<5].reduce(0, +) - 3) < 1e-4)
    }

    @Test func twoStreamPresetsPairTheirStreams() {
        #expect(ModelZoo.twoStreamPreset(rgb: "tsn_r50", flow: "tsn_r50_flow")?.name == "two_stream_tsn_r50")
        #expect(ModelZoo.twoStreamPreset(rgb: "tsn_r18_tiny", flow: "tsn_r18_flow_tiny")?.name == "two_stream_tsn_tiny")
        #expect(ModelZoo.twoStreamPreset(rgb: "tsm_r50", flow: "tsn_r50_flow") == nil)
        let input = try? ModelZoo.preset(named: "two_stream_tsn_r50").input
        #expect(input?.channels == 13 && input?.modality == .twoStream && input?.shape == [1, 13, 3, 224, 224])
    }
}
