import COpenBLAS

/// Row-major single-precision GEMM: C[M, N] = alpha · op(A) · op(B) + beta · C, on OpenBLAS or
/// oneDNN (`GEMMBackend`).
/// Large products are split across the Dispatch workers, each calling a one-thread
/// `cblas_sgemm`, so BLAS threads × workers stays within the cores. Blocks of rows of C are
/// preferred (each worker packs only its own rows of A); narrow, tall products split columns.
public enum Gemm {
    public static func run(transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
                           alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                           b: UnsafePointer<Float>, ldb: Int,
                           beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int,
                           parallel: Bool = true) {
        guard m > 0, n > 0 else { return }
        _ = BLASThreads.pinned
        let flops = 2 * m * n * k
        let byRows = m >= 64 || m >= n
        let span = byRows ? m : n
        let tasks = parallel ? Swift.min(Parallel.workers, Swift.max(1, span / 16), Swift.max(1, flops / (1 << 21))) : 1
        if tasks <= 1 {
            single(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
            return
        }
        Parallel.forTasks(tasks) { t in
            // Blocks rounded to 16 so the BLAS kernels see whole panels.
            let lo = Swift.min(span, (span * t / tasks + 15) / 16 * 16)
            let hi = t == tasks - 1 ? span : Swift.min(span, (span * (t + 1) / tasks + 15) / 16 * 16)
            guard lo < hi else { return }
            if byRows {
                let aBlock = transA ? a + lo : a + lo * lda
                single(transA, transB, hi - lo, n, k, alpha, aBlock, lda, b, ldb, beta, c + lo * ldc, ldc)
            } else {
                let bBlock = transB ? b + lo * ldb : b + lo
                single(transA, transB, m, hi - lo, k, alpha, a, lda, bBlock, ldb, beta, c + lo, ldc)
            }
        }
    }

    @inline(__always)
    static func single(_ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
                       _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
                       _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
        if k == 0 {
            // BLAS leaves C untouched when K is 0; the product is then beta·C.
            for i in 0..<m { for j in 0..<n { c[i * ldc + j] *= beta } }
            return
        }
        if GEMMBackend.current == .onednn, let dnnl = OneDNN.shared {
            dnnl.run(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
            return
        }
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
}

/// Matrix product over the last two axes: a [..., M, K] · b [..., K, N] → [..., M, N].
/// With `transposeA`/`transposeB` the operand is read as its transpose without a copy.
/// b may be 2-D (shared by every batch); otherwise the batch dims of a and b must be equal.
public func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false) -> Tensor {
    traced(.matmul(transposeA: transposeA, transposeB: transposeB), [a, b]) {
        batchedProduct(a, b, transposeA: transposeA, transposeB: transposeB)
    }
}

private func batchedProduct(_ a: Tensor, _ b: Tensor, transposeA: Bool, transposeB: Bool) -> Tensor {
    Profiler.span(.gemm, flops: matmulMACs(a, b, transposeA) * 2,
                  detail: "\(Profiler.shape(a.shape))\(transposeA ? "ᵀ" : "") · \(Profiler.shape(b.shape))\(transposeB ? "ᵀ" : "")") {
        ensure(a.rank >= 2 && b.rank >= 2, "matmul: need rank ≥ 2, got shapes \(a.shape) and \(b.shape)")
        let (m, ka) = transposeA ? (a.shape[a.rank - 1], a.shape[a.rank - 2]) : (a.shape[a.rank - 2], a.shape[a.rank - 1])
        let (kb, n) = transposeB ? (b.shape[b.rank - 1], b.shape[b.rank - 2]) : (b.shape[b.rank - 2], b.shape[b.rank - 1])
        ensure(ka == kb, "matmul: inner dimensions differ for shapes \(a.shape) and \(b.shape)" +
                     " (transposeA: \(transposeA), transposeB: \(transposeB))")
        let batchA = Array(a.shape.dropLast(2)), batchB = Array(b.shape.dropLast(2))
        ensure(b.rank == 2 || batchA == batchB,
                     "matmul: batch dimensions \(batchA) and \(batchB) differ for shapes \(a.shape) and \(b.shape)")
        let batch = batchA.reduce(1, *)
        let out = Tensor.empty(batchA + [m, n])
        FLOPs.record("matmul", batch * m * n * ka)
        if FLOPs.skipsArithmetic { return out }
        let lda = a.shape[a.rank - 1], ldb = b.shape[b.rank - 1]
        if b.rank == 2 && !transposeA {
            // Fold the batch of a into M: one large GEMM.
            Gemm.run(transA: false, transB: transposeB, m: batch * m, n: n, k: ka,
                     a: a.data, lda: lda, b: b.data, ldb: ldb, c: out.data, ldc: n)
        } else {
            let strideB = b.rank == 2 ? 0 : b.shape[b.rank - 2] * ldb
            let strideA = a.shape[a.rank - 2] * lda
            for i in 0..<batch {
                Gemm.run(transA: transposeA, transB: transposeB, m: m, n: n, k: ka,
                         a: a.data + i * strideA, lda: lda, b: b.data + i * strideB, ldb: ldb,
                         c: out.data + i * m * n, ldc: n)
            }
        }
        return Tensor.result(out, op: "matmul", inputs: [a, b]) { _, g in
            // C = A·B:  dA = dC·Bᵀ, dB = Aᵀ·dC (with the operand transposes folded in).
            var ga: Tensor? = nil, gb: Tensor? = nil
            if a.requiresGrad {
                ga = transposeA ? matmul(b, g, transposeA: transposeB, transposeB: true)
                                : matmul(g, b, transposeB: !transposeB)
            }
            if b.requiresGrad {
                if b.rank == 2 && a.rank > 2 {
                    // Shared b: sum the per-batch products by folding the batch into K.
                    let a2 = transposeA ? a.transposed().reshaped([-1, a.shape[a.rank - 2]]) : a.reshaped([-1, lda])
                    let g2 = g.reshaped([-1, n])
                    gb = transposeB ? matmul(g2, a2, transposeA: true) : matmul(a2, g2, transposeA: true)
                } else {
                    gb = transposeB ? matmul(g, a, transposeA: true, transposeB: transposeA)
                                    : matmul(a, g, transposeA: !transposeA)
                }
            }
            return [ga, gb]
        }
    }
}

/// x [..., in] · weightᵀ [out, in] + bias [out] → [..., out], as torch.nn.functional.linear.
public func linear(_ x: Tensor, weight: Tensor, bias: Tensor?) -> Tensor {
    traced(.linear(gelu: false), [x, weight, bias]) { affine(x, weight: weight, bias: bias) }
}

private func affine(_ x: Tensor, weight: Tensor, bias: Tensor?) -> Tensor {
    ensure(weight.rank == 2 && x.rank >= 1 && x.shape.last == weight.shape[1],
                 "linear: input \(x.shape) does not match weight \(weight.shape)")
    let flat = x.rank == 1 ? x.reshaped([1, -1]) : x
    var y: Tensor
    if let bias, !(GradMode.isEnabled && (x.requiresGrad || weight.requiresGrad || bias.requiresGrad)) {
        y = biasedProduct(flat, weight: weight, bias: bias)
    } else {
        y = matmul(flat, weight, transposeB: true)
        if let bias { y = y + bias }
    }
    return x.rank == 1 ? y.reshaped([weight.shape[0]]) : y
}

/// linear(x, weight, bias) followed by exact GELU, a transformer MLP's first half. Without a graph
/// the GELU runs in place on the product, so no second [..., out] tensor is alive beside the
/// first (TimeSformer-base: 19 MB per block). With one, it is `linear(…).gelu()`.
public func linearGELU(_ x: Tensor, weight: Tensor, bias: Tensor?) -> Tensor {
    traced(.linear(gelu: true), [x, weight, bias]) { affineGELU(x, weight: weight, bias: bias) }
}

private func affineGELU(_ x: Tensor, weight: Tensor, bias: Tensor?) -> Tensor {
    if GradMode.isEnabled && (x.requiresGrad || weight.requiresGrad || bias?.requiresGrad == true) {
        return linear(x, weight: weight, bias: bias).gelu()
    }
    let y = linear(x, weight: weight, bias: bias)
    if FLOPs.skipsArithmetic { return y }
    Profiler.span(.elementwise, name: "gelu") { mapUnaryInPlace(GeluK.self, y.data, y.count) }
    return y
}

/// x [..., in] · weightᵀ + bias without a graph: each output row starts as the bias and the GEMM
/// adds the product onto it (beta 1), instead of a separate pass and tensor for the add.
private func biasedProduct(_ x: Tensor, weight: Tensor, bias: Tensor) -> Tensor {
    let (outF, inF) = (weight.shape[0], weight.shape[1])
    ensure(bias.shape == [outF], "linear: bias \(bias.shape) does not match weight \(weight.shape)")
    let rows = x.count / Swift.max(1, inF)
    let out = Tensor.empty(Array(x.shape.dropLast()) + [outF])
    return Profiler.span(.gemm, flops: 2 * rows * outF * inF, detail: "\(Profiler.shape(x.shape)) · \(Profiler.shape(weight.shape))ᵀ + bias") {
        FLOPs.record("matmul", rows * outF * inF)
        if FLOPs.skipsArithmetic { return out }
        let po = out.data, pb = UnsafePointer(bias.data)
        Parallel.forRanges(rows, grain: Swift.max(1, elementwiseGrain / Swift.max(outF, 1))) { range in
            for r in range { (po + r * outF).update(from: pb, count: outF) }
        }
        Gemm.run(transA: false, transB: true, m: rows, n: outF, k: inF, a: x.data, lda: inF, b: weight.data, ldb: inF,
                 beta: 1, c: po, ldc: outF)
        return out
    }
}

/// Multiply-adds of `matmul(a, b)`, for the profiler (shapes already checked by the op).
private func matmulMACs(_ a: Tensor, _ b: Tensor, _ transposeA: Bool) -> Int {
    let m = transposeA ? a.shape[a.rank - 1] : a.shape[a.rank - 2], k = transposeA ? a.shape[a.rank - 2] : a.shape[a.rank - 1]
    let n = b.count / Swift.max(1, k) / (b.rank == 2 ? 1 : a.count / Swift.max(1, m * k))
    return a.count / Swift.max(1, m * k) * m * n * k
}
