import Engine
import NN

/// TimeSformer (Bertasius, Wang & Torresani, ICML 2021) with divided space-time attention, in the
/// layout and state-dict keys of Hugging Face transformers' `TimesformerForVideoClassification`,
/// so its checkpoints (`facebook/timesformer-base-finetuned-k400`, …) load unchanged.
///
/// Input [N, 3, T, H, W] → [N, classes]. Each frame is cut into p×p patches (h = H/p, w = W/p,
/// P = h·w) and projected to E dims; tokens are [CLS, then P·T patch tokens], patch-major and
/// time-minor (token 1 + i·T + t is patch i of frame t). Patch tokens get a learned position
/// embedding per patch and a time embedding per frame; CLS gets position 0. Each of the blocks:
///
/// 1. temporal attention: every patch attends over its own T frames (LayerNorm, attention, then
///    `temporal_dense`, the original repository's `temporal_fc`), added to the patch tokens;
/// 2. spatial attention: every frame's P patches attend together with a copy of CLS; the T CLS
///    outputs are averaged back into one;
/// 3. MLP (LayerNorm, E → 4E, exact GELU, 4E → E), residual.
///
/// A final LayerNorm (eps 1e-6 throughout), then the classifier on CLS. Attention is
/// `fusedAttention`: a worker holds the (1 + P)² or T² scores of one head of one frame or patch at
/// a time, never a (P·T)² matrix.
///
/// Position and time embeddings are stored for the configured `size` and `frames`. Other clip
/// sizes and lengths resample them by nearest neighbour at run time, and a state dict saved at
/// another size or length is resampled the same way when it loads (`adaptStateDict`).
public final class TimeSformer: VideoModel {
    public struct Config: Sendable, Equatable {
        public var classes = 400
        /// Frames and image size the embeddings are stored for.
        public var frames = 8
        public var size = 224
        public var patch = 16
        public var dim = 768
        public var depth = 12
        public var heads = 12
        public var mlpDim = 3072
        public var eps: Float = 1e-6
        public init() {}

        /// Patches per side of the stored position grid.
        public var grid: Int { size / patch }
    }

    public let config: Config
    let embeddings: Embeddings
    let blocks: [DividedSpaceTimeBlock]
    let norm: LayerNorm
    let head: ClassifierHead

    static let positionKey = "timesformer.embeddings.position_embeddings"
    static let timeKey = "timesformer.embeddings.time_embeddings"

    public init(_ config: Config, using rng: inout Xoshiro) {
        self.config = config
        embeddings = Embeddings(config, using: &rng)
        blocks = (0..<config.depth).map { _ in DividedSpaceTimeBlock(config, using: &rng) }
        norm = LayerNorm([config.dim], eps: config.eps)
        head = ClassifierHead(features: config.dim, classes: config.classes, dropout: 0, using: &rng)
        super.init()
        register(embeddings, at: "timesformer.embeddings")
        for (i, block) in blocks.enumerated() { register(block, at: "timesformer.encoder.layer.\(i)") }
        register(norm, at: "timesformer.layernorm")
        head.register(on: self, at: "classifier")
        huggingFaceInit(using: &rng)
    }

    /// Hugging Face's `_init_weights`: every Linear and the patch projection N(0, 0.02²) with zero
    /// bias, CLS and position embeddings N(0, 0.02²), time embeddings 0, LayerNorm γ = 1, β = 0.
    /// (HF's trunc_normal_ cuts at ±2, a hundred standard deviations out: a plain normal.)
    private func huggingFaceInit(using rng: inout Xoshiro) {
        for (_, module) in namedModules() {
            if let fc = module as? Linear {
                Init.normal(fc.weight, std: 0.02, using: &rng)
                if let b = fc.bias { Init.constant(b, 0) }
            }
        }
        Init.normal(embeddings.projection.weight, std: 0.02, using: &rng)
        if let b = embeddings.projection.bias { Init.constant(b, 0) }
        Init.normal(embeddings.cls, std: 0.02, using: &rng)
        Init.normal(embeddings.position, std: 0.02, using: &rng)
        Init.constant(embeddings.time, 0)
    }

