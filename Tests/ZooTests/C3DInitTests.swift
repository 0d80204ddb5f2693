import Engine
import Foundation
import Testing
import NN
@testable import Zoo

/// C3D starts as MMAction2's does: He-normal convolutions (fan-out, ReLU), N(0, 0.005²) fc6 and
/// fc7, N(0, 0.01²) fc8, zero biases. With batch norm it takes MMAction2's ConvModule keys.
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

    @Test func batchNormLayout() throws {
        var config = C3D.Config()
        config.classes = 4; config.width = 0.25; config.hidden = 32; config.size = 32
        var rng = Xoshiro(seed: 3)
        let plain = C3D(config, using: &rng)
        let plainKeys = Set(plain.stateDict().map(\.0))
        #expect(plainKeys.contains("conv1a.weight") && plainKeys.contains("conv5b.bias"))
        #expect(!plainKeys.contains { $0.contains(".bn.") })

        config.batchNorm = true
        let normed = C3D(config, using: &rng)
        let keys = Set(normed.stateDict().map(\.0))
        for name in C3D.names {
            #expect(keys.isSuperset(of: ["\(name).conv.weight", "\(name).bn.weight", "\(name).bn.bias",
                                         "\(name).bn.running_mean", "\(name).bn.running_var"]))
            #expect(!keys.contains("\(name).conv.bias"), "a conv before a batch norm has no bias")
        }
        // Each conv drops its bias and gains weight, bias, running_mean, running_var, num_batches_tracked.
        #expect(keys.count == plainKeys.count - 8 + 8 * 5)

        // Training-mode batch norm makes each channel of each conv zero-mean before its ReLU, so
        // about half of conv1a's outputs are positive whatever the input's offset.
        let x = Tensor.normal([2, 3, 16, 32, 32], mean: 5, std: 1, using: &rng)
        let y = normed.norms[0](normed.convs[0](x))
        let positive = y.scalars.filter { $0 > 0 }.count
        #expect(abs(Double(positive) / Double(y.count) - 0.5) < 0.05)
        let out = normed(x)
        #expect(out.shape == [2, 4])
    }
}
