import Testing
import Foundation
@testable import Engine

@Suite struct SoftmaxLossTests {
    @Test func softmaxValuesAndStability() {
        let x = Tensor([1, 2, 3, 1000, 1001, 1002], shape: [2, 3])
        let expected: [Float] = [0.09003057, 0.24472847, 0.66524096]
        expectClose(x.softmax(axis: 1).scalars, expected + expected)
        expectClose(x.logSoftmax(axis: 1).scalars, (expected + expected).map { Foundation.log($0) })
        // Along a middle axis.
        let y = Tensor([1, 3, 2, 4], shape: [1, 2, 2]).softmax(axis: 1)
        expectClose(y.scalars, [0.26894142, 0.26894142, 0.73105858, 0.73105858])
    }

    /// The vectorised row kernel (lengths with and without a vector tail, a masked −∞ entry, wide
    /// logits) against softmax in Double.
    @Test func softmaxRowsMatchDoublePrecision() {
        for n in [1, 7, 8, 9, 197] {
            let x = randomTensor([3, n], seed: UInt64(100 + n), low: -40, high: 40)
            if n > 1 { x.data[n + 1] = -.infinity }
            let y = x.softmax(axis: -1)
            var expected = [Float]()
            for r in 0..<3 {
                let row = (0..<n).map { Double(x.data[r * n + $0]) }
                let m = row.max()!, z = row.map { Foundation.exp($0 - m) }.reduce(0, +)
                expected += row.map { Float(Foundation.exp($0 - m) / z) }
            }
            expectClose(y.scalars, expected, abs: 1e-7, rel: 1e-6, "softmax over \(n)")
        }
    }

    @Test func softmaxGradients() {
        let t = randomTensor([2, 3, 4], seed: 91)
        gradCheck([t], "softmax") { $0[0].softmax(axis: 1) }
        gradCheck([t], "logSoftmax") { $0[0].logSoftmax(axis: -1) }
    }

    @Test func crossEntropyValues() {
        let logits = Tensor([2, 0, 0, 0], shape: [2, 2])
        // Row 0: −log σ(2) = 0.126928; row 1: log 2.
        expectClose([crossEntropy(logits, targets: [0, 1]).item], [(0.126928 + 0.693147) / 2])
        // Smoothing 0.1 over K = 2: targets (0.95, 0.05) and (0.05, 0.95).
        expectClose([crossEntropy(logits, targets: [0, 1], labelSmoothing: 0.1).item], [(0.95 * 0.126928 + 0.05 * 2.126928 + 0.693147) / 2])
        let soft = Tensor([0.5, 0.5, 1, 0], shape: [2, 2])
        expectClose([crossEntropy(logits, softTargets: soft).item], [(0.5 * 0.126928 + 0.5 * 2.126928 + 0.693147) / 2])
    }

    @Test func crossEntropyGradients() {
        let logits = randomTensor([4, 5], seed: 92)
        gradCheck([logits], "ce") { crossEntropy($0[0], targets: [0, 4, 2, 2], labelSmoothing: 0.1).reshaped([1]) }
        let soft = randomTensor([4, 5], seed: 93, low: 0, high: 1)
        gradCheck([logits], "ce soft") { crossEntropy($0[0], softTargets: soft).reshaped([1]) }
        // The gradient of mean CE is (softmax − onehot)/N.
        let l = Tensor([1, 2, 3], shape: [1, 3], requiresGrad: true)
        crossEntropy(l, targets: [2]).backward()
        expectClose(l.grad!.scalars, [0.09003057, 0.24472847, 0.66524096 - 1])
    }

    @Test func dropoutMasksAndScales() {
        var rng = Xoshiro(seed: 5)
        let x = Tensor.ones([10_000], requiresGrad: true)
        let y = x.dropout(p: 0.25, training: true, using: &rng)
        let kept = y.scalars.filter { $0 != 0 }
        #expect(kept.allSatisfy { Swift.abs($0 - 4.0 / 3) < 1e-6 })
        #expect(Swift.abs(Float(kept.count) / 10_000 - 0.75) < 0.02)
        y.sum().backward()
        expectClose(x.grad!.scalars, y.scalars)
        #expect(x.dropout(p: 0.5, training: false, using: &rng) === x)
        // Same seed, same mask.
        var a = Xoshiro(seed: 9), b = Xoshiro(seed: 9)
        #expect(x.dropout(p: 0.5, training: true, using: &a).scalars == x.dropout(p: 0.5, training: true, using: &b).scalars)
    }
}
