import Engine

/// Multi-head attention with torch.nn.MultiheadAttention's parameters, on batch-first input.
///
/// query [N, L, E], key [N, S, E], value [N, S, E] → [N, L, E], with E = heads · D:
/// Q, K, V = x·Wᵢᵀ + bᵢ for the three row blocks of `in_proj_weight`, each head attends with
/// softmax(Q·Kᵀ/√D + mask)·V, and the heads' outputs are concatenated and passed through `out_proj`.
///
/// Keys, in order: `in_proj_weight` [3E, E] (rows: query, key, value), `in_proj_bias` [3E],
/// `out_proj.weight` [E, E], `out_proj.bias` [E]. Initialised as PyTorch: Xavier-uniform in-projection,
/// zero biases, Linear's default for the out-projection weight.
/// `dropout` applies to the attention weights in training. Attention weights are not returned.
public final class MultiheadAttention: Layer {
    public let embedDim: Int
    public let heads: Int
    public let dropout: Float
    public let inProjWeight: Tensor
    public let inProjBias: Tensor?
    public let outProj: Linear

    public init(embedDim: Int, heads: Int, dropout: Float = 0, bias: Bool = true, using rng: inout Xoshiro) {
        ensure(heads >= 1 && embedDim % heads == 0, "MultiheadAttention: embedDim \(embedDim) is not divisible by heads \(heads)")
        self.embedDim = embedDim
        self.heads = heads
        self.dropout = dropout
        outProj = Linear(embedDim, embedDim, bias: bias, using: &rng)
        inProjWeight = Init.xavierUniform(Tensor.zeros([3 * embedDim, embedDim]), using: &rng)
        inProjBias = bias ? Tensor.zeros([3 * embedDim]) : nil
        if let b = outProj.bias { b.fill(0) }
        super.init()
        registerParameter("in_proj_weight", inProjWeight)
        if let inProjBias { registerParameter("in_proj_bias", inProjBias) }
        registerModule("out_proj", outProj)
    }

    public convenience init(embedDim: Int, heads: Int, dropout: Float = 0, bias: Bool = true) {
        var rng = GlobalRandom.fork()
        self.init(embedDim: embedDim, heads: heads, dropout: dropout, bias: bias, using: &rng)
    }

    /// Self-attention: x [N, L, E] → [N, L, E].
    public override func forward(_ x: Tensor) -> Tensor { self(query: x, key: x, value: x) }

    /// `mask` is additive (−∞ blocks) and is [L, S], [N·heads, L, S] as in PyTorch, or anything that
    /// broadcasts to [N, heads, L, S]. `isCausal` blocks keys after each query.
    public func callAsFunction(query: Tensor, key: Tensor, value: Tensor, mask: Tensor? = nil,
                               isCausal: Bool = false) -> Tensor {
        ensure(query.rank == 3 && query.shape[2] == embedDim, "MultiheadAttention: query \(query.shape) should be [N, L, \(embedDim)]")
        ensure(key.rank == 3 && value.shape == key.shape && key.shape[0] == query.shape[0] && key.shape[2] == embedDim,
                     "MultiheadAttention: key \(key.shape) and value \(value.shape) should be [N, S, \(embedDim)] with N = \(query.shape[0])")
        let n = query.shape[0], l = query.shape[1]
        let q = project(query, block: 0)  // [N, heads, L, D]
        let k = project(key, block: 1)    // [N, heads, S, D]
        let v = project(value, block: 2)  // [N, heads, S, D]
        var m = mask
        if let mask, mask.rank == 3 { m = mask.reshaped([n, heads, mask.shape[1], mask.shape[2]]) }
        let y: Tensor  // [N, heads, L, D]
        if isTraining && dropout > 0 {
            y = attentionWithDropout(q, k, v, mask: m, isCausal: isCausal)
        } else {
            y = scaledDotProductAttention(q, k, v, mask: m, isCausal: isCausal)
        }
        return outProj(y.permuted([0, 2, 1, 3]).reshaped([n, l, embedDim]))  // [N, L, E]
    }

    /// x [N, L, E] → [N, heads, L, D] through one row block of the in-projection.
    private func project(_ x: Tensor, block: Int) -> Tensor {
        let e = embedDim
        let w = inProjWeight.sliced(axis: 0, start: block * e, end: (block + 1) * e)
        let b = inProjBias?.sliced(axis: 0, start: block * e, end: (block + 1) * e)
        return linear(x, weight: w, bias: b)
            .reshaped([x.shape[0], x.shape[1], heads, e / heads])
            .permuted([0, 2, 1, 3])
    }

    /// The attention composition with dropout on the weights, which the fused op does not offer.
    private func attentionWithDropout(_ q: Tensor, _ k: Tensor, _ v: Tensor, mask: Tensor?, isCausal: Bool) -> Tensor {
        let l = q.shape[2], s = k.shape[2]
        var scores = matmul(q, k, transposeB: true) * (1 / Float(embedDim / heads).squareRoot())  // [N, heads, L, S]
        if let mask { scores = scores + mask }
        if isCausal {
            let causal = Tensor.zeros([l, s])
            for i in 0..<l { for j in (i + 1)..<max(s, i + 1) { causal.data[i * s + j] = -.infinity } }
            scores = scores + causal
        }
        return matmul(scores.softmax(axis: -1).dropout(p: dropout, training: true), v)
    }
}
