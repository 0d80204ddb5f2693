import Testing
@testable import Engine

/// A direct convolution in Double, written from the definition, as the reference.
func naiveConv(_ x: Tensor, _ w: Tensor, _ bias: Tensor?, stride: [Int], padding: [Int], dilation: [Int], groups: Int) -> (shape: [Int], values: [Float]) {
    let d = x.rank - 2
    let pad3 = { (v: [Int], fill: Int) in Array(repeating: fill, count: 3 - d) + (v.count == 1 ? Array(repeating: v[0], count: d) : v) }
    let inS = pad3(Array(x.shape.dropFirst(2)), 1), kS = pad3(Array(w.shape.dropFirst(2)), 1)
    let st = pad3(stride, 1), pd = pad3(padding, 0), dl = pad3(dilation, 1)
    var outS: [Int] = []
    for i in 0..<3 {
        let span: Int = dl[i] * (kS[i] - 1) + 1
        outS.append((inS[i] + 2 * pd[i] - span) / st[i] + 1)
    }
    let n = x.shape[0], cin = x.shape[1], cout = w.shape[0], cg = cin / groups, og = cout / groups
    var out = [Float]()
    for b in 0..<n { for co in 0..<cout {
        let g = co / og
        for ot in 0..<outS[0] { for oh in 0..<outS[1] { for ow in 0..<outS[2] {
            var acc = Double(bias?.data[co] ?? 0)
            for ci in 0..<cg { for i in 0..<kS[0] { for j in 0..<kS[1] { for l in 0..<kS[2] {
                let t = ot * st[0] - pd[0] + i * dl[0], h = oh * st[1] - pd[1] + j * dl[1], c = ow * st[2] - pd[2] + l * dl[2]
                guard t >= 0, t < inS[0], h >= 0, h < inS[1], c >= 0, c < inS[2] else { continue }
                let xi = (((b * cin + g * cg + ci) * inS[0] + t) * inS[1] + h) * inS[2] + c
                let wi = (((co * cg + ci) * kS[0] + i) * kS[1] + j) * kS[2] + l
                acc += Double(x.data[xi]) * Double(w.data[wi])
            } } } }
            out.append(Float(acc))
        } } }
    } }
    return ([n, cout] + Array(outS.suffix(d)), out)
}

@Suite struct ConvolutionTests {
    @Test func handValues2D() {
        // 3×3 input, 2×2 kernel of ones: each output is the sum of a 2×2 block.
        let x = Tensor((1...9).map(Float.init), shape: [1, 1, 3, 3])
        let w = Tensor.ones([1, 1, 2, 2])
        let y = conv(x, weight: w, bias: Tensor([1], shape: [1]))
        #expect(y.shape == [1, 1, 2, 2])
        expectClose(y.scalars, [13, 17, 25, 29])
        // Padding 1, stride 2: corners see one real element each … plus neighbours.
        let z = conv(x, weight: w, stride: [2], padding: [1])
        expectClose(z.scalars, [1, 5, 11, 28])
    }

    struct Case: CustomStringConvertible, Sendable {
        var input: [Int], weight: [Int], stride: [Int], padding: [Int], dilation: [Int], groups: Int, bias: Bool
        var description: String { "x\(input) w\(weight) s\(stride) p\(padding) d\(dilation) g\(groups)" }
    }