    /// [N, 3, T, H, W] → [N, E]: the final-normed CLS token.
    public override func features(_ x: Tensor) -> Tensor {
        ensure(x.rank == 5 && x.shape[1] == 3, "TimeSformer: input \(x.shape) should be [N, 3, T, H, W]")
        var y = embeddings(x)                       // [N, 1 + P·T, E]
        let frames = x.shape[2]
        for block in blocks { y = block(y, frames: frames) }
        // Normed over the whole sequence as the reference does (and fvcore counts), then CLS.
        return norm(y).sliced(axis: 1, start: 0, end: 1).squeezed(1)  // [N, E]
    }

    /// [N, 3, T, H, W] → [N, classes]
    public override func forward(_ x: Tensor) -> Tensor { head(features(x), training: isTraining) }

    /// The fully connected layers (C3D) or the position and time embeddings (TimeSformer) fix the clip's size.
    public override func inputProblem(_ x: Tensor) -> String? {
        (x.shape[2], x.shape[3], x.shape[4]) == (config.frames, config.size, config.size)
            ? nil : "clips [N, 3, \(config.frames), \(config.size), \(config.size)]"
    }

    /// A timm ViT (`loadImageViT`).
    public override func importImageWeights(_ state: [String: Tensor]) throws -> [String] { try loadImageViT(state) }

    /// Resamples position and time embeddings saved for another image size or frame count to this
    /// model's, by nearest neighbour as the reference does at run time; everything else passes through.
    public override func adaptStateDict(_ dict: [String: Tensor]) -> [String: Tensor] {
        var out = dict
        let e = config.dim
        if let pos = dict[Self.positionKey], pos.shape != embeddings.position.shape, pos.rank == 3, pos.shape[2] == e {
            let side = Int(Double(pos.shape[1] - 1).squareRoot().rounded())
            if side * side == pos.shape[1] - 1 {
                out[Self.positionKey] = GradMode.noGrad {
                    Self.resamplePositions(pos, from: (side, side), to: (config.grid, config.grid))
                }
            }
        }
        if let time = dict[Self.timeKey], time.shape != embeddings.time.shape, time.rank == 3, time.shape[2] == e {
            out[Self.timeKey] = GradMode.noGrad {
                time.squeezed(0).indexSelect(axis: 0, indices: nearestIndices(from: time.shape[1], to: config.frames))
                    .unsqueezed(0)  // [1, T₀, E] → [1, frames, E]
            }
        }
        return out
    }

    /// [1, 1 + h₀·w₀, E] → [1, 1 + h·w, E]: CLS's row kept, the grid resampled by nearest neighbour.
    static func resamplePositions(_ pos: Tensor, from grid: (h: Int, w: Int), to size: (h: Int, w: Int)) -> Tensor {
        let rows = pos.squeezed(0)  // [1 + h₀·w₀, E]
        let cls = rows.sliced(axis: 0, start: 0, end: 1)
        let patches = rows.sliced(axis: 0, start: 1, end: rows.shape[0])
            .indexSelect(axis: 0, indices: nearestGridIndices(from: grid, to: size))  // [h·w, E]
        return Tensor.concat([cls, patches], axis: 0).unsqueezed(0)
    }
}

extension TimeSformer {
    /// Initialises the model from a 2D ViT image checkpoint with timm's keys (`patch_embed.proj`,
    /// `cls_token`, `pos_embed`, `blocks.N.norm1`, `blocks.N.attn.qkv`, `blocks.N.attn.proj`,
    /// `blocks.N.norm2`, `blocks.N.mlp.fc1/fc2`, `norm`, `head`), as TimeSformer starts training:
    /// spatial attention, norms and MLP from the ViT; temporal attention and its LayerNorm copies of
    /// the spatial ones; `temporal_dense` and the time embeddings zero. The temporal branch then
    /// adds nothing, so on a clip of one image repeated the model gives the image model's logits.
    ///
    /// A position grid of another size is resampled (nearest). The classifier is copied when its
    /// shape matches `head` and left as initialised otherwise. Returns the keys left as initialised.
    @discardableResult
    public func loadImageViT(_ state: [String: Tensor]) throws(StateDictError) -> [String] {
        var converted: [String: Tensor] = [:], left: [String] = []
        for (key, target) in stateDict() {
            guard let source = Self.timmKey(for: key) else {
                converted[key] = Tensor.zeros(target.shape)  // temporal_dense, time embeddings
                continue
            }
            guard let value = state[source] else {
                if key.hasPrefix("classifier.") { left.append(key); continue }
                throw .missingKey(source)
            }
            if key.hasPrefix("classifier."), value.shape != target.shape { left.append(key); continue }
            converted[key] = value
        }
        try loadStateDict(converted, strict: false)  // resamples the position grid first
        return left
    }

