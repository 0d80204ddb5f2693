import Testing
@testable import Engine

@Suite struct PoolingTests {
    let x = Tensor([1, 5, 2, 0,
                    3, 4, 8, 1,
                    9, 6, 7, 2,
                    0, 1, 3, 4].map(Float.init), shape: [1, 1, 4, 4])

    @Test func maxPoolValues() {
        expectClose(maxPool(x, kernel: [2], stride: [2]).scalars, [5, 8, 9, 7])
        expectClose(maxPool(x, kernel: [3], stride: [2], padding: [1]).scalars, [5, 8, 9, 8])
        // Ceil mode adds a last, partial window: 4 wide with kernel 3, stride 2 → 2 windows.
        #expect(maxPool(x, kernel: [3], stride: [2], ceilMode: true).shape == [1, 1, 2, 2])
        expectClose(maxPool(x, kernel: [3], stride: [2], ceilMode: true).scalars, [9, 8, 9, 7])
        #expect(maxPool(x, kernel: [3], stride: [2]).shape == [1, 1, 1, 1])
        // Dilation 2 picks every other element.
        expectClose(maxPool(x, kernel: [2], stride: [1], dilation: [2]).scalars, [9, 6, 8, 4])
        let seq = Tensor([1, 3, 2, 5, 4], shape: [1, 1, 5])
        expectClose(maxPool(seq, kernel: [2], stride: [2], ceilMode: true).scalars, [3, 5, 4])
        let vol = Tensor((0..<8).map(Float.init), shape: [1, 1, 2, 2, 2])
        expectClose(maxPool(vol, kernel: [2], stride: [2]).scalars, [7])
    }

    /// Without a graph, max pooling runs one dimension at a time; it must equal the argmax path
    /// (taken when the input needs a gradient) for every padding, stride, ceil mode and rank, NaNs included.
    @Test func separableMaxMatchesTheArgmaxPath() {
        let cases: [(shape: [Int], kernel: [Int], stride: [Int], padding: [Int], ceil: Bool)] = [
            ([2, 3, 9, 11], [3, 3], [2, 2], [1, 1], false),
            ([1, 2, 10, 10], [3, 3], [2, 2], [1, 1], true),
            ([1, 2, 7, 8], [2, 3], [2, 1], [0, 1], true),
            ([2, 2, 4, 9, 9], [1, 3, 3], [1, 2, 2], [0, 1, 1], false),
            ([1, 3, 5, 6, 7], [3, 2, 3], [2, 2, 2], [1, 1, 1], true),
            ([2, 4, 13], [3], [2], [1], false),
        ]
        for (i, c) in cases.enumerated() {
            let x = randomTensor(c.shape, seed: UInt64(40 + i))
            x.data[3] = .nan
            let fast = GradMode.noGrad { maxPool(x, kernel: c.kernel, stride: c.stride, padding: c.padding, ceilMode: c.ceil) }
            let withGrad = x.copy()
            withGrad.requiresGrad = true
            let plain = maxPool(withGrad, kernel: c.kernel, stride: c.stride, padding: c.padding, ceilMode: c.ceil)
            #expect(fast.shape == plain.shape, "case \(i)")
            #expect(fast.scalars.map { $0.isNaN } == plain.scalars.map { $0.isNaN }, "case \(i): NaNs")
            #expect(plain.scalars.contains { $0.isNaN }, "case \(i): the NaN reaches an output")
            expectClose(fast.scalars.map { $0.isNaN ? 0 : $0 }, plain.scalars.map { $0.isNaN ? 0 : $0 }, abs: 0, rel: 0, "case \(i)")
        }
    }

