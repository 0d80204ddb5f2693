import CKernels
import Foundation
import Testing
@testable import Engine

/// The kernels for products with at most eight rows (`CKernels`), on every instruction set the
/// CPU has, against a plain triple loop in Double.
@Suite(.serialized) struct SmallGemmTests {
    /// C [m, n] = A [m, k] · op(B) (+ C), every operand with a leading dimension wider than its rows.
    func check(isa: Int32, m: Int, n: Int, k: Int, transB: Bool, accumulate: Bool, rng: inout Xoshiro) {
        let lda = k + 3, ldb = (transB ? k : n) + 5, ldc = n + 2
        let a = Tensor.normal([m * lda], using: &rng), b = Tensor.normal([(transB ? n : k) * ldb], using: &rng)
        let c0 = Tensor.normal([m * ldc], using: &rng)
        let c = c0.copy()
        if transB {
            motive_gemm_small_m_bt(Int32(m), Int32(n), Int32(k), a.data, Int32(lda), b.data, Int32(ldb), c.data, Int32(ldc), accumulate ? 1 : 0)
        } else {
            motive_gemm_small_m(Int32(m), Int32(n), Int32(k), a.data, Int32(lda), b.data, Int32(ldb), c.data, Int32(ldc), accumulate ? 1 : 0)
        }
        var worst: Float = 0
        for i in 0..<m {
            for j in 0..<ldc {
                let got = c.data[i * ldc + j]
                guard j < n else {
                    #expect(got == c0.data[i * ldc + j], "isa \(isa): wrote past column \(n)")
                    continue
                }
                var s = accumulate ? Double(c0.data[i * ldc + j]) : 0
                for p in 0..<k {
                    let bv = transB ? b.data[j * ldb + p] : b.data[p * ldb + j]
                    s += Double(a.data[i * lda + p]) * Double(bv)
                }
                worst = max(worst, abs(got - Float(s)) / Float(max(1, abs(s))))
            }
        }
        #expect(worst < 1e-5, "isa \(isa) m \(m) n \(n) k \(k) transB \(transB) accumulate \(accumulate): error \(worst)")
    }

    @Test func everyInstructionSetMatchesAPlainProduct() {
        defer { motive_small_m_set_isa(0) }
        var rng = Xoshiro(seed: 11)
        let best = motive_small_m_supported_isa()
        for isa in 1...best {
            motive_small_m_set_isa(isa)
            #expect(motive_small_m_isa() == isa)
            for m in [1, 3, 4, 5, 8] {
                for (n, k) in [(1, 1), (7, 9), (16, 16), (17, 33), (31, 8), (32, 100), (45, 17), (70, 5)] {
                    for transB in [false, true] {
                        for accumulate in [false, true] {
                            check(isa: isa, m: m, n: n, k: k, transB: transB, accumulate: accumulate, rng: &rng)
                        }
                    }
                }
            }
        }
    }

    /// The best path is the widest the CPU's flags allow: AVX-512 where there is AVX-512, never
    /// the portable loop on a CPU with AVX2 and FMA.
    @Test func choosesTheWidestInstructionSet() throws {
        let flags = BLASCore.cpuFlags()
        try #require(!flags.isEmpty, "no CPU flags in /proc/cpuinfo")
        let expected: Int32 = flags.contains("avx512f") ? 3 : flags.contains("avx2") && flags.contains("fma") ? 2 : 1
        #expect(motive_small_m_supported_isa() == expected)
    }

    /// A convolution with eight output channels (the products this path serves) against the
    /// same convolution computed with more channels, whose GEMMs go through the BLAS.
    @Test func fewOutputChannelConvMatchesTheBLASPath() {
        var rng = Xoshiro(seed: 12)
        let x = Tensor.normal([2, 3, 6, 20, 20], using: &rng, requiresGrad: true)
        let w8 = Tensor.normal([8, 3, 3, 5, 5], using: &rng, requiresGrad: true)
        // Sixteen channels: the first eight are w8, so their outputs come from the BLAS path.
        let w16 = Tensor.concat([w8, Tensor.normal([8, 3, 3, 5, 5], using: &rng)], axis: 0).detached()
        w16.requiresGrad = true
        let y8 = conv(x, weight: w8, stride: [1, 2, 2], padding: [1, 2, 2])
        let y16 = conv(x, weight: w16, stride: [1, 2, 2], padding: [1, 2, 2])
        let g = Tensor.normal(y8.shape, using: &rng)
        y8.backward(g)
        let g16 = Tensor.concat([g, Tensor.zeros(g.shape)], axis: 1)
        y16.backward(g16)
        let first8 = y16.sliced(axis: 1, start: 0, end: 8)
        expectClose(y8.scalars, first8.scalars, abs: 1e-4, rel: 1e-4)
        expectClose(w8.grad!.scalars, Array(w16.grad!.scalars.prefix(w8.count)), abs: 1e-3, rel: 1e-4)
    }
}
