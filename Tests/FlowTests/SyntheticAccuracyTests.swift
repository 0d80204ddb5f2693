import Foundation
import Testing
@testable import Flow

/// TV-L1 with default parameters recovers known motions of a textured scene. Pixels within
/// `margin` of an edge are left out: there the second frame shows content the first never had.
@Suite struct SyntheticAccuracyTests {
    static let width = 160, height = 120, margin = 12
    static let scene = SyntheticScene(seed: 20_130_726)

    struct Motion: Sendable, CustomStringConvertible {
        let name: String
        let a: (Double, Double, Double, Double)
        let t: (Double, Double)
        var description: String { name }
    }

    static let motions: [Motion] = {
        let angle = 3 * Double.pi / 180
        return [
            Motion(name: "translation (2.3, −1.6)", a: (1, 0, 0, 1), t: (2.3, -1.6)),
            Motion(name: "rotation 3°", a: (cos(angle), -sin(angle), sin(angle), cos(angle)), t: (0, 0)),
            Motion(name: "zoom 1.04", a: (1.04, 0, 0, 1.04), t: (0, 0)),
        ]
    }()

    @Test(arguments: motions)
    func recoversMotion(_ motion: Motion) throws {
        let (a, b, truth) = try Self.scene.pair(width: Self.width, height: Self.height, a: motion.a, t: motion.t)
        let flow = try TVL1().flow(from: a, to: b)
        let epe = flow.meanEndPointError(to: truth, margin: Self.margin)
        let zero = try FlowField(width: Self.width, height: Self.height, u: .init(repeating: 0, count: a.pixels.count),
                                 v: .init(repeating: 0, count: a.pixels.count))
        let still = zero.meanEndPointError(to: truth, margin: Self.margin)
        print("synthetic \(motion): mean EPE " + String(format: "%.4f", epe) + " px (true mean |flow| "
              + String(format: "%.2f", still) + " px)")
        #expect(epe <= 0.25, "\(motion): mean EPE \(epe) px exceeds 0.25 px")
        #expect(still > 1, "\(motion): the motion is too small (\(still) px) for the bound to mean anything")
    }

    @Test func identicalFramesGiveZeroFlow() throws {
        let a = try Self.scene.render(width: 64, height: 48) { ($0, $1) }
        let flow = try TVL1().flow(from: a, to: a)
        #expect(flow.u.allSatisfy { $0 == 0 } && flow.v.allSatisfy { $0 == 0 })
    }
}
