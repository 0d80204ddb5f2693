import Testing
import Foundation
@testable import Engine

@Suite struct ElementwiseTests {
    @Test func broadcastingArithmetic() {
        let a = Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3])
        let b = Tensor([10, 20, 30], shape: [3])
        let c = Tensor([100, 200], shape: [2, 1])
        expectClose((a + b).scalars, [11, 22, 33, 14, 25, 36])
        expectClose((a - c).scalars, [-99, -98, -97, -196, -195, -194])
        expectClose((a * c).scalars, [100, 200, 300, 800, 1000, 1200])
        expectClose((b / a).scalars, [10, 10, 10, 2.5, 4, 5])
        expectClose((a * 2 + 1).scalars, [3, 5, 7, 9, 11, 13])
        #expect((b + c).shape == [2, 3])
        expectClose((-a).scalars, [-1, -2, -3, -4, -5, -6])
        // A middle broadcast dim: [2, 1, 3] + [1, 2, 1].
        let x = Tensor([1, 2, 3, 4, 5, 6], shape: [2, 1, 3]), y = Tensor([10, 20], shape: [1, 2, 1])
        expectClose((x + y).scalars, [11, 12, 13, 21, 22, 23, 14, 15, 16, 24, 25, 26])
    }

    @Test func largeBroadcastMatchesLoop() {
        // Big enough to run on several workers.
        let a = randomTensor([8, 64, 300], seed: 1), b = randomTensor([64, 1], seed: 2)
        let c = a * b
        var expected = [Float](repeating: 0, count: a.count)
        for i in 0..<8 { for j in 0..<64 { for k in 0..<300 { expected[(i * 64 + j) * 300 + k] = a.data[(i * 64 + j) * 300 + k] * b.data[j] } } }
        expectClose(c.scalars, expected)
    }

    @Test func pointwiseValues() {
        let x = Tensor([-2, -0.5, 0, 1, 3], shape: [5])
        expectClose(x.relu().scalars, [0, 0, 0, 1, 3])
        expectClose(x.abs().scalars, [2, 0.5, 0, 1, 3])
        expectClose(x.exp().scalars, [0.13533528, 0.60653066, 1, 2.7182818, 20.085537])
        expectClose(x.sigmoid().scalars, [0.11920292, 0.37754067, 0.5, 0.7310586, 0.95257413])
        expectClose(x.tanh().scalars, [-0.9640276, -0.46211716, 0, 0.7615942, 0.9950548])
        // GELU(x) = x·Φ(x); Φ(1) = 0.8413447, Φ(−2) = 0.0227501.
        expectClose(x.gelu().scalars, [-0.04550026, -0.15426877, 0, 0.8413447, 2.9959502])
        expectClose(x.gelu(approximate: .tanh).scalars, [-0.04540231, -0.15428599, 0, 0.8411920, 2.9963627])
        let p = Tensor([1, 4, 9], shape: [3])
        expectClose(p.sqrt().scalars, [1, 2, 3])
        expectClose(p.log().scalars, [0, 1.3862944, 2.1972246])
        expectClose(p.pow(0.5).scalars, [1, 2, 3])
        expectClose(p.pow(Tensor([2, 0.5, 0], shape: [3])).scalars, [1, 2, 1])
        // Sigmoid stays finite far out.
        expectClose(Tensor([-100, 100], shape: [2]).sigmoid().scalars, [0, 1], abs: 1e-30)
    }

    @Test func arithmeticGradients() {
        let a = randomTensor([3, 4], seed: 3), b = randomTensor([4], seed: 4, low: 0.5, high: 2)
        gradCheck([a, b], "add") { $0[0] + $0[1] }
        gradCheck([a, b], "sub") { $0[0] - $0[1] }
        gradCheck([a, b], "mul") { $0[0] * $0[1] }
        gradCheck([a, b], "div") { $0[0] / $0[1] }
        let c = randomTensor([3, 1], seed: 5)
        gradCheck([c, b], "outer broadcast") { $0[0] * $0[1] }
        gradCheck([a], "neg") { -$0[0] }
        let pos = randomTensor([2, 3], seed: 6, low: 0.5, high: 2), ex = randomTensor([2, 3], seed: 8, low: -1, high: 2)
        gradCheck([pos, ex], "pow tensor") { $0[0].pow($0[1]) }
        gradCheck([pos], "pow scalar") { $0[0].pow(2.5) }
        gradCheck([a], "expand") { $0[0].reshaped([3, 1, 4]).expanded(to: [3, 2, 4]) }
    }

    /// GELU's vectorisable erf and exp against libm on a dense grid, far tails, zero and NaN.
    @Test func geluMatchesLibmAcrossTheLine() {
        let xs = (0...40_000).map { Float($0 - 20_000) / 1000 } + [-1e30, -87.5, -40, 40, 1e30, 0, -0.0, 1e-30, -1e-30]
        var worst: Float = 0, worstGrad: Float = 0
        for x in xs {
            let cdf = 0.5 * (1 + Double(Foundation.erf(Double(x) / 2.0.squareRoot())))
            let value = Double(x) * cdf
            let slope = cdf + Double(x) * Foundation.exp(-0.5 * Double(x) * Double(x)) / (2 * Double.pi).squareRoot()
            worst = Swift.max(worst, Float(Swift.abs(Double(GeluK.apply(x)) - value) / Swift.max(1, Swift.abs(Double(x)))))
            worstGrad = Swift.max(worstGrad, Float(Swift.abs(Double(GeluGradK.apply(1, x)) - slope)))
        }
        #expect(worst < 3e-7, "GELU: worst error \(worst) relative to max(1, |x|)")
        #expect(worstGrad < 1e-6, "GELU gradient: worst absolute error \(worstGrad)")
        #expect(GeluK.apply(.nan).isNaN && GeluGradK.apply(1, .nan).isNaN)
        #expect(expOfNonPositive(0) == 1 && expOfNonPositive(-200) < 2e-38 && expOfNonPositive(.nan).isNaN)
    }

    @Test func pointwiseGradients() {
        let x = awayFromZero([2, 5], seed: 11)
        gradCheck([x], "exp") { $0[0].exp() }
        gradCheck([x], "abs") { $0[0].abs() }
        gradCheck([x], "relu") { $0[0].relu() }
        gradCheck([x], "sigmoid") { $0[0].sigmoid() }
        gradCheck([x], "tanh") { $0[0].tanh() }
        gradCheck([x], "gelu") { $0[0].gelu() }
        gradCheck([x], "gelu tanh") { $0[0].gelu(approximate: .tanh) }
        let p = randomTensor([2, 5], seed: 12, low: 0.5, high: 3)
        gradCheck([p], "log") { $0[0].log() }
        gradCheck([p], "sqrt") { $0[0].sqrt() }
    }
}
