import Engine
import Foundation
import Testing
import NN
@testable import Zoo

/// Logit parity with the reference implementations on deterministic weights and input
/// (fixtures from Tests/Fixtures/make_zoo_parity_fixture.py).
@Suite struct ZooParityTests {
    static let referenced = ["r3d_18", "mc3_18", "r2plus1d_18", "r2plus1d_34", "tsn_r18", "tsn_r50", "tsm_r50",
                             "tsn_r18_flow", "tsn_r50_flow", "c3d",
                             "slow_r50", "c2d_r50", "i3d_r50", "slowfast_r50"]

    @Test(arguments: referenced)
    func keysShapesAndLogitsMatchTheReference(_ name: String) throws {
        let fixture = try #require(try ParityFixture.load(name), "no parity fixture for \(name)")
        let model = try ModelZoo.preset(named: name).build().eval()
        fixture.checkLayout(of: model)
        ParityFill.fill(model)
        let x = ParityFill.input(fixture.input_shape)
        var output: Tensor?
        let flops = Double(FLOPs.count { output = model(x) }.total)
        // FLOPs from shapes, one multiply-add each, agree with fvcore's total within 1%.
        #expect(abs(flops - fixture.fvcore_flops) <= 0.01 * fixture.fvcore_flops, "\(name): \(flops) FLOPs, fvcore \(fixture.fvcore_flops)")
        let logits = try #require(output).scalars
        #expect(logits.count == fixture.logits.count)
        let scale = fixture.logits.map(abs).max() ?? 1
        for (i, (a, e)) in zip(logits, fixture.logits).enumerated() where abs(a - e) > 1e-3 * max(abs(e), scale * 1e-2) {
            Issue.record("\(name): logit \(i) is \(a), reference \(e)")
            break
        }
    }
}
