import Engine

/// Batch normalisation over axis 1 of [N, C, *S] for any number of spatial dims (BatchNorm1d/2d/3d
/// in one class); the output has the input's shape.
///
/// Keys, in order: `weight` [C], `bias` [C], `running_mean` [C], `running_var` [C] and
/// `num_batches_tracked` [] (a Float32 counter). In training it normalises with the batch statistics
/// (biased variance), then moves the running statistics by `momentum` towards the batch's mean and
/// unbiased variance and counts the batch. In evaluation it normalises with the running statistics.
/// A `momentum` of nil gives the cumulative average (factor 1 / num_batches_tracked), as in PyTorch.
public final class BatchNorm: Layer {
    /// Checkpoints saved before PyTorch 0.4.1 have no `num_batches_tracked`.
    public override var legacyOptionalKeys: [String] { ["num_batches_tracked"] }

    public let numFeatures: Int
    public let eps: Float
    public var momentum: Float?
    public let weight: Tensor?
    public let bias: Tensor?
    public let runningMean: Tensor?
    public let runningVar: Tensor?
    public let numBatchesTracked: Tensor?
    /// Set for training on several processes with `train.sync_bn`: batch statistics over all of them.
    public var sync: (any BatchStatisticsSync)?

    public init(_ numFeatures: Int, eps: Float = 1e-5, momentum: Float? = 0.1, affine: Bool = true,
                trackRunningStats: Bool = true) {
        self.numFeatures = numFeatures
        self.eps = eps
        self.momentum = momentum
        weight = affine ? Tensor.ones([numFeatures]) : nil
        bias = affine ? Tensor.zeros([numFeatures]) : nil
        runningMean = trackRunningStats ? Tensor.zeros([numFeatures]) : nil
        runningVar = trackRunningStats ? Tensor.ones([numFeatures]) : nil
        numBatchesTracked = trackRunningStats ? Tensor.zeros([]) : nil
        super.init()
        if let weight, let bias {
            registerParameter("weight", weight)
            registerParameter("bias", bias)
        }
        if let runningMean, let runningVar, let numBatchesTracked {
            registerBuffer("running_mean", runningMean)
            registerBuffer("running_var", runningVar)
            registerBuffer("num_batches_tracked", numBatchesTracked)
        }
    }

    public override func forward(_ x: Tensor) -> Tensor {
        ensure(x.rank >= 2 && x.shape[1] == numFeatures,
                     "BatchNorm: input \(x.shape) should be [N, \(numFeatures), ...]")
        var factor: Float = 0
        if isTraining, let counter = numBatchesTracked {
            counter.data[0] += 1
            factor = momentum ?? 1 / counter.data[0]
        }
        // Without running statistics even evaluation has to use the batch's.
        let useBatchStats = isTraining || runningMean == nil
        // [N, C, *S] → [N, C, *S]
        return batchNorm(x, runningMean: runningMean, runningVar: runningVar, weight: weight, bias: bias,
                         training: useBatchStats, momentum: factor, eps: eps, sync: isTraining ? sync : nil)
    }

    /// In evaluation mode with running statistics the norm is the per-channel affine map
    /// y = s·x + t, which a preceding convolution can absorb.
    public var isFoldable: Bool { !isTraining && runningMean != nil && runningVar != nil }

    /// s = γ/√(σ² + ε) and t = β − μ·s, from the running statistics.
    public var foldedScaleShift: (scale: Tensor, shift: Tensor)? {
        guard let runningMean, let runningVar else { return nil }
        let scale = Tensor.zeros([numFeatures]), shift = Tensor.zeros([numFeatures])
        for c in 0..<numFeatures {
            let s = (weight?.data[c] ?? 1) / (runningVar.data[c] + eps).squareRoot()
            scale.data[c] = s
            shift.data[c] = (bias?.data[c] ?? 0) - runningMean.data[c] * s
        }
        return (scale, shift)
    }
}

/// Layer normalisation over the trailing `normalizedShape` axes: [..., *normalizedShape] keeps its shape.
///
/// Keys `weight` and `bias`, both of shape `normalizedShape`, initialised to 1 and 0.
public final class LayerNorm: Layer {
    public let normalizedShape: [Int]
    public let eps: Float
    public let weight: Tensor?
    public let bias: Tensor?

    public init(_ normalizedShape: [Int], eps: Float = 1e-5, elementwiseAffine: Bool = true, bias: Bool = true) {
        self.normalizedShape = normalizedShape
        self.eps = eps
        weight = elementwiseAffine ? Tensor.ones(normalizedShape) : nil
        self.bias = elementwiseAffine && bias ? Tensor.zeros(normalizedShape) : nil
        super.init()
        if let weight { registerParameter("weight", weight) }
        if let b = self.bias { registerParameter("bias", b) }
    }

    public convenience init(_ features: Int, eps: Float = 1e-5) { self.init([features], eps: eps) }

    public override func forward(_ x: Tensor) -> Tensor {
        layerNorm(x, normalizedShape: normalizedShape, weight: weight, bias: bias, eps: eps)
    }
}
