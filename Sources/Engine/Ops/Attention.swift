/// Scaled dot-product attention: softmax(q·kᵀ·scale + mask)·v.
/// q [..., L, D], k [..., S, D], v [..., S, Dv] → [..., L, Dv]. `mask` is added to the scores
/// (use −∞ to block) and broadcasts to [..., L, S]; `isCausal` blocks keys after each query.
/// Composed from matmul and softmax, so its gradient is theirs.
public func scaledDotProductAttention(_ q: Tensor, _ k: Tensor, _ v: Tensor, mask: Tensor? = nil,
                                      isCausal: Bool = false, scale: Float? = nil) -> Tensor {
    Profiler.span(.attention, flops: 2 * (q.count / Swift.max(1, q.shape.last!)) * k.shape[k.rank - 2] * (q.shape.last! + v.shape.last!),
                  detail: "q \(Profiler.shape(q.shape)) k \(Profiler.shape(k.shape)) v \(Profiler.shape(v.shape))", absorb: true) {
        ensure(q.rank >= 2 && k.rank == q.rank && v.rank == q.rank && q.shape.last == k.shape.last
                     && k.shape[k.rank - 2] == v.shape[v.rank - 2] && q.shape.dropLast(2) == k.shape.dropLast(2)
                     && k.shape.dropLast(2) == v.shape.dropLast(2),
                     "attention: q \(q.shape), k \(k.shape), v \(v.shape) must be [..., L, D], [..., S, D], [..., S, Dv]")
        let l = q.shape[q.rank - 2], s = k.shape[k.rank - 2], d = q.shape[q.rank - 1]
        var scores = matmul(q, k, transposeB: true) * (scale ?? 1 / Float(d).squareRoot())
        if let mask { scores = scores + mask }
        if isCausal {
            let causal = Tensor.zeros([l, s])
            for i in 0..<l { for j in 0..<s where j > i { causal.data[i * s + j] = -.infinity } }
            scores = scores + causal
        }
        return matmul(scores.softmax(axis: -1), v)
    }
}
