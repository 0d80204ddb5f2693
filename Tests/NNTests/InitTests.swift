import Engine
import Foundation
import Testing
@testable import NN

@Suite struct InitTests {
    // A conv-like weight [out, in, k] = [256, 128, 3]: fan-in 384, fan-out 768.
    private let shape = [256, 128, 3]

    @Test func fansAndGains() {
        let conv = Init.fans([256, 128, 3]), fc = Init.fans([10, 20])
        #expect(conv.fanIn == 384 && conv.fanOut == 768)
        #expect(fc.fanIn == 20 && fc.fanOut == 10)
        expectClose(Nonlinearity.relu.gain, Float(2).squareRoot())
        expectClose(Nonlinearity.leakyReLU(slope: 0.2).gain, (2 / 1.04 as Float).squareRoot())
        expectClose(Nonlinearity.tanh.gain, 5 / 3)
    }

    @Test func kaimingNormalStd() {
        var rng = Xoshiro(seed: 10)
        let fanIn = Init.kaimingNormal(Tensor.zeros(shape), using: &rng)
        let (m, s) = moments(fanIn)
        #expect(abs(m) < 0.002)
        #expect(abs(s / (2.0 / 384).squareRoot() - 1) < 0.02)
        let fanOut = Init.kaimingNormal(Tensor.zeros(shape), mode: .fanOut, nonlinearity: .linear, using: &rng)
        #expect(abs(moments(fanOut).std / (1.0 / 768).squareRoot() - 1) < 0.02)
    }

    @Test func kaimingUniformBounds() {
        var rng = Xoshiro(seed: 11)
        let t = Init.kaimingUniform(Tensor.zeros(shape), using: &rng)
        let bound = Float(2).squareRoot() * (3 / Float(384)).squareRoot()
        #expect(t.scalars.allSatisfy { abs($0) <= bound })
        #expect(t.scalars.max()! > 0.99 * bound && t.scalars.min()! < -0.99 * bound)
        #expect(abs(moments(t).std / (Double(bound) / 3.0.squareRoot()) - 1) < 0.02)
    }

    @Test func xavierStd() {
        var rng = Xoshiro(seed: 12)
        let std = (2.0 / (384 + 768)).squareRoot()
        #expect(abs(moments(Init.xavierNormal(Tensor.zeros(shape), using: &rng)).std / std - 1) < 0.02)
        let u = Init.xavierUniform(Tensor.zeros(shape), gain: 2, using: &rng)
        #expect(u.scalars.allSatisfy { abs($0) <= Float(2 * 3.0.squareRoot() * std) })
        #expect(abs(moments(u).std / (2 * std) - 1) < 0.02)
    }

    @Test func truncatedNormalBoundsAndMean() {
        var rng = Xoshiro(seed: 13)
        let t = Init.truncatedNormal(Tensor.zeros([100_000]), mean: 0, std: 1, a: -1, b: 2, using: &rng)
        #expect(t.scalars.allSatisfy { $0 >= -1 && $0 <= 2 })
        // The mean of N(0, 1) truncated to [−1, 2] is (φ(−1) − φ(2)) / (Φ(2) − Φ(−1)).
        func pdf(_ x: Double) -> Double { exp(-x * x / 2) / (2 * Double.pi).squareRoot() }
        func cdf(_ x: Double) -> Double { (1 + erf(x / 2.0.squareRoot())) / 2 }
        let expected = (pdf(-1) - pdf(2)) / (cdf(2) - cdf(-1))
        #expect(abs(moments(t).mean - expected) < 0.01)
        // ViT-style: std 0.02 with the default bounds ±2 (absolute, so they never bind).
        let vit = Init.truncatedNormal(Tensor.zeros([50_000]), std: 0.02, using: &rng)
        #expect(abs(moments(vit).std / 0.02 - 1) < 0.02)
        // Bounds at ±1 std cut the std to ≈ 0.5396.
        let narrow = Init.truncatedNormal(Tensor.zeros([100_000]), std: 0.5, a: -0.5, b: 0.5, using: &rng)
        #expect(narrow.scalars.allSatisfy { abs($0) <= 0.5 })
        #expect(abs(moments(narrow).std / (0.5 * 0.5396) - 1) < 0.02)
    }

    @Test func inverseErfInvertsErf() {
        for y in [-0.999999, -0.9, -0.3, 0, 0.1, 0.5, 0.99, 0.9999] {
            #expect(abs(erf(inverseErf(y)) - y) < 1e-12)
        }
    }

    @Test func deterministicGivenSeed() {
        var a = Xoshiro(seed: 42), b = Xoshiro(seed: 42)
        #expect(Init.kaimingNormal(Tensor.zeros([4, 4]), using: &a).scalars == Init.kaimingNormal(Tensor.zeros([4, 4]), using: &b).scalars)
        #expect(Linear(3, 3, using: &a).weight.scalars == Linear(3, 3, using: &b).weight.scalars)
        #expect(Init.constant(Tensor.zeros([3]), 0.5).scalars == [0.5, 0.5, 0.5])
    }
}
