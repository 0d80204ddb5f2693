import Engine
import Foundation
import Testing
@testable import NN

@Suite struct MultiheadAttentionTests {
    @Test func keysShapesAndInit() {
        var rng = Xoshiro(seed: 20)
        let mha = MultiheadAttention(embedDim: 8, heads: 2, using: &rng)
        #expect(mha.stateDict().map(\.0) == ["in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"])
        #expect(mha.inProjWeight.shape == [24, 8])
        #expect(mha.inProjBias!.scalars.allSatisfy { $0 == 0 } && mha.outProj.bias!.scalars.allSatisfy { $0 == 0 })
        let xavierBound = (6 / Float(8 + 24)).squareRoot()
        #expect(mha.inProjWeight.scalars.allSatisfy { abs($0) <= xavierBound })
    }

    /// Cross-attention compared with the composition written out in scalar loops.
    @Test func matchesHandComposition() {
        var rng = Xoshiro(seed: 21)
        let e = 4, heads = 2, d = 2, n = 2, l = 2, s = 3
        let mha = MultiheadAttention(embedDim: e, heads: heads, using: &rng)
        Init.normal(mha.inProjBias!, std: 0.5, using: &rng)
        Init.normal(mha.outProj.bias!, std: 0.5, using: &rng)
        let query = Tensor.normal([n, l, e], using: &rng)
        let key = Tensor.normal([n, s, e], using: &rng)
        let value = Tensor.normal([n, s, e], using: &rng)
        // Block query 1 from key 0 in every batch and head.
        let mask = Tensor([0, 0, 0, -.infinity, 0, 0], shape: [l, s])
        let y = mha(query: query, key: key, value: value, mask: mask)
        #expect(y.shape == [n, l, e])

        let w = mha.inProjWeight.scalars, b = mha.inProjBias!.scalars
        let wo = mha.outProj.weight.scalars, bo = mha.outProj.bias!.scalars
        func project(_ x: Tensor, _ batch: Int, _ pos: Int, block: Int) -> [Float] {
            let len = x.shape[1]
            return (0..<e).map { o in
                let row = block * e + o
                var acc = b[row]
                for i in 0..<e { acc += w[row * e + i] * x.scalars[(batch * len + pos) * e + i] }
                return acc
            }
        }
        var expected: [Float] = []
        for bi in 0..<n {
            for qi in 0..<l {
                let q = project(query, bi, qi, block: 0)
                var concat = [Float](repeating: 0, count: e)
                for h in 0..<heads {
                    var scores = (0..<s).map { si -> Float in
                        let k = project(key, bi, si, block: 1)
                        var dot: Float = 0
                        for j in 0..<d { dot += q[h * d + j] * k[h * d + j] }
                        return dot / Float(d).squareRoot() + mask.scalars[qi * s + si]
                    }
                    let top = scores.max()!
                    scores = scores.map { Foundation.exp($0 - top) }
                    let total = scores.reduce(0, +)
                    for si in 0..<s {
                        let v = project(value, bi, si, block: 2)
                        for j in 0..<d { concat[h * d + j] += scores[si] / total * v[h * d + j] }
                    }
                }
                for o in 0..<e {
                    var acc = bo[o]
                    for i in 0..<e { acc += wo[o * e + i] * concat[i] }
                    expected.append(acc)
                }
            }
        }
        expectClose(y.scalars, expected, tolerance: 1e-5)
    }

    @Test func selfAttentionIsCallableAsALayerAndTrains() {
        var rng = Xoshiro(seed: 22)
        let mha = MultiheadAttention(embedDim: 4, heads: 1, using: &rng)
        let x = Tensor.normal([1, 3, 4], using: &rng)
        let y = mha(x)
        expectClose(y.scalars, mha(query: x, key: x, value: x).scalars)
        y.sum().backward()
        #expect(mha.parameters().allSatisfy { $0.grad != nil })
        // A causal mask makes the first output depend on the first token only.
        let causal = mha(query: x, key: x, value: x, isCausal: true)
        let first = mha(query: x.sliced(axis: 1, start: 0, end: 1), key: x.sliced(axis: 1, start: 0, end: 1),
                        value: x.sliced(axis: 1, start: 0, end: 1))
        expectClose(Array(causal.scalars.prefix(4)), first.scalars)
    }
}
