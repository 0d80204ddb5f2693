import Testing
@testable import Engine

/// Winograd F(2×2, 3×3) against the plain im2col path and the direct Double reference.
@Suite struct WinogradTests {
    struct Case: CustomStringConvertible {
        var x: [Int], w: [Int], stride: [Int], padding: [Int], dilation: [Int]
        var description: String { "x \(x) w \(w) stride \(stride) pad \(padding) dilation \(dilation)" }
    }

    static let cases = [
        // 2-D, odd output sizes (partial tiles at the bottom and right edges), with and without padding.
        Case(x: [2, 16, 9, 7], w: [16, 16, 3, 3], stride: [1], padding: [1], dilation: [1]),
        Case(x: [1, 24, 8, 11], w: [20, 24, 3, 3], stride: [1], padding: [0], dilation: [1]),
        Case(x: [1, 16, 6, 6], w: [16, 16, 3, 3], stride: [1], padding: [2], dilation: [1]),
        // 3-D: temporal taps, temporal padding, a temporal stride and a temporal dilation.
        Case(x: [2, 16, 4, 8, 8], w: [32, 16, 3, 3, 3], stride: [1], padding: [1], dilation: [1]),
        Case(x: [1, 16, 5, 7, 9], w: [16, 16, 3, 3, 3], stride: [2, 1, 1], padding: [1, 1, 1], dilation: [2, 1, 1]),
        Case(x: [1, 16, 3, 10, 6], w: [16, 16, 1, 3, 3], stride: [1], padding: [0, 1, 1], dilation: [1]),
        // Wide frames: runs of eight interior tiles take the vector transforms, the edges the scalar ones.
        Case(x: [1, 16, 2, 10, 40], w: [16, 16, 3, 3, 3], stride: [1], padding: [1], dilation: [1]),
        Case(x: [2, 16, 7, 37], w: [16, 16, 3, 3], stride: [1], padding: [0], dilation: [1]),
        // Temporal padding wider than the kernel's reach (no tap reads every output frame; four
        // samples, so a worker's M holds an earlier unit's values), and a clip long enough for
        // several groups of output frames per run.
        Case(x: [4, 16, 2, 6, 6], w: [16, 16, 3, 3, 3], stride: [1], padding: [2, 1, 1], dilation: [1]),
        Case(x: [1, 16, 80, 6, 6], w: [16, 16, 3, 3, 3], stride: [1], padding: [1], dilation: [1]),
    ]

    @Test(arguments: cases) func matchesIm2colAndTheDirectSum(_ c: Case) {
        let x = randomTensor(c.x, seed: 11), w = randomTensor(c.w, seed: 12, low: -0.3, high: 0.3)
        let bias = randomTensor([c.w[0]], seed: 13)
        // Small shapes, below the size where `conv` picks Winograd by itself: the plan runs directly.
        let plan = ConvPlan(x: x, weight: w, bias: bias, stride: c.stride, padding: c.padding, dilation: c.dilation, groups: 1)
        let fast = Tensor.zeros([plan.n, plan.cout] + plan.window.spatialOutput)
        WinogradPlan(plan).forward(x.data, w.data, bias.data, fast.data)
        let plain = ConvAlgorithm.with(.im2col) {
            GradMode.noGrad { conv(x, weight: w, bias: bias, stride: c.stride, padding: c.padding, dilation: c.dilation) }
        }
        let reference = naiveConv(x, w, bias, stride: c.stride, padding: c.padding, dilation: c.dilation, groups: 1)
        #expect(fast.shape == reference.shape)
        expectClose(fast.scalars, plain.scalars, abs: 1e-5, rel: 1e-5, "\(c) against im2col")
        expectClose(fast.scalars, reference.values, abs: 1e-5, rel: 1e-5, "\(c) against the direct sum")
    }

    /// With F(2×2, 3×3) chosen (`.winograd2`; `auto` takes F(4×4, 3×3) on frames this size),
    /// `conv` runs Winograd for the output, the input gradient (a stride-1 convolution itself) and
    /// the weight gradient (the adjoint of the Winograd forward).
    @Test func gradientsMatchTheDirectPathAndFiniteDifferences() {
        let x = randomTensor([1, 16, 4, 16, 16], seed: 21), w = randomTensor([16, 16, 3, 3, 3], seed: 22, low: -0.3, high: 0.3)
        #expect(WinogradPlan.applies(to: ConvPlan(x: x, weight: w, bias: nil, stride: [1], padding: [1], dilation: [1], groups: 1)))
        func grads(_ algorithm: ConvAlgorithm) -> ([Float], [Float]) {
            ConvAlgorithm.with(algorithm) {
                let xi = x.copy(), wi = w.copy()
                xi.requiresGrad = true
                wi.requiresGrad = true
                (conv(xi, weight: wi, padding: [1]) * randomTensor([1, 16, 4, 16, 16], seed: 23)).sum().backward()
                return (xi.grad!.scalars, wi.grad!.scalars)
            }
        }
        let (fx, fw) = grads(.winograd2), (px, pw) = grads(.im2col)
        expectClose(fx, px, abs: 1e-5, rel: 1e-5, "input gradient")
        expectClose(fw, pw, abs: 1e-4, rel: 1e-4, "weight gradient")
        gradCheck([x.copy(), w.copy()], samples: 12, "winograd conv") { conv($0[0], weight: $0[1], padding: [1]) }
    }

    /// The weight gradient straight from the plan, on the shapes the forward cases cover: edge
    /// tiles, temporal padding, stride and dilation, 2-D.
    @Test(arguments: cases) func weightGradientMatchesIm2col(_ c: Case) {
        let x = randomTensor(c.x, seed: 14), w = randomTensor(c.w, seed: 15, low: -0.3, high: 0.3)
        let plan = ConvPlan(x: x, weight: w, bias: nil, stride: c.stride, padding: c.padding, dilation: c.dilation, groups: 1)
        let dy = randomTensor([plan.n, plan.cout] + plan.window.spatialOutput, seed: 16)
        let fast = WinogradPlan(plan).weightGradient(x.data, dy.data, shape: w.shape)
        let plain = ConvAlgorithm.with(.im2col) { plan.weightGradient(x: x, grad: dy) }
        #expect(fast.shape == w.shape)
        expectClose(fast.scalars, plain.scalars, abs: 1e-4, rel: 1e-4, "\(c) weight gradient")
    }

    @Test func otherShapesKeepThePlainPath() {
        func applies(_ x: [Int], _ w: [Int], stride: [Int] = [1], dilation: [Int] = [1], groups: Int = 1) -> Bool {
            WinogradPlan.applies(to: ConvPlan(x: Tensor.zeros(x), weight: Tensor.zeros(w), bias: nil, stride: stride,
                                              padding: [1], dilation: dilation, groups: groups))
        }
        #expect(applies([1, 16, 32, 32], [16, 16, 3, 3]))
        #expect(!applies([1, 16, 32, 32], [16, 16, 3, 3], stride: [2]))
        #expect(!applies([1, 16, 32, 32], [16, 16, 3, 3], dilation: [2]))
        #expect(!applies([1, 16, 32, 32], [16, 8, 3, 3], groups: 2))
        #expect(!applies([1, 16, 32, 32], [16, 16, 5, 5]))
        #expect(!applies([1, 3, 32, 32], [16, 3, 3, 3]))        // too few input channels to pay
        #expect(!applies([1, 16, 2, 32, 32], [16, 16, 3, 1, 1]))
        #expect(!applies([1, 512, 2, 7, 7], [512, 512, 3, 3, 3]))   // 32 tiles: the weights' transform would dominate
    }
}
