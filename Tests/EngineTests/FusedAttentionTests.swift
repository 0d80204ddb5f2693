import Foundation
import Testing
@testable import Engine

@Suite struct FusedAttentionTests {
    /// The composed reference: qkv [G, L, 3E] split into per-head q, k, v [G, heads, L, D], then
    /// `scaledDotProductAttention`, heads concatenated back to [G, L, E].
    static func composed(_ qkv: Tensor, heads: Int) -> Tensor {
        let g = qkv.shape[0], l = qkv.shape[1], e = qkv.shape[2] / 3
        let parts = qkv.reshaped([g, l, 3, heads, e / heads]).permuted([2, 0, 3, 1, 4])  // [3, G, heads, L, D]
        let (q, k, v) = (parts.sliced(axis: 0, start: 0, end: 1).squeezed(0),
                         parts.sliced(axis: 0, start: 1, end: 2).squeezed(0),
                         parts.sliced(axis: 0, start: 2, end: 3).squeezed(0))
        return scaledDotProductAttention(q, k, v).permuted([0, 2, 1, 3]).reshaped([g, l, e])
    }

    @Test func matchesHandComputation() {
        // One head, D = 1, two tokens: q = (1, 1), k = (1, 0), v = (10, 20). Both queries score
        // (1, 0), so both outputs are 10·p + 20·(1 − p) with p = e/(e + 1).
        let qkv = Tensor([1, 1, 10,
                          1, 0, 20], shape: [1, 2, 3])
        let p = Float(M_E / (M_E + 1))
        expectClose(fusedAttention(qkv, heads: 1).scalars, [10 * p + 20 * (1 - p), 10 * p + 20 * (1 - p)])
        // An explicit scale of 0 gives uniform weights: the mean of v.
        expectClose(fusedAttention(qkv, heads: 1, scale: 0).scalars, [15, 15])
    }

    @Test(arguments: [(1, 1, 4, 1), (3, 5, 12, 3), (2, 17, 32, 4), (4, 8, 24, 2)])
    func matchesTheComposedAttention(_ c: (groups: Int, tokens: Int, dim: Int, heads: Int)) {
        let qkv = randomTensor([c.groups, c.tokens, 3 * c.dim], seed: UInt64(c.tokens * 31 + c.dim), low: -2, high: 2)
        let fused = fusedAttention(qkv, heads: c.heads)
        #expect(fused.shape == [c.groups, c.tokens, c.dim])
        expectClose(fused.scalars, Self.composed(qkv, heads: c.heads).scalars, abs: 1e-5, rel: 1e-4, "\(c)")
    }

    @Test func gradientsMatchFiniteDifferences() {
        let qkv = randomTensor([2, 5, 3 * 6], seed: 211)
        gradCheck([qkv], eps: 1e-2, tolerance: 2e-2, samples: 60, "fused attention") { fusedAttention($0[0], heads: 2) }
        let scaled = randomTensor([3, 4, 3 * 4], seed: 212)
        gradCheck([scaled], samples: 40, "fused attention, scale 0.7") { fusedAttention($0[0], heads: 1, scale: 0.7) }
    }

    @Test func gradientsMatchTheComposedAttention() {
        let x = randomTensor([3, 7, 3 * 8], seed: 213)
        let y = randomTensor([3, 7, 8], seed: 214)
        x.requiresGrad = true
        (fusedAttention(x, heads: 2) * y).sum().backward()
        let fused = x.grad!.scalars
        x.grad = nil
        (Self.composed(x, heads: 2) * y).sum().backward()
        expectClose(fused, x.grad!.scalars, abs: 1e-5, rel: 1e-4, "dqkv")
    }

    @Test func countsBothProducts() {
        let qkv = Tensor.zeros([6, 10, 3 * 16])
        let counted = FLOPs.count { _ = fusedAttention(qkv, heads: 4) }
        // Q·Kᵀ and P·V per (group, head): 2 · L · L · D.
        #expect(counted.byOperator == ["attention": 6 * 4 * 2 * 10 * 10 * 4])
        let dry = FLOPs.count(dryRun: true) { _ = fusedAttention(qkv, heads: 4) }
        #expect(dry.byOperator == counted.byOperator)
    }

    @Test func largeGroupsRunInParallelAndAgree() {
        // Enough slices to split across workers; the result must not depend on the split.
        let qkv = randomTensor([64, 9, 3 * 12], seed: 215)
        let all = fusedAttention(qkv, heads: 3).scalars
        let serial = Parallel.serially { fusedAttention(qkv, heads: 3).scalars }
        #expect(all == serial)
    }
}