    /// The timm ViT key that feeds a TimeSformer key; nil for the parts a ViT does not have.
    static func timmKey(for key: String) -> String? {
        let fixed = [
            "timesformer.embeddings.cls_token": "cls_token",
            positionKey: "pos_embed",
            "timesformer.embeddings.patch_embeddings.projection.weight": "patch_embed.proj.weight",
            "timesformer.embeddings.patch_embeddings.projection.bias": "patch_embed.proj.bias",
            "timesformer.layernorm.weight": "norm.weight", "timesformer.layernorm.bias": "norm.bias",
            "classifier.weight": "head.weight", "classifier.bias": "head.bias",
        ]
        if let name = fixed[key] { return name }
        let prefix = "timesformer.encoder.layer."
        guard key.hasPrefix(prefix) else { return nil }
        let rest = key.dropFirst(prefix.count)
        guard let dot = rest.firstIndex(of: ".") else { return nil }
        let block = rest[..<dot], path = rest[rest.index(after: dot)...]
        let parts = [
            "attention.attention.qkv": "attn.qkv", "attention.output.dense": "attn.proj",
            "temporal_attention.attention.qkv": "attn.qkv", "temporal_attention.output.dense": "attn.proj",
            "layernorm_before": "norm1", "temporal_layernorm": "norm1", "layernorm_after": "norm2",
            "intermediate.dense": "mlp.fc1", "output.dense": "mlp.fc2",
        ]
        guard let end = path.lastIndex(of: "."), let name = parts[String(path[..<end])] else { return nil }
        return "blocks.\(block).\(name)\(path[end...])"
    }
}

/// `timesformer.embeddings`: CLS token, position and time embeddings, and the patch projection.
final class Embeddings: Module {
    let config: TimeSformer.Config
    let cls: Tensor        // [1, 1, E]
    let position: Tensor   // [1, 1 + grid², E]
    let time: Tensor       // [1, frames, E]
    let projection: Conv   // weight [E, 3, p, p], as HF's Conv2d

    init(_ config: TimeSformer.Config, using rng: inout Xoshiro) {
        self.config = config
        let e = config.dim
        cls = Tensor.zeros([1, 1, e])
        position = Tensor.zeros([1, 1 + config.grid * config.grid, e])
        time = Tensor.zeros([1, config.frames, e])
        projection = Conv(3, e, kernelSize: [config.patch, config.patch], stride: [config.patch, config.patch], using: &rng)
        super.init()
        registerParameter("cls_token", cls)
        registerParameter("position_embeddings", position)
        registerParameter("time_embeddings", time)
        register(projection, at: "patch_embeddings.projection")
    }

    /// [N, 3, T, H, W] → [N, 1 + P·T, E]
    func callAsFunction(_ x: Tensor) -> Tensor {
        let n = x.shape[0], t = x.shape[2], e = config.dim, p = config.patch
        // The 2D projection applied to every frame at once, as a 1×p×p convolution.
        let kernel = projection.weight.reshaped([e, 3, 1, p, p])
        let y = conv(x, weight: kernel, bias: projection.bias, stride: [1, p, p])  // [N, E, T, h, w]
        let (h, w) = (y.shape[3], y.shape[4])
        let patches = y.permuted([0, 3, 4, 2, 1]).reshaped([n, h * w, t, e])     // [N, P, T, E]
        let rows = position.squeezed(0)                                          // [1 + grid², E]
        var grid = rows.sliced(axis: 0, start: 1, end: rows.shape[0])            // [grid², E]
        if (h, w) != (config.grid, config.grid) {
            grid = grid.indexSelect(axis: 0, indices: nearestGridIndices(from: (config.grid, config.grid), to: (h, w)))
        }
        var frames = time.squeezed(0)                                             // [frames, E]
        if t != config.frames { frames = frames.indexSelect(axis: 0, indices: nearestIndices(from: config.frames, to: t)) }
        // Position first, then time, in the reference's order of additions.
        let tokens = (patches + grid.reshaped([1, h * w, 1, e])) + frames.reshaped([1, 1, t, e])  // [N, P, T, E]
        let first = (cls + rows.sliced(axis: 0, start: 0, end: 1)).expanded(to: [n, 1, e])        // [N, 1, E]
        return Tensor.concat([first, tokens.reshaped([n, h * w * t, e])], axis: 1)                // [N, 1 + P·T, E]
    }
}

