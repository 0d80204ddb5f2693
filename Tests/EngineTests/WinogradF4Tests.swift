import Testing
@testable import Engine

/// Winograd F(4×4, 3×3) against the plain im2col path, F(2×2, 3×3) and the direct Double
/// reference, within 1e-5 of the output's largest magnitude.
@Suite struct WinogradF4Tests {
    typealias Case = WinogradTests.Case

    static let cases = [
        // 2-D, output sides that are not multiples of 4 (partial tiles at the bottom and right), with and without padding.
        Case(x: [2, 16, 9, 7], w: [16, 16, 3, 3], stride: [1], padding: [1], dilation: [1]),
        Case(x: [1, 24, 8, 11], w: [20, 24, 3, 3], stride: [1], padding: [0], dilation: [1]),
        Case(x: [1, 16, 6, 6], w: [16, 16, 3, 3], stride: [1], padding: [2], dilation: [1]),
        // 3-D: temporal taps, temporal padding, a temporal stride and a temporal dilation.
        Case(x: [2, 16, 4, 10, 10], w: [32, 16, 3, 3, 3], stride: [1], padding: [1], dilation: [1]),
        Case(x: [1, 16, 5, 7, 9], w: [16, 16, 3, 3, 3], stride: [2, 1, 1], padding: [1, 1, 1], dilation: [2, 1, 1]),
        Case(x: [1, 16, 3, 10, 6], w: [16, 16, 1, 3, 3], stride: [1], padding: [0, 1, 1], dilation: [1]),
        // Wide frames: runs of eight tiles inside the frame take the vector transforms; the
        // padded edges, the row's last tiles and the partial tiles take the staged and scalar ones.
        Case(x: [1, 16, 2, 18, 75], w: [16, 16, 3, 3, 3], stride: [1], padding: [1], dilation: [1]),
        Case(x: [2, 16, 13, 70], w: [16, 16, 3, 3], stride: [1], padding: [0], dilation: [1]),
        Case(x: [1, 32, 1, 36, 36], w: [16, 32, 1, 3, 3], stride: [1], padding: [0, 1, 1], dilation: [1]),
        // Temporal padding wider than the kernel's reach (four samples, so a worker's M holds an
        // earlier unit's values), and several groups of output frames per run.
        Case(x: [4, 16, 2, 8, 8], w: [16, 16, 3, 3, 3], stride: [1], padding: [2, 1, 1], dilation: [1]),
        Case(x: [1, 16, 160, 6, 6], w: [16, 16, 3, 3, 3], stride: [1], padding: [1], dilation: [1]),
    ]

    @Test(arguments: cases) func matchesIm2colAndTheDirectSum(_ c: Case) {
        let x = randomTensor(c.x, seed: 61), w = randomTensor(c.w, seed: 62, low: -0.3, high: 0.3)
        let bias = randomTensor([c.w[0]], seed: 63)
        // Small shapes, below the size where `conv` picks F(4×4, 3×3) by itself: the plan runs directly.
        let plan = ConvPlan(x: x, weight: w, bias: bias, stride: c.stride, padding: c.padding, dilation: c.dilation, groups: 1)
        let fast = Tensor.zeros([plan.n, plan.cout] + plan.window.spatialOutput)
        WinogradF4Plan(plan).forward(x.data, w.data, bias.data, fast.data)
        let plain = ConvAlgorithm.with(.im2col) {
            GradMode.noGrad { conv(x, weight: w, bias: bias, stride: c.stride, padding: c.padding, dilation: c.dilation) }
        }
        let small = Tensor.zeros(fast.shape)
        WinogradPlan(plan).forward(x.data, w.data, bias.data, small.data)
        let reference = naiveConv(x, w, bias, stride: c.stride, padding: c.padding, dilation: c.dilation, groups: 1)
        #expect(fast.shape == reference.shape)
        let scale = reference.values.map(abs).max() ?? 1
        expectClose(fast.scalars, plain.scalars, abs: 1e-5 * scale, rel: 0, "\(c) against im2col")
        expectClose(fast.scalars, small.scalars, abs: 1e-5 * scale, rel: 0, "\(c) against F(2×2, 3×3)")
        expectClose(fast.scalars, reference.values, abs: 1e-5 * scale, rel: 0, "\(c) against the direct sum")
    }