    static let grid: [Case] = [
        Case(input: [2, 3, 11], weight: [4, 3, 3], stride: [1], padding: [1], dilation: [1], groups: 1, bias: true),
        Case(input: [1, 4, 13], weight: [6, 2, 3], stride: [2], padding: [2], dilation: [2], groups: 2, bias: false),
        Case(input: [2, 3, 9, 8], weight: [5, 3, 3, 3], stride: [1], padding: [1], dilation: [1], groups: 1, bias: true),
        Case(input: [1, 2, 10, 9], weight: [4, 2, 3, 2], stride: [2, 3], padding: [1, 0], dilation: [1, 2], groups: 1, bias: true),
        Case(input: [3, 6, 7, 7], weight: [6, 1, 3, 3], stride: [1], padding: [1], dilation: [1], groups: 6, bias: true),
        Case(input: [1, 4, 6, 6], weight: [8, 1, 1, 1], stride: [1], padding: [0], dilation: [1], groups: 4, bias: false),
        Case(input: [2, 5, 6, 7], weight: [3, 5, 1, 1], stride: [1], padding: [0], dilation: [1], groups: 1, bias: true),
        Case(input: [1, 3, 5, 9, 9], weight: [4, 3, 3, 3, 3], stride: [1], padding: [1], dilation: [1], groups: 1, bias: true),
        Case(input: [2, 4, 6, 7, 8], weight: [4, 4, 1, 3, 3], stride: [1, 2, 2], padding: [0, 1, 1], dilation: [1], groups: 1, bias: false),
        Case(input: [1, 4, 8, 5, 5], weight: [2, 4, 3, 1, 1], stride: [2, 1, 1], padding: [1, 0, 0], dilation: [2, 1, 1], groups: 1, bias: true),
        Case(input: [2, 4, 5, 6, 6], weight: [4, 2, 2, 3, 3], stride: [1, 1, 2], padding: [1, 2, 1], dilation: [1, 2, 1], groups: 2, bias: true),
        // Temporal-only kernels (kT×1×1), read in place without a patch matrix.
        Case(input: [2, 4, 6, 5, 5], weight: [6, 4, 3, 1, 1], stride: [1], padding: [1, 0, 0], dilation: [1], groups: 1, bias: true),
        Case(input: [1, 4, 7, 4, 3], weight: [4, 2, 3, 1, 1], stride: [2, 1, 1], padding: [1, 0, 0], dilation: [2, 1, 1], groups: 2, bias: false),
        Case(input: [2, 6, 5, 4, 4], weight: [3, 6, 1, 1, 1], stride: [2, 1, 1], padding: [0], dilation: [1], groups: 1, bias: true),
        Case(input: [1, 3, 9, 2, 2], weight: [2, 3, 2, 1, 1], stride: [1], padding: [3, 0, 0], dilation: [1], groups: 1, bias: false),
        // Wide temporal padding: whole tiles read only padding for some offsets.
        Case(input: [1, 2, 8, 4, 4], weight: [2, 2, 2, 1, 1], stride: [1], padding: [4, 0, 0], dilation: [1], groups: 1, bias: true),
        // Padding wider than the kernel reaches: the input gradient cannot be a plain transposed conv.
        Case(input: [1, 2, 6], weight: [3, 2, 1], stride: [1], padding: [1], dilation: [1], groups: 1, bias: true),
    ]

    @Test(arguments: grid) func matchesNaiveReference(_ c: Case) {
        let x = randomTensor(c.input, seed: 61), w = randomTensor(c.weight, seed: 62)
        let b = c.bias ? randomTensor([c.weight[0]], seed: 63) : nil
        let y = conv(x, weight: w, bias: b, stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups)
        let ref = naiveConv(x, w, b, stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups)
        #expect(y.shape == ref.shape, "\(c)")
        expectClose(y.scalars, ref.values, abs: 1e-4, rel: 1e-4, "\(c)")
    }

    @Test(arguments: [grid[0], grid[1], grid[3], grid[4], grid[5], grid[8], grid[10], grid[11], grid[12], grid[13], grid[14], grid[15]])
    func gradients(_ c: Case) {
        let x = randomTensor(c.input, seed: 64), w = randomTensor(c.weight, seed: 65)
        var inputs = [x, w]
        if c.bias { inputs.append(randomTensor([c.weight[0]], seed: 66)) }
        gradCheck(inputs, samples: 16, "\(c)") { t in
            conv(t[0], weight: t[1], bias: t.count > 2 ? t[2] : nil, stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups)
        }
    }

