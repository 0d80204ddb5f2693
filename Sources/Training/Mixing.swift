import Engine
import Foundation
import Inference

/// The targets of one training batch: each sample's label, and with mixup or cutmix the label of
/// the sample mixed into it with weight 1 − `lambda`.
struct BatchTargets {
    var labels: [Int]
    var mixedWith: [Int]?
    var lambda: Float = 1

    /// The mean (label-smoothed) cross-entropy of `logits` [n, K] against samples `range`.
    func loss(_ logits: Tensor, _ range: Range<Int>, smoothing: Float) -> Tensor {
        let own = crossEntropy(logits, targets: Array(labels[range]), labelSmoothing: smoothing)
        guard let other = mixedWith, lambda < 1 else { return own }
        return own * lambda + crossEntropy(logits, targets: Array(other[range]), labelSmoothing: smoothing) * (1 - lambda)
    }
}

/// Mixup (Zhang et al. 2018) and CutMix (Yun et al. 2019) over a batch of clips, as MMAction2's
/// blending does: λ ~ Beta(α, α), each clip mixed with a clip of a shuffled copy of the batch. CutMix
/// pastes one box (the same in every frame) and sets λ to the area it leaves. With both α > 0, each
/// batch uses one of the two, chosen with equal odds.
struct BatchMixer {
    var mixupAlpha: Double
    var cutmixAlpha: Double

    var isActive: Bool { mixupAlpha > 0 || cutmixAlpha > 0 }

    /// Mixes `clips` [B, …, H, W] in place and returns the batch's targets.
    func mix(_ clips: Tensor, labels: [Int], using rng: inout Xoshiro) -> BatchTargets {
        let b = clips.shape[0]
        guard isActive, b > 1 else { return BatchTargets(labels: labels) }
        let useCutmix = cutmixAlpha > 0 && (mixupAlpha <= 0 || rng.nextFloat() < 0.5)
        var lambda = Float(Self.beta(useCutmix ? cutmixAlpha : mixupAlpha, using: &rng))
        var order = Array(0..<b)
        for i in stride(from: b - 1, to: 0, by: -1) { order.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
        let source = clips.copy()
        let per = clips.count / b
        let h = clips.shape[clips.rank - 2], w = clips.shape[clips.rank - 1]
        let out = clips.data, src = source.data
        if useCutmix {
            // A box of area (1 − λ)·H·W centred anywhere, clipped to the frame.
            let cut = Double(1 - lambda).squareRoot()
            let ch = Int(Double(h) * cut), cw = Int(Double(w) * cut)
            let cy = Int(rng.next() % UInt64(h)), cx = Int(rng.next() % UInt64(w))
            let y0 = max(cy - ch / 2, 0), y1 = min(cy + ch / 2, h), x0 = max(cx - cw / 2, 0), x1 = min(cx + cw / 2, w)
            for i in 0..<b {
                let to = out + i * per, from = src + order[i] * per
                for plane in 0..<(per / (h * w)) {
                    for y in y0..<y1 {
                        let row = plane * h * w + y * w
                        (to + row + x0).update(from: from + row + x0, count: x1 - x0)
                    }
                }
            }
            lambda = 1 - Float((y1 - y0) * (x1 - x0)) / Float(h * w)
        } else {
            for i in 0..<b {
                let to = out + i * per, from = src + order[i] * per
                for j in 0..<per { to[j] = lambda * to[j] + (1 - lambda) * from[j] }
            }
        }
        return BatchTargets(labels: labels, mixedWith: order.map { labels[$0] }, lambda: lambda)
    }

    /// A draw from Beta(α, α) as X / (X + Y) with X, Y ~ Gamma(α, 1).
    static func beta(_ alpha: Double, using rng: inout Xoshiro) -> Double {
        let x = gamma(alpha, using: &rng), y = gamma(alpha, using: &rng)
        return x + y > 0 ? x / (x + y) : 0.5
    }

    /// Gamma(shape, 1) by Marsaglia and Tsang (2000), boosted for shape < 1.
    static func gamma(_ shape: Double, using rng: inout Xoshiro) -> Double {
        if shape < 1 {
            let u = max(Double(rng.nextFloat()), 1e-12)
            return gamma(shape + 1, using: &rng) * pow(u, 1 / shape)
        }
        let d = shape - 1.0 / 3, c = 1 / (9 * d).squareRoot()
        while true {
            var x: Double, v: Double
            repeat {
                x = Double(rng.nextNormal())
                v = 1 + c * x
            } while v <= 0
            v = v * v * v
            let u = max(Double(rng.nextFloat()), 1e-12)
            if log(u) < 0.5 * x * x + d - d * v + d * log(v) { return d * v }
        }
    }
}
