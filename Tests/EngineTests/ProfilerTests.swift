import Testing
@testable import Engine

@Suite struct ProfilerTests {
    /// A conv → batch norm → ReLU → matmul graph, forward and backward, as one recorded body.
    @Test func kindsLayersAndExclusiveTime() {
        var rng = Xoshiro(seed: 3)
        let x = Tensor.normal([2, 3, 4, 10, 10], using: &rng)
        let w = Tensor.normal([8, 3, 3, 3, 3], using: &rng, requiresGrad: true)
        let head = Tensor.normal([8, 5], using: &rng, requiresGrad: true)
        let profile = Profiler.record {
            let y = conv(x, weight: w, stride: [1, 2, 2], padding: [1])
            let z = batchNorm(y, runningMean: nil, runningVar: nil, weight: nil, bias: nil, training: true).relu()
            let pooled = globalAvgPool(z)
            matmul(pooled, head).sum().backward()
        }
        let kinds = Set(profile.totals.keys)
        for kind in [OpKind.convForward, .convBackwardWeight, .norm, .elementwise, .pooling, .gemm, .allocation] {
            #expect(kinds.contains(kind), "missing \(kind)")
        }
        // x needs no gradient, so there is no backward-data pass.
        #expect(!kinds.contains(.convBackwardData))
        #expect(profile.totals[.convForward]?.calls == 1)
        // Exclusive times never add up to more than the wall time; `other` holds the rest.
        let claimed = profile.totals.values.reduce(0) { $0 + $1.seconds }
        #expect(claimed <= profile.wallSeconds * 1.0001)
        #expect(profile.rows.contains { $0.kind == .other })
        #expect(abs(profile.rows.reduce(0) { $0 + $1.seconds } - profile.wallSeconds) < 1e-6)

        // Output [2, 8, 4, 5, 5]: 2 FLOPs × 400 positions × 8 channels × 3·27 taps, per pass.
        let convFLOPs = 2 * 2 * 8 * 4 * 5 * 5 * 3 * 27
        let forward = profile.layers.filter { $0.kind == .convForward }
        #expect(forward.count == 1)
        #expect(forward.first?.flops == convFLOPs)
        #expect(forward.first?.detail == "x [2, 3, 4, 10, 10] w [8, 3, 3, 3, 3] stride 1,2,2 pad 1,1,1")
        #expect(profile.layers.first { $0.kind == .convBackwardWeight }?.flops == convFLOPs)
        #expect(profile.layers.first { $0.kind == .gemm }?.flops == 2 * 2 * 8 * 5)
        #expect(profile.slowestLayers(2).count == 2)
        #expect(profile.slowestLayers().allSatisfy { $0.seconds > 0 && $0.gflopsPerSecond > 0 })

        // Named ops: the forward ReLU once, its backward rule once (the kernel it runs inside counts
        // as the rule, not as a second "relu"), and batch norm forward and backward.
        #expect(profile.named["relu"]?.calls == 1)
        #expect(profile.named["relu backward"]?.calls == 1)
        #expect(profile.named["batchNorm"]?.kind == .norm)
        #expect(profile.named["batchNorm backward"]?.calls == 1)
        #expect(profile.named["relu backward"].map { $0.seconds <= profile.wallSeconds } == true)
        #expect(profile.costliestOps(3).count == 3)
    }

    @Test func inputGradientIsBackwardData() {
        var rng = Xoshiro(seed: 4)
        let x = Tensor.normal([1, 2, 6, 6], using: &rng, requiresGrad: true)
        let w = Tensor.normal([3, 2, 3, 3], using: &rng)
        let profile = Profiler.record { conv(x, weight: w, padding: [1]).sum().backward() }
        #expect(profile.totals[.convBackwardData]?.calls == 1)
        #expect(profile.totals[.convBackwardWeight] == nil)
    }

    /// Attention made of GEMMs counts as attention, not as GEMM.
    @Test func attentionKeepsItsGEMMs() {
        var rng = Xoshiro(seed: 5)
        let q = Tensor.normal([2, 4, 8], using: &rng), k = Tensor.normal([2, 6, 8], using: &rng), v = Tensor.normal([2, 6, 8], using: &rng)
        let profile = Profiler.record { _ = scaledDotProductAttention(q, k, v) }
        #expect(profile.totals[.attention]?.calls == 1)
        #expect(profile.totals[.gemm] == nil)
        #expect(profile.layers.first?.flops == 2 * 2 * 4 * 6 * (8 + 8))
    }

    @Test func nothingIsRecordedOutsideRecord() {
        let inner = Profiler.record {}
        _ = conv(Tensor.ones([1, 1, 4, 4]), weight: Tensor.ones([1, 1, 2, 2]))
        #expect(inner.totals.isEmpty && inner.layers.isEmpty)
    }
}
