/// Cross-entropy from logits [N, K], averaged over the batch.

/// Hard labels, optionally smoothed: the target is (1 − ε)·onehot + ε/K, as torch's label_smoothing.
public func crossEntropy(_ logits: Tensor, targets: [Int], labelSmoothing: Float = 0) -> Tensor {
    ensure(logits.rank == 2 && targets.count == logits.shape[0],
                 "crossEntropy: logits \(logits.shape) need [N, K] with N = \(targets.count) targets")
    let k = logits.shape[1]
    ensure(targets.allSatisfy { $0 >= 0 && $0 < k }, "crossEntropy: a target in \(targets) is outside 0..<\(k)")
    ensure(labelSmoothing >= 0 && labelSmoothing <= 1, "crossEntropy: label smoothing \(labelSmoothing) outside [0, 1]")
    let soft = Tensor.full(logits.shape, labelSmoothing / Float(k))
    for (i, t) in targets.enumerated() { soft.data[i * k + t] += 1 - labelSmoothing }
    return crossEntropy(logits, softTargets: soft)
}

/// Soft targets [N, K] (rows summing to 1, e.g. mixup or cutmix labels): mean of −Σ q·log softmax(x).
public func crossEntropy(_ logits: Tensor, softTargets: Tensor) -> Tensor {
    ensure(logits.rank == 2 && softTargets.shape == logits.shape,
                 "crossEntropy: soft targets \(softTargets.shape) must match logits \(logits.shape) of shape [N, K]")
    return -(softTargets * logits.logSoftmax(axis: 1)).sum() * (1 / Float(logits.shape[0]))
}