    @Test func backwardMatchesNaiveAdjoint() {
        // dL/dx of L = Σ conv(x)·r equals the naive convolution's, element by element, on a larger case
        // that runs tiles on several workers with private partial sums.
        let x = randomTensor([1, 3, 6, 10, 10], seed: 67, requiresGrad: true), w = randomTensor([4, 3, 3, 3, 3], seed: 68, requiresGrad: true)
        let y = conv(x, weight: w, padding: [1])
        let r = randomTensor(y.shape, seed: 69)
        (y * r).sum().backward()
        // The weight gradient of a convolution is a correlation of x with r.
        var gw = [Double](repeating: 0, count: w.count)
        for co in 0..<4 { for ci in 0..<3 { for i in 0..<3 { for j in 0..<3 { for l in 0..<3 {
            var acc = 0.0
            for t in 0..<6 { for h in 0..<10 { for c in 0..<10 {
                let ti = t - 1 + i, hi = h - 1 + j, ci2 = c - 1 + l
                guard ti >= 0, ti < 6, hi >= 0, hi < 10, ci2 >= 0, ci2 < 10 else { continue }
                acc += Double(x.data[((ci * 6 + ti) * 10 + hi) * 10 + ci2]) * Double(r.data[((co * 6 + t) * 10 + h) * 10 + c])
            } } }
            gw[(((co * 3 + ci) * 3 + i) * 3 + j) * 3 + l] = acc
        } } } } }
        expectClose(w.grad!.scalars, gw.map(Float.init), abs: 1e-3, rel: 1e-4, "weight gradient")
    }

    /// Deep-layer shapes (many output channels, few positions) split the weight gradient by output
    /// channels instead of by tiles; both paths against the direct reference's finite differences
    /// and against each other's layout (temporal and im2col).
    @Test func weightGradientSplitByChannels() {
        for (xs, ws, padding) in [([2, 8, 3, 4, 4], [128, 8, 3, 1, 1], [1, 0, 0]), ([2, 8, 5, 5], [128, 8, 3, 3], [1, 1])] {
            let x = randomTensor(xs, seed: 61), w = randomTensor(ws, seed: 62, low: -0.3, high: 0.3)
            let plan = ConvPlan(x: x, weight: w, bias: nil, stride: [1], padding: padding, dilation: [1], groups: 1)
            #expect(plan.cout >= 64 * Parallel.workers || Parallel.workers == 1)
            gradCheck([x.copy(), w.copy()], samples: 12, "\(ws)") { conv($0[0], weight: $0[1], padding: padding) }
            // The same gradient from one worker (split by tiles, one private sum).
            let dy = randomTensor([plan.n, plan.cout] + plan.window.spatialOutput, seed: 63)
            let split = plan.weightGradient(x: x, grad: dy)
            let serial = Parallel.serially { plan.weightGradient(x: x, grad: dy) }
            expectClose(split.scalars, serial.scalars, abs: 1e-5, rel: 1e-5, "\(ws) by channels against one worker")
        }
    }

