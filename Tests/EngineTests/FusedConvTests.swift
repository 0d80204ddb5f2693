import Testing
@testable import Engine

/// `convInference` (batch norm folded in, bias, residual and ReLU in the output pass) against the
/// same ops run one by one, on each convolution path: im2col, the temporal/pointwise GEMM and both Winograd tilings.
@Suite struct FusedConvTests {
    struct Case: CustomStringConvertible {
        var x: [Int], w: [Int], stride: [Int], padding: [Int]
        var description: String { "x \(x) w \(w) stride \(stride) pad \(padding)" }
    }

    static let cases = [
        Case(x: [2, 5, 4, 9, 9], w: [6, 5, 3, 3, 3], stride: [1, 2, 2], padding: [1]),        // im2col
        Case(x: [2, 8, 6, 5, 5], w: [12, 8, 3, 1, 1], stride: [1], padding: [1, 0, 0]),       // temporal GEMM
        Case(x: [1, 8, 4, 6, 6], w: [16, 8, 1, 1, 1], stride: [1], padding: [0]),             // pointwise, written once
        Case(x: [1, 48, 3, 16, 32], w: [16, 48, 3, 3, 3], stride: [1], padding: [1]),         // Winograd F(4×4, 3×3)
        Case(x: [1, 48, 2, 20, 72], w: [16, 48, 3, 3, 3], stride: [1], padding: [1]),         // F(4×4, 3×3), vector tiles
        Case(x: [3, 16, 20, 20], w: [24, 16, 3, 3], stride: [1], padding: [1]),               // Winograd F(2×2, 3×3), 2-D
        Case(x: [1, 16, 4, 8, 40], w: [16, 16, 3, 3, 3], stride: [1], padding: [1]),          // F(2×2, 3×3), vector tiles
    ]

    @Test(arguments: cases) func matchesTheOpsOneByOne(_ c: Case) {
        let x = randomTensor(c.x, seed: 41), w = randomTensor(c.w, seed: 42, low: -0.3, high: 0.3)
        let cout = c.w[0]
        let bias = randomTensor([cout], seed: 43)
        let mean = randomTensor([cout], seed: 44), variance = randomTensor([cout], seed: 45, low: 0.5, high: 2)
        let gamma = randomTensor([cout], seed: 46), beta = randomTensor([cout], seed: 47)
        let plain = GradMode.noGrad { conv(x, weight: w, bias: bias, stride: c.stride, padding: c.padding) }
        let residual = randomTensor(plain.shape, seed: 48)
        let eps: Float = 1e-5
        let scale = Tensor.empty([cout]), shift = Tensor.empty([cout])
        for i in 0..<cout {
            scale.data[i] = gamma.data[i] / (variance.data[i] + eps).squareRoot()
            shift.data[i] = beta.data[i] - mean.data[i] * scale.data[i]
        }
        for (withResidual, relu) in [(false, false), (false, true), (true, false), (true, true)] {
            let expected = GradMode.noGrad { () -> Tensor in
                var y = batchNorm(plain, runningMean: mean, runningVar: variance, weight: gamma, bias: beta, training: false, eps: eps)
                if withResidual { y = y + residual }
                return relu ? y.relu() : y
            }
            let fused = GradMode.noGrad {
                convInference(x, weight: w, bias: bias, scale: scale, shift: shift, residual: withResidual ? residual : nil,
                              relu: relu, stride: c.stride, padding: c.padding)
            }
            #expect(fused.shape == expected.shape)
            expectClose(fused.scalars, expected.scalars, abs: 1e-5, rel: 1e-5, "\(c) residual \(withResidual) relu \(relu)")
        }
        // No norm at all: the plain convolution's values.
        let bare = GradMode.noGrad { convInference(x, weight: w, bias: bias, stride: c.stride, padding: c.padding) }
        expectClose(bare.scalars, plain.scalars, abs: 1e-6, rel: 1e-6, "\(c) without a norm")
    }
}