/// One encoder layer, `timesformer.encoder.layer.N`, on tokens [N, 1 + P·T, E] (CLS, then patch-major
/// and time-minor). Registered in the reference's state-dict order.
final class DividedSpaceTimeBlock: Module {
    let spatialAttention: SelfAttention
    let fc1: Linear, fc2: Linear
    let spatialNorm: LayerNorm, mlpNorm: LayerNorm, temporalNorm: LayerNorm
    let temporalAttention: SelfAttention
    let temporalDense: Linear

    init(_ config: TimeSformer.Config, using rng: inout Xoshiro) {
        let e = config.dim
        spatialAttention = SelfAttention(dim: e, heads: config.heads, qkvKey: "attention.qkv", projKey: "output.dense", using: &rng)
        fc1 = Linear(e, config.mlpDim, using: &rng)
        fc2 = Linear(config.mlpDim, e, using: &rng)
        spatialNorm = LayerNorm([e], eps: config.eps)
        mlpNorm = LayerNorm([e], eps: config.eps)
        temporalNorm = LayerNorm([e], eps: config.eps)
        temporalAttention = SelfAttention(dim: e, heads: config.heads, qkvKey: "attention.qkv", projKey: "output.dense", using: &rng)
        temporalDense = Linear(e, e, using: &rng)
        super.init()
        register(spatialAttention, at: "attention")
        register(fc1, at: "intermediate.dense")
        register(fc2, at: "output.dense")
        register(spatialNorm, at: "layernorm_before")
        register(mlpNorm, at: "layernorm_after")
        register(temporalNorm, at: "temporal_layernorm")
        register(temporalAttention, at: "temporal_attention")
        register(temporalDense, at: "temporal_dense")
    }

    /// [N, 1 + P·T, E] → [N, 1 + P·T, E]
    func callAsFunction(_ x: Tensor, frames t: Int) -> Tensor {
        ensure(x.rank == 3 && t >= 1 && (x.shape[1] - 1) % t == 0, "TimeSformer block: tokens \(x.shape) are not [N, 1 + P·\(t), E]")
        let n = x.shape[0], e = x.shape[2], p = (x.shape[1] - 1) / t
        let cls = x.sliced(axis: 1, start: 0, end: 1)                      // [N, 1, E]
        let patches = x.sliced(axis: 1, start: 1, end: x.shape[1])         // [N, P·T, E]

        // Temporal: each patch over its T frames.
        let byPatch = patches.reshaped([n * p, t, e])                       // [N·P, T, E]
        let temporal = temporalAttention(temporalNorm(byPatch)).reshaped([n, p * t, e])  // [N, P·T, E]
        let mixed = patches + temporalDense(temporal)                       // [N, P·T, E]

        // Spatial: each frame's patches, with CLS repeated per frame.
        let byFrame = mixed.reshaped([n, p, t, e]).permuted([0, 2, 1, 3]).reshaped([n * t, p, e])  // [N·T, P, E]
        let clsPerFrame = cls.expanded(to: [n, t, e]).reshaped([n * t, 1, e])                       // [N·T, 1, E]
        let spatial = spatialAttention(spatialNorm(Tensor.concat([clsPerFrame, byFrame], axis: 1)))  // [N·T, 1 + P, E]
        let clsUpdate = spatial.sliced(axis: 1, start: 0, end: 1).reshaped([n, t, e]).mean(axis: 1, keepDims: true)  // [N, 1, E]
        let patchUpdate = spatial.sliced(axis: 1, start: 1, end: 1 + p).reshaped([n, t, p, e])
            .permuted([0, 2, 1, 3]).reshaped([n, p * t, e])                // [N, P·T, E]
        let y = Tensor.concat([cls + clsUpdate, mixed + patchUpdate], axis: 1)  // [N, 1 + P·T, E]

        // MLP.
        return y + fc2(fc1.forwardGELU(mlpNorm(y)))                              // [N, 1 + P·T, E]
    }
}