    /// Small output planes put several samples side by side in one patch matrix and GEMM
    /// (`forwardBySamples`): the plain per-sample path gives the same output, with and without
    /// the inference epilogue (scale, bias, residual, ReLU), for 1×1, 3×3 and strided kernels,
    /// 2-D and 3-D, and batches that do not divide evenly.
    @Test func samplesSharingAPatchMatrixMatchThePlainPath() {
        let cases: [(x: [Int], w: [Int], stride: [Int], padding: [Int])] = [
            ([8, 16, 7, 7], [24, 16, 3, 3], [1, 1], [1, 1]),
            ([5, 12, 7, 7], [20, 12, 1, 1], [1, 1], [0, 0]),
            ([7, 6, 13, 13], [10, 6, 3, 3], [2, 2], [1, 1]),
            ([6, 8, 2, 5, 5], [12, 8, 3, 3, 3], [1, 1, 1], [1, 1, 1]),
            ([4, 8, 2, 9, 9], [16, 8, 1, 1, 1], [1, 2, 2], [0, 0, 0]),
            ([4, 8, 5, 5], [128, 8, 3, 3], [1, 1], [1, 1]),   // weight gradient by blocks of channels
        ]
        for (i, c) in cases.enumerated() {
            let x = randomTensor(c.x, seed: UInt64(200 + i)), w = randomTensor(c.w, seed: UInt64(210 + i), low: -0.3, high: 0.3)
            let bias = randomTensor([c.w[0]], seed: UInt64(220 + i))
            let plan = ConvPlan(x: x, weight: w, bias: bias, stride: c.stride, padding: c.padding, dilation: [1], groups: 1)
            #expect(plan.samplesPerUnit > 1, "case \(i) should share patch matrices")
            let fast = conv(x, weight: w, bias: bias, stride: c.stride, padding: c.padding)
            let plain = ConvAlgorithm.with(.im2col) { conv(x, weight: w, bias: bias, stride: c.stride, padding: c.padding) }
            expectClose(fast.scalars, plain.scalars, abs: 1e-5, rel: 1e-5, "case \(i) forward")
            let scale = randomTensor([c.w[0]], seed: UInt64(230 + i)), shift = randomTensor([c.w[0]], seed: UInt64(240 + i))
            let residual = randomTensor(fast.shape, seed: UInt64(250 + i))
            func fused() -> Tensor {
                GradMode.noGrad {
                    convInference(x, weight: w, bias: bias, scale: scale, shift: shift, residual: residual, relu: true,
                                  stride: c.stride, padding: c.padding)
                }
            }
            expectClose(fused().scalars, ConvAlgorithm.with(.im2col) { fused() }.scalars, abs: 1e-5, rel: 1e-5, "case \(i) fused")
            // The weight gradient, by blocks of channels (two or more workers) and by units (one worker).
            let dy = randomTensor(fast.shape, seed: UInt64(270 + i))
            let gwPlain = ConvAlgorithm.with(.im2col) { plan.weightGradient(x: x, grad: dy) }
            expectClose(plan.weightGradient(x: x, grad: dy).scalars, gwPlain.scalars, abs: 1e-4, rel: 1e-5, "case \(i) weight gradient")
            let serial = Parallel.serially { ConvPlan(x: x, weight: w, bias: bias, stride: c.stride, padding: c.padding, dilation: [1], groups: 1) }
            #expect(serial.samplesPerUnit > 1)
            expectClose(Parallel.serially { serial.weightGradient(x: x, grad: dy) }.scalars, gwPlain.scalars, abs: 1e-4, rel: 1e-5,
                        "case \(i) weight gradient, one worker")
        }
        // Gradients through the shared path (the input gradient of a stride-1 conv runs it too).
        gradCheck([randomTensor([6, 3, 5, 5], seed: 260), randomTensor([4, 3, 3, 3], seed: 261, low: -0.3, high: 0.3)],
                  samples: 12, "shared patch matrices") { conv($0[0], weight: $0[1], padding: [1]) }
    }

    /// Stride 2 along W reads patch rows from the input split by column parity (`SplitRows`):
    /// forward and weight gradient against the plain gathering path, for odd and even widths,
    /// every padding and kernel width that can put w0 on either parity, groups and 2-D inputs.
    /// Temporal and pointwise kernels on one clip of small frames split the output channels
    /// across workers (`forwardTemporalByChannels`); plain path, fused epilogue and naive sum agree.
    @Test func temporalKernelsSplitByChannelsMatchThePlainPath() {
        let cases: [(x: [Int], w: [Int], padding: [Int])] = [
            ([1, 40, 4, 5, 5], [48, 40, 3, 1, 1], [1, 0, 0]),     // temporal taps with padding (zeroed first)
            ([1, 64, 2, 6, 6], [40, 64, 1, 1, 1], [0, 0, 0]),     // pointwise: written once; two blocks of 20 channels
            ([1, 24, 6, 3, 4], [33, 24, 5, 1, 1], [2, 0, 0]),
        ]
        for (i, c) in cases.enumerated() {
            let x = randomTensor(c.x, seed: UInt64(300 + i)), w = randomTensor(c.w, seed: UInt64(310 + i), low: -0.3, high: 0.3)
            let bias = randomTensor([c.w[0]], seed: UInt64(320 + i))
            let plan = ConvPlan(x: x, weight: w, bias: bias, stride: [1], padding: c.padding, dilation: [1], groups: 1)
            #expect(plan.isTemporalOnly && plan.narrowTiles, "case \(i) should split by channels")
            let fast = GradMode.noGrad { conv(x, weight: w, bias: bias, padding: c.padding) }
            let plain = ConvAlgorithm.with(.im2col) { GradMode.noGrad { conv(x, weight: w, bias: bias, padding: c.padding) } }
            let reference = naiveConv(x, w, bias, stride: [1], padding: c.padding, dilation: [1], groups: 1)
            expectClose(fast.scalars, plain.scalars, abs: 1e-5, rel: 1e-5, "case \(i) against im2col")
            expectClose(fast.scalars, reference.values, abs: 1e-5, rel: 1e-5, "case \(i) against the direct sum")
            let scale = randomTensor([c.w[0]], seed: UInt64(330 + i)), shift = randomTensor([c.w[0]], seed: UInt64(340 + i))
            let residual = randomTensor(fast.shape, seed: UInt64(350 + i))
            func fused() -> Tensor {
                GradMode.noGrad {
                    convInference(x, weight: w, bias: bias, scale: scale, shift: shift, residual: residual, relu: true, padding: c.padding)
                }
            }
            expectClose(fused().scalars, ConvAlgorithm.with(.im2col) { fused() }.scalars, abs: 1e-5, rel: 1e-5, "case \(i) fused")
        }
    }

