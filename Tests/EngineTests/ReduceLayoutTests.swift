import Testing
@testable import Engine

@Suite struct ReduceTests {
    let x = Tensor([1, 5, 3, 4, 2, 6, 0, 8, 7, 9, 10, 11], shape: [2, 3, 2])

    @Test func sumMeanMaxVariance() {
        expectClose(x.sum().scalars, [66])
        expectClose(x.sum(axis: 1).scalars, [6, 15, 17, 28])
        #expect(x.sum(axis: 1, keepDims: true).shape == [2, 1, 2])
        expectClose(x.sum(axes: [0, 2]).scalars, [6 + 8, 7 + 16, 8 + 21])
        expectClose(x.mean(axis: -1).scalars, [3, 3.5, 4, 4, 8, 10.5])
        expectClose(x.max(axis: 1).scalars, [3, 6, 10, 11])
        expectClose(x.max().scalars, [11])
        // Rows (1, 5) and (3, 4): unbiased variances 8 and 0.5; biased 4 and 0.25.
        expectClose(x.variance(axis: 2).scalars.prefix(2).map { $0 }, [8, 0.5])
        expectClose(x.variance(axis: 2, correction: 0).scalars.prefix(2).map { $0 }, [4, 0.25])
        #expect(x.max(axes: [0, 1], keepDims: true).shape == [1, 1, 2])
    }

    @Test func largeReductionMatchesLoop() {
        let t = randomTensor([3, 500, 70], seed: 21)
        let s = t.sum(axes: [0, 2])
        for j in [0, 123, 499] {
            var acc: Float = 0
            for i in 0..<3 { for k in 0..<70 { acc += t.data[(i * 500 + j) * 70 + k] } }
            expectClose([s.data[j]], [acc], abs: 1e-3)
        }
    }

    @Test func gradients() {
        let t = randomTensor([3, 4, 2], seed: 22)
        // Distinct, well-spaced values keep the maxima fixed under the finite-difference step.
        let spaced = Tensor((0..<24).map { Float(($0 * 7) % 24) * 0.1 }, shape: [3, 4, 2])
        gradCheck([t], "sum") { $0[0].sum(axes: [0, 2]) }
        gradCheck([t], "sum keepdims") { $0[0].sum(axis: 1, keepDims: true) }
        gradCheck([t], "mean") { $0[0].mean(axes: [1]) }
        gradCheck([spaced], "max") { $0[0].max(axis: 1) }
        gradCheck([t], "variance") { $0[0].variance(axes: [0, 1]) }
    }

    @Test func maxSharesGradientAmongTies() {
        let t = Tensor([2, 2, 1], shape: [3], requiresGrad: true)
        t.max().backward()
        expectClose(t.grad!.scalars, [0.5, 0.5, 0])
    }
}

@Suite struct LayoutTests {
    let x = Tensor((0..<24).map(Float.init), shape: [2, 3, 4])

    @Test func reshapeAndPermute() {
        #expect(x.reshaped([6, -1]).shape == [6, 4])
        #expect(x.flattened(from: 1).shape == [2, 12])
        #expect(x.unsqueezed(1).shape == [2, 1, 3, 4])
        let p = x.permuted([2, 0, 1])
        #expect(p.shape == [4, 2, 3])
        // p[k, i, j] = x[i, j, k]
        expectClose([p.data[(3 * 2 + 1) * 3 + 2]], [x.data[(1 * 3 + 2) * 4 + 3]])
        let t = x.transposed(0, 2)
        #expect(t.shape == [4, 3, 2])
        expectClose(Array(t.scalars.prefix(4)), [0, 12, 4, 16])
    }

    @Test func sliceConcatSplitPad() {
        expectClose(x.sliced(axis: 2, start: 1, end: 4, step: 2).scalars, [1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23])
        expectClose(x.sliced(axis: 0, start: -1, end: 2).scalars, (12..<24).map(Float.init))
        let parts = x.split(sizes: [1, 2], axis: 1)
        #expect(parts.map(\.shape) == [[2, 1, 4], [2, 2, 4]])
        expectClose(Tensor.concat(parts, axis: 1).scalars, x.scalars)
        let small = Tensor([1, 2, 3, 4], shape: [2, 2])
        expectClose(small.padded([(1, 0), (0, 2)], value: -1).scalars, [-1, -1, -1, -1, 1, 2, -1, -1, 3, 4, -1, -1])
        expectClose(small.repeated([2, 1]).scalars, [1, 2, 3, 4, 1, 2, 3, 4])
        expectClose(small.repeated([1, 2]).scalars, [1, 2, 1, 2, 3, 4, 3, 4])
        #expect(small.repeated([3, 1, 1]).shape == [3, 2, 2])
        expectClose(small.indexSelect(axis: 1, indices: [1, 1, 0]).scalars, [2, 2, 1, 4, 4, 3])
    }

    @Test func gradients() {
        let t = randomTensor([2, 3, 4], seed: 31)
        gradCheck([t], "reshape") { $0[0].reshaped([4, 6]) }
        gradCheck([t], "permute") { $0[0].permuted([1, 2, 0]) }
        gradCheck([t], "slice") { $0[0].sliced(axis: 2, start: 1, end: 4, step: 2) }
        gradCheck([t], "pad") { $0[0].padded([(0, 0), (1, 2), (2, 0)], value: 3) }
        gradCheck([t], "repeat") { $0[0].repeated([2, 1, 3]) }
        gradCheck([t], "index select with repeats") { $0[0].indexSelect(axis: 1, indices: [2, 0, 2]) }
        gradCheck([t], "split") { Tensor.concat($0[0].split(parts: 2, axis: 2).reversed(), axis: 0) }
        let u = randomTensor([2, 1, 4], seed: 32)
        gradCheck([t, u], "concat") { Tensor.concat([$0[0], $0[1]], axis: 1) }
    }
}
