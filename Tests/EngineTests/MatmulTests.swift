import Foundation
import Testing
@testable import Engine

@Suite struct MatmulTests {
    func naive(_ a: [Float], _ b: [Float], m: Int, k: Int, n: Int) -> [Float] {
        var c = [Float](repeating: 0, count: m * n)
        for i in 0..<m { for j in 0..<n { var s: Float = 0; for p in 0..<k { s += a[i * k + p] * b[p * n + j] }; c[i * n + j] = s } }
        return c
    }

    @Test func handValues() {
        let a = Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3]), b = Tensor([7, 8, 9, 10, 11, 12], shape: [3, 2])
        expectClose(matmul(a, b).scalars, [58, 64, 139, 154])
        expectClose(matmul(a, a, transposeB: true).scalars, [14, 32, 32, 77])
        expectClose(matmul(a, a, transposeA: true).scalars, [17, 22, 27, 22, 29, 36, 27, 36, 45])
        let w = Tensor([1, 0, 0, 1, 1, 1], shape: [3, 2]), bias = Tensor([0.5, -0.5, 0], shape: [3])
        expectClose(linear(Tensor([2, 3], shape: [2]), weight: w, bias: bias).scalars, [2.5, 2.5, 5])
    }

    /// Without a graph, `linear` starts each row at the bias and lets the GEMM add onto it: the
    /// same values as the product and the add done apart (the graph path), for a vector, a
    /// batch of rows split over the workers and a 3-D input.
    @Test func linearWithoutAGraphMatchesTheProductAndTheAdd() {
        for (i, shape) in [[7], [300, 40], [2, 150, 40]].enumerated() {
            let x = randomTensor(shape, seed: UInt64(300 + i)), w = randomTensor([33, shape.last!], seed: UInt64(310 + i))
            let bias = randomTensor([33], seed: UInt64(320 + i))
            let fused = GradMode.noGrad { linear(x, weight: w, bias: bias) }
            let apart = matmul(x.rank == 1 ? x.reshaped([1, -1]) : x, w, transposeB: true) + bias
            #expect(fused.shape == Array(shape.dropLast()) + [33])
            expectClose(fused.scalars, apart.scalars, abs: 1e-5, rel: 1e-5, "shape \(shape)")
            #expect(FLOPs.count { _ = GradMode.noGrad { linear(x, weight: w, bias: bias) } }.total == x.count / shape.last! * 33 * shape.last!)
        }
    }

    /// `linearGELU` without a graph (GELU in place on the product) against `linear(…).gelu()`,
    /// and with a graph, its gradients against finite differences.
    @Test func linearGELUMatchesLinearThenGELU() {
        let x = randomTensor([2, 150, 40], seed: 330, low: -3, high: 3), w = randomTensor([70, 40], seed: 331)
        let bias = randomTensor([70], seed: 332)
        let fused = GradMode.noGrad { linearGELU(x, weight: w, bias: bias) }
        let apart = GradMode.noGrad { linear(x, weight: w, bias: bias).gelu() }
        #expect(fused.shape == [2, 150, 70])
        #expect(fused.scalars == apart.scalars)
        let small = randomTensor([3, 5], seed: 333, low: -2, high: 2), ws = randomTensor([4, 5], seed: 334)
        gradCheck([small, ws, randomTensor([4], seed: 335)], "linearGELU") { linearGELU($0[0], weight: $0[1], bias: $0[2]) }
    }

    @Test func largeSplitProductMatchesNaive() {
        // Large enough to be split over the workers by columns.
        let a = randomTensor([70, 300], seed: 41), b = randomTensor([300, 530], seed: 42)
        expectClose(matmul(a, b).scalars, naive(a.scalars, b.scalars, m: 70, k: 300, n: 530), abs: 1e-3)
    }

    @Test func batched() {
        let a = randomTensor([2, 3, 4, 5], seed: 43), b = randomTensor([2, 3, 5, 2], seed: 44)
        let c = matmul(a, b)
        #expect(c.shape == [2, 3, 4, 2])
        for batch in 0..<6 {
            let expected = naive(Array(a.scalars[(batch * 20)..<(batch * 20 + 20)]), Array(b.scalars[(batch * 10)..<(batch * 10 + 10)]), m: 4, k: 5, n: 2)
            expectClose(Array(c.scalars[(batch * 8)..<(batch * 8 + 8)]), expected, abs: 1e-5)
        }
    }

    @Test func gradients() {
        let a = randomTensor([3, 4], seed: 45), b = randomTensor([4, 2], seed: 46)
        gradCheck([a, b], "matmul") { matmul($0[0], $0[1]) }
        let at = randomTensor([4, 3], seed: 47), bt = randomTensor([2, 4], seed: 48)
        gradCheck([at, bt], "matmul transposed") { matmul($0[0], $0[1], transposeA: true, transposeB: true) }
        gradCheck([a, bt], "matmul transB") { matmul($0[0], $0[1], transposeB: true) }
        let ba = randomTensor([2, 3, 4], seed: 49), bb = randomTensor([2, 4, 5], seed: 50)
        gradCheck([ba, bb], "batched") { matmul($0[0], $0[1]) }
        gradCheck([ba, b], "shared right operand") { matmul($0[0], $0[1]) }
        let w = randomTensor([5, 4], seed: 51), bias = randomTensor([5], seed: 52)
        gradCheck([ba, w, bias], "linear") { linear($0[0], weight: $0[1], bias: $0[2]) }
    }
}

