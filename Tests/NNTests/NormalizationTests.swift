import Engine
import Testing
@testable import NN

@Suite struct BatchNormTests {
    /// [N=2, C=2, 3]: channel 0 holds 1…6 (mean 3.5, biased var 17.5/6, unbiased 3.5),
    /// channel 1 holds 0,0,0,2,2,2 (mean 1, biased var 1, unbiased 1.2).
    private let x = Tensor([1, 2, 3, 0, 0, 0, 4, 5, 6, 2, 2, 2], shape: [2, 2, 3])

    @Test func trainingUsesBatchStatsAndMovesRunningStats() {
        let bn = BatchNorm(2)
        let y = bn(x)
        let s0 = 1 / (17.5 / 6 + 1e-5 as Float).squareRoot(), s1 = 1 / (1 + 1e-5 as Float).squareRoot()
        expectClose(y.scalars, [-2.5 * s0, -1.5 * s0, -0.5 * s0, -s1, -s1, -s1, 0.5 * s0, 1.5 * s0, 2.5 * s0, s1, s1, s1])
        expectClose(bn.runningMean!.scalars, [0.35, 0.1])
        expectClose(bn.runningVar!.scalars, [0.9 + 0.35, 0.9 + 0.12])
        #expect(bn.numBatchesTracked!.item == 1)
        _ = bn(x)
        expectClose(bn.runningMean!.scalars, [0.9 * 0.35 + 0.35, 0.9 * 0.1 + 0.1])
        expectClose(bn.runningVar!.scalars, [0.9 * 1.25 + 0.35, 0.9 * 1.02 + 0.12])
        #expect(bn.numBatchesTracked!.item == 2)
    }

    @Test func evalUsesRunningStatsAndLeavesThem() {
        let bn = BatchNorm(2)
        bn.runningMean!.assign(Tensor([1, -1], shape: [2]))
        bn.runningVar!.assign(Tensor([4, 0.25], shape: [2]))
        bn.weight!.assign(Tensor([2, 1], shape: [2]))
        bn.bias!.assign(Tensor([0, 0.5], shape: [2]))
        bn.eval()
        let y = bn(x)
        let a = 2 / (4 + 1e-5 as Float).squareRoot(), b = 1 / (0.25 + 1e-5 as Float).squareRoot()
        expectClose(y.scalars, [0, a, 2 * a, 0.5 + b, 0.5 + b, 0.5 + b, 3 * a, 4 * a, 5 * a, 0.5 + 3 * b, 0.5 + 3 * b, 0.5 + 3 * b])
        #expect(bn.runningMean!.scalars == [1, -1])
        #expect(bn.runningVar!.scalars == [4, 0.25])
        #expect(bn.numBatchesTracked!.item == 0)
    }

    @Test func cumulativeAverageWithoutMomentum() {
        let bn = BatchNorm(2, momentum: nil)
        _ = bn(x)
        expectClose(bn.runningMean!.scalars, [3.5, 1])
        expectClose(bn.runningVar!.scalars, [3.5, 1.2])
        _ = bn(x * 3)
        // Second batch with factor 1/2: the average of the two batches' statistics.
        expectClose(bn.runningMean!.scalars, [(3.5 + 10.5) / 2, (1 + 3) / 2], tolerance: 1e-4)
        expectClose(bn.runningVar!.scalars, [(3.5 + 31.5) / 2, (1.2 + 10.8) / 2], tolerance: 1e-4)
    }

    @Test func anyRankAndNoRunningStats() {
        var rng = Xoshiro(seed: 9)
        let video = Tensor.normal([2, 3, 2, 4, 4], mean: 5, std: 2, using: &rng)
        let bn = BatchNorm(3, affine: false, trackRunningStats: false)
        #expect(bn.stateDict().isEmpty)
        bn.eval()
        // Without running statistics evaluation still normalises with the batch's.
        let y = bn(video)
        #expect(y.shape == [2, 3, 2, 4, 4])
        let m = y.mean(axes: [0, 2, 3, 4]).scalars
        expectClose(m, [0, 0, 0], tolerance: 1e-4)
    }

    @Test func gradientsReachWeightAndBias() {
        let bn = BatchNorm(2)
        (bn(x) * Tensor([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], shape: [2, 2, 3])).sum().backward()
        // dβ = Σ dy per channel.
        expectClose(bn.bias!.grad!.scalars, [1 + 2 + 3 + 7 + 8 + 9, 4 + 5 + 6 + 10 + 11 + 12])
        #expect(bn.weight!.grad != nil)
    }
}

@Suite struct LayerNormTests {
    @Test func normalisesTrailingAxes() {
        let ln = LayerNorm([2, 2])
        #expect(ln.stateDict().map(\.0) == ["weight", "bias"])
        ln.weight!.fill(2)
        ln.bias!.fill(1)
        let y = ln(Tensor([1, 2, 3, 4, 0, 0, 0, 8], shape: [2, 2, 2]))
        // Row 1: mean 2.5, var 1.25; row 2: mean 2, var 12.
        let s = 1 / (1.25 + 1e-5 as Float).squareRoot(), t = 1 / (12 + 1e-5 as Float).squareRoot()
        expectClose(y.scalars, [1 - 3 * s, 1 - s, 1 + s, 1 + 3 * s, 1 - 4 * t, 1 - 4 * t, 1 - 4 * t, 1 + 12 * t])
    }
}

@Suite struct DropoutTests {
    @Test func dropsInTrainingOnly() {
        let drop = Dropout(p: 0.5, seed: 1)
        let x = Tensor.ones([1000])
        let y = drop(x).scalars
        #expect(y.allSatisfy { $0 == 0 || $0 == 2 })
        let kept = y.filter { $0 == 2 }.count
        #expect(kept > 400 && kept < 600)
        drop.eval()
        #expect(drop(x) === x)
    }
}