    /// The weight gradient (F(4×4, 3×3)'s adjoint) straight from the plan against im2col's and
    /// F(2×2, 3×3)'s, within 1e-5 of the gradient's largest magnitude: vector and staged groups,
    /// partial tiles, temporal padding, stride and dilation, 2-D.
    @Test(arguments: cases) func weightGradientMatchesIm2colAndF2(_ c: Case) {
        let x = randomTensor(c.x, seed: 74), w = randomTensor(c.w, seed: 75, low: -0.3, high: 0.3)
        let plan = ConvPlan(x: x, weight: w, bias: nil, stride: c.stride, padding: c.padding, dilation: c.dilation, groups: 1)
        let dy = randomTensor([plan.n, plan.cout] + plan.window.spatialOutput, seed: 76)
        let fast = WinogradF4Plan(plan).weightGradient(x.data, dy.data, shape: w.shape)
        let plain = ConvAlgorithm.with(.im2col) { plan.weightGradient(x: x, grad: dy) }
        let small = WinogradPlan(plan).weightGradient(x.data, dy.data, shape: w.shape)
        #expect(fast.shape == w.shape)
        let largest = plain.scalars.map(abs).max() ?? 1
        expectClose(fast.scalars, plain.scalars, abs: 1e-5 * largest, rel: 0, "\(c) against im2col")
        expectClose(fast.scalars, small.scalars, abs: 1e-5 * largest, rel: 0, "\(c) against F(2×2, 3×3)")
    }

    /// The fused epilogue (folded norm scale, bias, residual, ReLU) in F(4×4, 3×3)'s output pass,
    /// on a frame with vector groups, edge groups and partial tiles.
    @Test func epilogueMatchesTheOpsOneByOne() {
        let x = randomTensor([1, 16, 2, 18, 75], seed: 64), w = randomTensor([16, 16, 3, 3, 3], seed: 65, low: -0.3, high: 0.3)
        let bias = randomTensor([16], seed: 66), scale = randomTensor([16], seed: 67, low: 0.5, high: 2)
        let plan = ConvPlan(x: x, weight: w, bias: bias, stride: [1], padding: [1], dilation: [1], groups: 1)
        let plain = ConvAlgorithm.with(.im2col) { GradMode.noGrad { conv(x, weight: w, padding: [1]) } }
        let residual = randomTensor(plain.shape, seed: 68)
        for relu in [false, true] {
            let fast = Tensor.zeros(plain.shape)
            WinogradF4Plan(plan).forward(x.data, w.data, bias.data, fast.data,
                                         epilogue: ConvEpilogue(scale: scale.data, residual: residual.data, relu: relu))
            let expected = GradMode.noGrad { () -> Tensor in
                let y = plain * scale.reshaped([1, 16, 1, 1, 1]) + bias.reshaped([1, 16, 1, 1, 1]) + residual
                return relu ? y.relu() : y
            }
            let largest = expected.scalars.map(abs).max() ?? 1
            expectClose(fast.scalars, expected.scalars, abs: 1e-5 * largest, rel: 0, "relu \(relu)")
        }
    }

