/// Reductions over axes. The kernel reduces one contiguous block of axes at a time, viewing the
/// tensor as [A, R, B] and reducing R; several axes are reduced block by block, last block first.
extension Tensor {
    /// Sum over `axes` (all axes when nil).
    public func sum(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        let ax = Shape.axes(axes ?? Array(0..<rank), rank: rank, op: "sum")
        let x = self
        return traced(.reduce(.sum, axes: ax, keepDims: keepDims), [x]) {
            let out = reduceBlocks(ax, isMax: false).reshaped(Tensor.reducedShape(shape, ax, keepDims: keepDims))
            return Tensor.result(out, op: "sum", inputs: [x]) { _, g in
                [g.reshaped(Tensor.reducedShape(x.shape, ax, keepDims: true)).expanded(to: x.shape)]
            }
        }
    }

    public func sum(axis: Int, keepDims: Bool = false) -> Tensor { sum(axes: [axis], keepDims: keepDims) }

    /// Mean over `axes` (all axes when nil).
    public func mean(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        let ax = Shape.axes(axes ?? Array(0..<rank), rank: rank, op: "mean")
        let n = ax.reduce(1) { $0 * shape[$1] }
        return sum(axes: ax, keepDims: keepDims) * (1 / Float(Swift.max(n, 1)))
    }

    public func mean(axis: Int, keepDims: Bool = false) -> Tensor { mean(axes: [axis], keepDims: keepDims) }

    /// Maximum over `axes`. The gradient is shared equally among tied maxima.
    public func max(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        let ax = Shape.axes(axes ?? Array(0..<rank), rank: rank, op: "max")
        ensure(ax.allSatisfy { shape[$0] > 0 }, "max: cannot reduce an empty axis of shape \(shape)")
        let x = self
        let kept = Tensor.reducedShape(shape, ax, keepDims: true)
        return traced(.reduce(.max, axes: ax, keepDims: keepDims), [x]) {
            let out = reduceBlocks(ax, isMax: true).reshaped(Tensor.reducedShape(shape, ax, keepDims: keepDims))
            return Tensor.result(out, op: "max", inputs: [x]) { out, g in
                let mask = x.equalMask(out.detached().reshaped(kept))
                let ties = mask.sum(axes: ax, keepDims: true)
                return [mask * (g.reshaped(kept) / ties)]
            }
        }
    }

    public func max(axis: Int, keepDims: Bool = false) -> Tensor { max(axes: [axis], keepDims: keepDims) }

    /// Variance over `axes` with Bessel's `correction` (1 = unbiased, as torch.var's default).
    public func variance(axes: [Int]? = nil, correction: Int = 1, keepDims: Bool = false) -> Tensor {
        let ax = Shape.axes(axes ?? Array(0..<rank), rank: rank, op: "variance")
        let n = ax.reduce(1) { $0 * shape[$1] }
        let centred = self - mean(axes: ax, keepDims: true)
        return (centred * centred).sum(axes: ax, keepDims: keepDims) * (1 / Float(Swift.max(n - correction, 1)))
    }

    public func variance(axis: Int, correction: Int = 1, keepDims: Bool = false) -> Tensor {
        variance(axes: [axis], correction: correction, keepDims: keepDims)
    }

    static func reducedShape(_ shape: [Int], _ axes: [Int], keepDims: Bool) -> [Int] {
        var out: [Int] = []
        for (i, d) in shape.enumerated() {
            if axes.contains(i) { if keepDims { out.append(1) } } else { out.append(d) }
        }
        return out
    }

    /// Reduces sorted `axes`, keeping them as size-1 dims. No graph.
    private func reduceBlocks(_ axes: [Int], isMax: Bool) -> Tensor {
        Profiler.span(.elementwise) {
            var current = self
            var dims = shape
            var i = axes.count - 1
            while i >= 0 {
                var lo = axes[i]
                let hi = axes[i]
                while i > 0 && axes[i - 1] == lo - 1 { i -= 1; lo = axes[i] }
                let a = dims[..<lo].reduce(1, *)
                let r = dims[lo...hi].reduce(1, *)
                let b = dims[(hi + 1)...].reduce(1, *)
                current = Tensor.reduceABR(current, a: a, r: r, b: b, isMax: isMax)
                for k in lo...hi { dims[k] = 1 }
                i -= 1
            }
            return current === self ? self.copy().reshaped(dims) : current.reshaped(dims)
        }
    }

    /// [A, R, B] → [A, B], summing or taking the max over R.
    private static func reduceABR(_ x: Tensor, a: Int, r: Int, b: Int, isMax: Bool) -> Tensor {
        let out = Tensor.empty([a * b])
        let px = UnsafePointer(x.data), po = out.data
        if b == 1 {
            Parallel.forRanges(a, grain: Swift.max(1, elementwiseGrain / Swift.max(r, 1))) { range in
                for i in range {
                    let row = px + i * r
                    var acc: Float = isMax ? -.infinity : 0
                    if isMax { for j in 0..<r { acc = Swift.max(acc, row[j]) } } else { for j in 0..<r { acc += row[j] } }
                    po[i] = acc
                }
            }
            return out
        }
        // Split the B columns too, so a single-A reduction (sum over the batch) is still parallel.
        let chunks = Swift.max(1, Swift.min(b / 1024, Parallel.workers))
        Parallel.forRanges(a * chunks, grain: Swift.max(1, elementwiseGrain / Swift.max(r * b / chunks, 1))) { range in
            for task in range {
                let i = task / chunks, c = task % chunks
                let lo = b * c / chunks, hi = b * (c + 1) / chunks
                let o = po + i * b
                let base = px + i * r * b
                if r == 0 { for k in lo..<hi { o[k] = isMax ? -.infinity : 0 }; continue }
                for k in lo..<hi { o[k] = base[k] }
                for j in 1..<Swift.max(r, 1) {
                    let row = base + j * b
                    if isMax { for k in lo..<hi { o[k] = Swift.max(o[k], row[k]) } } else { for k in lo..<hi { o[k] += row[k] } }
                }
            }
        }
        return out
    }
}