    @Test func strideTwoSplitRowsMatchThePlainGather() {
        let cases: [(x: [Int], w: [Int], stride: [Int], padding: [Int], groups: Int)] = [
            ([2, 3, 4, 17, 17], [8, 3, 3, 7, 7], [1, 2, 2], [1, 3, 3], 1),
            ([1, 3, 2, 16, 16], [8, 3, 1, 7, 7], [1, 2, 2], [0, 2, 2], 1),
            ([2, 4, 3, 9, 10], [6, 2, 3, 3, 3], [2, 2, 2], [1, 1, 1], 2),
            ([2, 6, 11, 12], [5, 6, 1, 1], [2, 2], [0, 0], 1),
            ([1, 3, 9, 15], [4, 3, 3, 4], [2, 2], [1, 0], 1),
            ([1, 2, 5, 7], [3, 2, 3, 5], [1, 2], [2, 1], 1),
        ]
        for (i, c) in cases.enumerated() {
            let x = randomTensor(c.x, seed: UInt64(70 + i)), w = randomTensor(c.w, seed: UInt64(80 + i), low: -0.3, high: 0.3)
            let plan = ConvPlan(x: x, weight: w, bias: nil, stride: c.stride, padding: c.padding, dilation: [1], groups: c.groups)
            #expect(SplitRows(plan, x.data) != nil, "case \(i) should take the split path")
            #expect(ConvAlgorithm.with(.im2col) { SplitRows(plan, x.data) } == nil)
            let fast = conv(x, weight: w, stride: c.stride, padding: c.padding, groups: c.groups)
            let plain = ConvAlgorithm.with(.im2col) { conv(x, weight: w, stride: c.stride, padding: c.padding, groups: c.groups) }
            expectClose(fast.scalars, plain.scalars, abs: 1e-5, rel: 1e-5, "case \(i) forward")
            let dy = randomTensor(fast.shape, seed: UInt64(90 + i))
            let gw = plan.weightGradient(x: x, grad: dy)
            let gwPlain = ConvAlgorithm.with(.im2col) { plan.weightGradient(x: x, grad: dy) }
            expectClose(gw.scalars, gwPlain.scalars, abs: 1e-4, rel: 1e-5, "case \(i) weight gradient")
        }
        // The plain path itself against the naive definition, so the comparison above means something.
        let x = randomTensor([1, 2, 3, 9, 11], seed: 99), w = randomTensor([3, 2, 1, 3, 5], seed: 98)
        let y = conv(x, weight: w, stride: [1, 2, 2], padding: [0, 1, 2])
        let naive = naiveConv(x, w, nil, stride: [1, 2, 2], padding: [0, 1, 2], dilation: [1], groups: 1)
        #expect(y.shape == naive.shape)
        expectClose(y.scalars, naive.values, abs: 1e-5, rel: 1e-5, "naive")
    }
}
