import Engine
import Foundation
import Testing
import NN
@testable import Zoo

/// C3D starts as MMAction2's does: He-normal convolutions (fan-out, ReLU), N(0, 0.005²) fc6 and
/// fc7, N(0, 0.01²) fc8, zero biases.
@Suite struct C3DInitTests {
    static func moments(_ t: Tensor) -> (mean: Double, std: Double) {
        let v = t.scalars.map(Double.init)
        let mean = v.reduce(0, +) / Double(v.count)
        return (mean, (v.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(v.count)).squareRoot())
    }

    @Test func weightsFollowMMAction2() throws {
        let model = try #require(try ModelZoo.preset(named: "c3d_tiny").build(classes: 10, seed: 1) as? C3D)
        for conv in model.convs {
            let w = conv.weight, fanOut = Double(w.shape[0] * 27)
            let (mean, std) = Self.moments(w)
            // A sample standard deviation of n values is off by about 1/√(2n): allow four times that.
            let tolerance = max(0.03, 4 / Double(2 * w.count).squareRoot())
            #expect(abs(std / (2 / fanOut).squareRoot() - 1) < tolerance, "\(w.shape): std \(std)")
            #expect(abs(mean) < 0.1 * std)
            #expect(conv.bias?.scalars.allSatisfy { $0 == 0 } ?? true)
        }
        for (fc, expected) in [(model.fc6, 0.005), (model.fc7, 0.005), (model.head.fc, 0.01)] {
            let (_, std) = Self.moments(fc.weight)
            #expect(abs(std / expected - 1) < 0.05, "\(fc.weight.shape): std \(std)")
            #expect(fc.bias?.scalars.allSatisfy { $0 == 0 } ?? true)
        }
    }
}