    /// With a graph and no dilation, the argmax comes from the separable maxima and a search; it
    /// must route the gradient to the same elements as the comparing scan: ties (small integers),
    /// ±0, −∞ and a NaN included.
    @Test func argmaxSearchMatchesTheScan() {
        let cases: [(shape: [Int], kernel: [Int], stride: [Int], padding: [Int], ceil: Bool)] = [
            ([2, 3, 9, 11], [3, 3], [2, 2], [1, 1], false),
            ([1, 2, 7, 8], [2, 3], [2, 1], [0, 1], true),
            ([2, 2, 4, 9, 9], [1, 3, 3], [1, 2, 2], [0, 1, 1], false),
            ([1, 3, 5, 6, 7], [3, 2, 3], [2, 2, 2], [1, 1, 1], true),
            ([1, 2, 6, 5, 5], [3, 1, 1], [2, 1, 1], [1, 0, 0], false),
        ]
        for (i, c) in cases.enumerated() {
            let x = randomTensor(c.shape, seed: UInt64(60 + i), low: -3, high: 3)
            for k in 0..<x.count { x.data[k] = x.data[k].rounded(.down) }  // many ties
            x.data[1] = -0.0; x.data[2] = 0; x.data[5] = -.infinity; x.data[x.count - 2] = .nan
            var results = [(values: [Float], grad: [Float])]()
            for scan in [false, true] {
                let xi = x.copy()
                xi.requiresGrad = true
                let y = maxPool(xi, kernel: c.kernel, stride: c.stride, padding: c.padding, dilation: nil, ceilMode: c.ceil,
                                scanForArgmax: scan)
                (y * randomTensor(y.shape, seed: 71)).sum().backward()
                results.append((y.scalars, xi.grad!.scalars))
            }
            #expect(results[0].values.map { $0.isNaN } == results[1].values.map { $0.isNaN }, "case \(i): NaNs")
            expectClose(results[0].values.map { $0.isNaN ? 0 : $0 }, results[1].values.map { $0.isNaN ? 0 : $0 },
                        abs: 0, rel: 0, "case \(i): values")
            #expect(results[0].grad == results[1].grad, "case \(i): gradient")
        }
    }

    @Test func avgPoolValues() {
        expectClose(avgPool(x, kernel: [2], stride: [2]).scalars, [13.0 / 4, 11.0 / 4, 16.0 / 4, 16.0 / 4])
        // With padding the zeros count (count_include_pad) unless told otherwise.
        let padded = avgPool(x, kernel: [2], stride: [2], padding: [1])
        expectClose(Array(padded.scalars.prefix(2)), [1.0 / 4, 7.0 / 4])
        let exclusive = avgPool(x, kernel: [2], stride: [2], padding: [1], countIncludePad: false)
        expectClose(Array(exclusive.scalars.prefix(2)), [1, 3.5])
        // Ceil mode: the overhang past the padding is never counted.
        let seq = Tensor([1, 2, 3, 4, 5], shape: [1, 1, 5])
        expectClose(avgPool(seq, kernel: [2], stride: [2], ceilMode: true).scalars, [1.5, 3.5, 5])
    }

    @Test func adaptiveAndGlobal() {
        let seq = Tensor([1, 2, 3, 4, 5], shape: [1, 1, 5])
        // Windows [0, 2), [1, 4), [3, 5).
        expectClose(adaptiveAvgPool(seq, outputSize: [3]).scalars, [1.5, 3, 4.5])
        expectClose(adaptiveAvgPool(x, outputSize: [1, 1]).scalars, [56.0 / 16])
        expectClose(globalAvgPool(x).scalars, [56.0 / 16])
        let vol = randomTensor([2, 3, 4, 5, 6], seed: 71)
        expectClose(adaptiveAvgPool(vol, outputSize: [1, 1, 1]).scalars, globalAvgPool(vol).scalars)
    }

    @Test func gradients() {
        // Distinct values so max-pool winners are stable under the finite-difference step.
        let t = Tensor((0..<(2 * 7 * 6)).map { Float(($0 * 37) % 84) * 0.1 }, shape: [1, 2, 7, 6])
        gradCheck([t], eps: 1e-3, "maxPool") { maxPool($0[0], kernel: [3], stride: [2], padding: [1], ceilMode: true) }
        gradCheck([t], "avgPool") { avgPool($0[0], kernel: [3, 2], stride: [2, 2], padding: [1, 1], ceilMode: true) }
        gradCheck([t], "avgPool exclusive") { avgPool($0[0], kernel: [2], stride: [1], padding: [1], countIncludePad: false) }
        gradCheck([t], "adaptive") { adaptiveAvgPool($0[0], outputSize: [3, 4]) }
        let v = randomTensor([1, 2, 3, 4, 4], seed: 72)
        gradCheck([v], "global") { globalAvgPool($0[0]) }
        gradCheck([v], "avgPool 3d") { avgPool($0[0], kernel: [2, 2, 2], stride: [1, 2, 2]) }
    }
}
