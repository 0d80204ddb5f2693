import Foundation

/// Multi-head self-attention on a packed projection, fused per head: qkv [G, L, 3·E] → [G, L, E].
///
/// Each of the G groups is an independent set of L tokens (a frame's patches, or one patch's
/// frames). Its row of `qkv` holds query, key and value side by side (columns [0, E), [E, 2E),
/// [2E, 3E)), each cut into `heads` blocks of D = E / heads: the output of a ViT `qkv` Linear.
/// Head h of group g computes, with Q, K, V [L, D] read in place at row stride 3·E,
///
///     O = softmax(scale · Q·Kᵀ) · V        (scale = 1/√D unless given)
///
/// and writes O into its D columns of the output (row stride E), so the heads come out already
/// concatenated. The scores live in an L×L scratch per worker, one (g, h) slice at a time: no
/// scores tensor of G·heads·L·L, and never one across groups.
///
/// Backward recomputes the probabilities rather than keeping them (two extra L×L×D products, no
/// stored G·heads·L·L tensor). With P = softmax(S), S = scale · Q·Kᵀ and upstream dO:
///
///     dV = Pᵀ·dO,  dP = dO·Vᵀ,  dS = P ⊙ (dP − rowsum(P ⊙ dP)),  dQ = scale · dS·K,  dK = scale · dSᵀ·Q
///
/// FLOPs: the two products Q·Kᵀ and P·V, G·heads·L·L·D each (fvcore counts them as matmuls).
public func fusedAttention(_ qkv: Tensor, heads: Int, scale: Float? = nil) -> Tensor {
    let headDim = qkv.rank == 3 ? qkv.shape[2] / 3 / Swift.max(heads, 1) : 1
    return traced(.fusedAttention(heads: heads, scale: scale ?? 1 / Float(Swift.max(headDim, 1)).squareRoot()), [qkv]) {
        attentionHeads(qkv, heads: heads, scale: scale)
    }
}

private func attentionHeads(_ qkv: Tensor, heads: Int, scale: Float?) -> Tensor {
    Profiler.span(.attention, flops: 4 * qkv.shape[0] * qkv.shape[1] * qkv.shape[1] * qkv.shape[2] / 3,
                  detail: "qkv \(Profiler.shape(qkv.shape)) heads \(heads)") {
        ensure(qkv.rank == 3 && heads >= 1 && qkv.shape[2] % (3 * heads) == 0,
               "fusedAttention: qkv \(qkv.shape) must be [G, L, 3·E] with E divisible by heads \(heads)")
        let plan = AttentionPlan(groups: qkv.shape[0], tokens: qkv.shape[1], dim: qkv.shape[2] / 3, heads: heads,
                                 scale: scale)
        let out = Tensor.empty([plan.groups, plan.tokens, plan.dim])
        FLOPs.record("attention", 2 * plan.slices * plan.tokens * plan.tokens * plan.headDim)
        if FLOPs.skipsArithmetic { return out }
        plan.forward(UnsafePointer(qkv.data), out.data)
        return Tensor.result(out, op: "fusedAttention", inputs: [qkv]) { _, g in
            let gx = Tensor.empty(qkv.shape)
            plan.backward(UnsafePointer(qkv.data), UnsafePointer(g.data), gx.data)
            return [gx]
        }
    }
}

/// The sizes of one fused attention and its per-slice kernels. A slice is one (group, head).
struct AttentionPlan {
    let groups, tokens, dim, heads, headDim: Int
    let scale: Float

    init(groups: Int, tokens: Int, dim: Int, heads: Int, scale: Float?) {
        (self.groups, self.tokens, self.dim, self.heads) = (groups, tokens, dim, heads)
        headDim = dim / heads
        self.scale = scale ?? 1 / Float(headDim).squareRoot()
    }

    var slices: Int { groups * heads }

    /// Where slice s's query block starts in qkv [G, L, 3E], and its output block in [G, L, E].
    @inline(__always) func qkvOffset(_ s: Int) -> Int { (s / heads) * tokens * 3 * dim + (s % heads) * headDim }
    @inline(__always) func outOffset(_ s: Int) -> Int { (s / heads) * tokens * dim + (s % heads) * headDim }

    /// Slices per parallel task: enough work per task that dispatch stays negligible.
    var grain: Int { Swift.max(1, (1 << 16) / Swift.max(1, tokens * tokens * headDim)) }

    func forward(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>) {
        let l = tokens, d = headDim, ld = 3 * dim
        Parallel.forRanges(slices, grain: grain) { range in
            let p = Scratch(l * l)  // [L, L]
            defer { p.free() }
            for s in range {
                let q = x + qkvOffset(s), k = q + dim, v = q + 2 * dim
                probabilities(q, k, into: p.pointer)
                // O [L, D] = P [L, L] · V [L, D]
                Gemm.single(false, false, l, d, l, 1, p.pointer, l, v, ld, 0, out + outOffset(s), dim)
            }
        }
    }

    func backward(_ x: UnsafePointer<Float>, _ g: UnsafePointer<Float>, _ gx: UnsafeMutablePointer<Float>) {
        let l = tokens, d = headDim, ld = 3 * dim
        Parallel.forRanges(slices, grain: grain) { range in
            let p = Scratch(l * l), dp = Scratch(l * l)  // [L, L] each
            defer { p.free(); dp.free() }
            for s in range {
                let q = x + qkvOffset(s), k = q + dim, v = q + 2 * dim
                let dq = gx + qkvOffset(s), dk = dq + dim, dv = dq + 2 * dim
                let dout = g + outOffset(s)
                probabilities(q, k, into: p.pointer)
                // dV [L, D] = Pᵀ · dO
                Gemm.single(true, false, l, d, l, 1, p.pointer, l, dout, dim, 0, dv, ld)
                // dP [L, L] = dO · Vᵀ
                Gemm.single(false, true, l, l, d, 1, dout, dim, v, ld, 0, dp.pointer, l)
                // dS = P ⊙ (dP − rowsum(P ⊙ dP)), in place in dP
                for i in 0..<l {
                    let pr = p.pointer + i * l, dr = dp.pointer + i * l
                    let dot = Float(LaneSums.dot(pr, dr, l))
                    for j in 0..<l { dr[j] = pr[j] * (dr[j] - dot) }
                }
                // dQ [L, D] = scale · dS · K;  dK [L, D] = scale · dSᵀ · Q
                Gemm.single(false, false, l, d, l, scale, dp.pointer, l, k, ld, 0, dq, ld)
                Gemm.single(true, false, l, d, l, scale, dp.pointer, l, q, ld, 0, dk, ld)
            }
        }
    }

    /// P [L, L] = softmax(scale · Q·Kᵀ) row by row, the row maximum subtracted first.
    @inline(__always)
    func probabilities(_ q: UnsafePointer<Float>, _ k: UnsafePointer<Float>, into p: UnsafeMutablePointer<Float>) {
        let l = tokens
        Gemm.single(false, true, l, l, headDim, scale, q, 3 * dim, k, 3 * dim, 0, p, l)
        for i in 0..<l { softmaxRow(p + i * l, p + i * l, l) }
    }
}
