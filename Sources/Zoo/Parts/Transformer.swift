import Engine
import NN

/// Multi-head self-attention over groups of tokens, [G, L, E] → [G, L, E]: one packed `qkv`
/// Linear (E → 3E, with bias), the fused per-head attention, and an output Linear (E → E).
///
/// The two Linears sit at the reference's key paths: Hugging Face's ViT-family layout is
/// `attention.qkv` and `output.dense`, timm's is `qkv` and `proj`.
final class SelfAttention: Layer {
    let heads: Int
    let qkv: Linear
    let proj: Linear

    init(dim: Int, heads: Int, qkvKey: String, projKey: String, using rng: inout Xoshiro) {
        ensure(heads >= 1 && dim % heads == 0, "SelfAttention: dim \(dim) is not divisible by heads \(heads)")
        self.heads = heads
        qkv = Linear(dim, 3 * dim, using: &rng)
        proj = Linear(dim, dim, using: &rng)
        super.init()
        register(qkv, at: qkvKey)
        register(proj, at: projKey)
    }

    /// [G, L, E] → [G, L, E]
    override func forward(_ x: Tensor) -> Tensor {
        proj(fusedAttention(qkv(x), heads: heads))  // [G, L, 3E] → [G, L, E] → [G, L, E]
    }
}

/// Nearest-neighbour resampling as torch.nn.functional.interpolate(mode="nearest"): output index i
/// reads input index ⌊i · in/out⌋ (the ratio in Float32, as PyTorch's CPU kernel), at most in − 1.
func nearestIndices(from input: Int, to output: Int) -> [Int] {
    if input == output { return Array(0..<output) }
    let scale = Float(input) / Float(output)
    return (0..<output).map { Swift.min(Int((Float($0) * scale).rounded(.down)), input - 1) }
}

/// The rows of an h₀×w₀ grid (row-major) that a nearest resampling to h×w reads, row-major.
func nearestGridIndices(from grid: (h: Int, w: Int), to size: (h: Int, w: Int)) -> [Int] {
    let rows = nearestIndices(from: grid.h, to: size.h), cols = nearestIndices(from: grid.w, to: size.w)
    return rows.flatMap { r in cols.map { r * grid.w + $0 } }
}