@Suite struct BLASCoreTests {
    @Test func kernelsFollowCPUFlags() {
        #expect(BLASCore.supported(cpuFlags: ["avx512f", "avx512dq", "avx512bw", "avx512vl", "avx2", "fma"]) == "SkylakeX")
        #expect(BLASCore.supported(cpuFlags: ["avx512f", "avx2", "fma"]) == "Haswell")
        #expect(BLASCore.supported(cpuFlags: ["sse4_2", "avx"]) == nil)
        #expect(!BLASCore.current.isEmpty)
    }
}

/// oneDNN's SGEMM (loaded at run time, installed by `make deps`) against OpenBLAS's, on the
/// shapes, transposes, leading dimensions and beta that the engine's GEMMs use.
@Suite struct GEMMBackendTests {
    @Test func oneDNNIsInstalledAndChosenByDefault() {
        #expect(GEMMBackend.available == [.openblas, .onednn], "make deps installs libdnnl2")
        if ProcessInfo.processInfo.environment["MOTIVE_GEMM"] == nil {
            #expect(GEMMBackend.preferred == .onednn)
        }
    }

    @Test(arguments: [(false, false), (true, false), (false, true), (true, true)])
    func backendsAgree(_ transposes: (Bool, Bool)) {
        let (ta, tb) = transposes
        for (m, n, k) in [(1, 1, 1), (7, 13, 5), (64, 37, 192), (130, 3, 66), (5, 300, 17), (33, 9, 0)] {
            // Operands stored with padded rows (leading dimension larger than the row).
            let (ar, ac) = ta ? (k, m) : (m, k), (br, bc) = tb ? (n, k) : (k, n)
            let a = randomTensor([max(ar, 1), ac + 3], seed: 31), b = randomTensor([max(br, 1), bc + 2], seed: 32)
            let c0 = randomTensor([m, n + 1], seed: 33)
            func run(_ backend: GEMMBackend) -> [Float] {
                let c = c0.copy()
                GEMMBackend.with(backend) {
                    Gemm.run(transA: ta, transB: tb, m: m, n: n, k: k, alpha: 0.5, a: a.data, lda: ac + 3,
                             b: b.data, ldb: bc + 2, beta: 0.25, c: c.data, ldc: n + 1, parallel: false)
                }
                return c.scalars
            }
            expectClose(run(.onednn), run(.openblas), abs: 1e-5, rel: 1e-5, "M \(m) N \(n) K \(k) transA \(ta) transB \(tb)")
        }
    }
}