    /// `conv` picks F(4×4, 3×3) at this size for the output, the input gradient (a stride-1
    /// convolution itself) and the weight gradient (its adjoint).
    @Test func convPicksItAndItsGradientsHold() {
        let x = randomTensor([1, 48, 3, 16, 32], seed: 71), w = randomTensor([16, 48, 3, 3, 3], seed: 72, low: -0.3, high: 0.3)
        let plan = ConvPlan(x: x, weight: w, bias: nil, stride: [1], padding: [1], dilation: [1], groups: 1)
        #expect(WinogradF4Plan.applies(to: plan))
        func grads(_ algorithm: ConvAlgorithm) -> (y: [Float], dx: [Float], dw: [Float]) {
            ConvAlgorithm.with(algorithm) {
                let xi = x.copy(), wi = w.copy()
                xi.requiresGrad = true
                wi.requiresGrad = true
                let y = conv(xi, weight: wi, padding: [1])
                (y * randomTensor([1, 16, 3, 16, 32], seed: 73)).sum().backward()
                return (y.scalars, xi.grad!.scalars, wi.grad!.scalars)
            }
        }
        let fast = grads(.auto), plain = grads(.im2col)
        let largest = plain.y.map(abs).max() ?? 1, largestDx = plain.dx.map(abs).max() ?? 1
        expectClose(fast.y, plain.y, abs: 1e-5 * largest, rel: 0, "output")
        expectClose(fast.dx, plain.dx, abs: 1e-5 * largestDx, rel: 0, "input gradient")
        let largestDw = plain.dw.map(abs).max() ?? 1
        expectClose(fast.dw, plain.dw, abs: 1e-5 * largestDw, rel: 0, "weight gradient")
        gradCheck([x.copy(), w.copy()], samples: 12, "winograd F(4×4, 3×3) conv") { conv($0[0], weight: $0[1], padding: [1]) }
    }

    @Test func largeFramesOnly() {
        func applies(_ x: [Int], _ w: [Int], stride: [Int] = [1]) -> Bool {
            WinogradF4Plan.applies(to: ConvPlan(x: Tensor.zeros(x), weight: Tensor.zeros(w), bias: nil, stride: stride,
                                                padding: [1], dilation: [1], groups: 1))
        }
        #expect(applies([1, 64, 16, 56, 56], [64, 64, 3, 3, 3]))              // R3D-18's first stage
        #expect(applies([1, 128, 8, 56, 56], [128, 128, 1, 3, 3]))            // 1×3×3, K = 128
        #expect(!applies([1, 64, 8, 56, 56], [64, 64, 1, 3, 3]))              // 1×3×3, K = 64: F(2×2, 3×3)
        #expect(!applies([1, 128, 8, 28, 28], [128, 128, 3, 3, 3]))           // seven tiles per row: F(2×2, 3×3)
        #expect(!applies([1, 256, 4, 14, 14], [256, 256, 3, 3, 3]))           // 14×14 frames: F(2×2, 3×3)
        #expect(!applies([1, 64, 16, 56, 56], [64, 64, 3, 3, 3], stride: [2])) // not Winograd at all
        #expect(!applies([1, 512, 8, 56, 56], [512, 512, 3, 3, 3]))           // 28 M transformed weights: F(2×2, 3×3)
        #expect(!applies([8, 64, 56, 56], [64, 64, 3, 3]))
        // `winograd4` and `winograd2` take one tiling wherever Winograd applies.
        #expect(ConvAlgorithm.winograd4.takesF4(input: [1, 128, 8, 28, 28], weight: [128, 128, 3, 3, 3], padding: [1]))
        #expect(ConvAlgorithm.winograd4.takesF4(input: [8, 64, 56, 56], weight: [64, 64, 3, 3], padding: [1]))
        #expect(!ConvAlgorithm.winograd4.takesF4(input: [1, 64, 16, 56, 56], weight: [64, 64, 3, 3, 3], stride: [2], padding: [1]))
        #expect(!ConvAlgorithm.winograd2.takesF4(input: [1, 64, 16, 56, 56], weight: [64, 64, 3, 3, 3], padding: [1]))
        #expect(ConvAlgorithm.auto.takesF4(input: [1, 64, 16, 56, 56], weight: [64, 64, 3, 3, 3], padding: [1]))                    // single images (TSN): F(2×2, 3×3)
    }
}
