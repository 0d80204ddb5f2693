/// Shape and layout ops: reshape, permute, slice, concat, split, pad, repeat, index-select.
/// Reshape shares storage; the others copy into a new contiguous tensor.
extension Tensor {
    /// Same elements, new shape; one dimension may be -1.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var dims = newShape
        if let hole = dims.firstIndex(of: -1) {
            let known = dims.enumerated().filter { $0.offset != hole }.reduce(1) { $0 * $1.element }
            ensure(known > 0 && count % known == 0, "reshape: cannot reshape \(shape) to \(newShape)")
            dims[hole] = count / known
        }
        ensure(Shape.count(dims) == count, "reshape: cannot reshape \(shape) (\(count) elements) to \(newShape)")
        if dims == shape { return self }
        let x = self
        return traced(.reshape, [x]) { Tensor.result(dims, storage, op: "reshape", inputs: [x]) { _, g in [g.reshaped(x.shape)] } }
    }

    /// Merges axes start...end into one.
    public func flattened(from start: Int = 0, to end: Int = -1) -> Tensor {
        if rank == 0 { return reshaped([1]) }
        let s = Shape.axis(start, rank: rank, op: "flatten"), e = Shape.axis(end, rank: rank, op: "flatten")
        ensure(s <= e, "flatten: start axis \(start) after end axis \(end) for shape \(shape)")
        return reshaped(Array(shape[..<s]) + [shape[s...e].reduce(1, *)] + Array(shape[(e + 1)...]))
    }

    public func unsqueezed(_ axis: Int) -> Tensor {
        let a = Shape.axis(axis, rank: rank + 1, op: "unsqueeze")
        var dims = shape
        dims.insert(1, at: a)
        return reshaped(dims)
    }

    public func squeezed(_ axis: Int) -> Tensor {
        let a = Shape.axis(axis, rank: rank, op: "squeeze")
        ensure(shape[a] == 1, "squeeze: axis \(axis) of shape \(shape) is not 1")
        var dims = shape
        dims.remove(at: a)
        return reshaped(dims)
    }

    /// Reorders axes: result axis i is input axis `order[i]`.
    public func permuted(_ order: [Int]) -> Tensor {
        let perm = order.map { Shape.axis($0, rank: rank, op: "permute") }
        ensure(perm.count == rank && Set(perm).count == rank,
               "permute: \(order) is not a permutation of the axes of shape \(shape)")
        if perm == Array(0..<rank) { return self }
        return traced(.permute(perm), [self]) { permutedCopy(perm) }
    }

    private func permutedCopy(_ perm: [Int]) -> Tensor {
        Profiler.span(.copy) {
            let x = self
            let inStrides = Shape.strides(shape)
            let outShape = perm.map { shape[$0] }
            let out = Tensor.empty(outShape)
            let plan = BroadcastPlan(out: outShape, stridesA: perm.map { inStrides[$0] }, stridesB: outShape.map { _ in 0 })
            let inner = plan.inner, ia = plan.sa.last!
            let px = UnsafePointer(data), po = out.data
            Parallel.forRanges(plan.rows, grain: Swift.max(1, elementwiseGrain / inner)) { range in
                plan.forRows(range) { oa, _, row in
                    let o = po + row * inner
                    if ia == 1 { o.update(from: px + oa, count: inner) } else { for j in 0..<inner { o[j] = px[oa + j * ia] } }
                }
            }
            var inverse = [Int](repeating: 0, count: rank)
            for (i, p) in perm.enumerated() { inverse[p] = i }
            return Tensor.result(out, op: "permute", inputs: [x]) { _, g in [g.permuted(inverse)] }
        }
    }

    public func transposed(_ a: Int = -2, _ b: Int = -1) -> Tensor {
        let i = Shape.axis(a, rank: rank, op: "transpose"), j = Shape.axis(b, rank: rank, op: "transpose")
        var order = Array(0..<rank)
        order.swapAt(i, j)
        return permuted(order)
    }

    /// Elements start, start+step, … below end along `axis`.
    public func sliced(axis: Int, start: Int, end: Int, step: Int = 1) -> Tensor {
        traced(.slice(axis: axis, start: start, end: end, step: step), [self]) { slicedCopy(axis: axis, start: start, end: end, step: step) }
    }

    private func slicedCopy(axis: Int, start: Int, end: Int, step: Int) -> Tensor {
        Profiler.span(.copy) {
            let a = Shape.axis(axis, rank: rank, op: "slice")
            let n = shape[a]
            let lo = start < 0 ? start + n : start, hi = end < 0 ? end + n : Swift.min(end, n)
            ensure(step >= 1 && lo >= 0 && lo <= hi && hi <= n,
                         "slice: range \(start)..<\(end) step \(step) invalid for axis \(axis) of shape \(shape)")
            let len = (hi - lo + step - 1) / step
            var outShape = shape
            outShape[a] = len
            let outer = shape[..<a].reduce(1, *), inner = shape[(a + 1)...].reduce(1, *)
            let out = Tensor.empty(outShape)
            Tensor.copyRows(len, from: data, axis: n, to: out.data, axis: len, outer: outer, inner: inner, source: { lo + $0 * step })
            let x = self
            return Tensor.result(out, op: "slice", inputs: [x]) { _, g in
                let gx = Tensor.zeros(x.shape)
                Tensor.copyRows(len, from: g.data, axis: len, to: gx.data, axis: n, outer: outer, inner: inner,
                                destination: { lo + $0 * step })
                return [gx]
            }
        }
    }

    /// Row copy along one axis of [outer, axis, inner] layouts:
    /// for o in outer, j in 0..<rows: dst[o, dstIndex(j), :] (+)= src[o, srcIndex(j), :].
    static func copyRows(_ rows: Int, from src: UnsafeMutablePointer<Float>, axis srcAxis: Int,
                         to dst: UnsafeMutablePointer<Float>, axis dstAxis: Int, outer: Int, inner: Int,
                         accumulate: Bool = false,
                         source: (Int) -> Int = { $0 }, destination: (Int) -> Int = { $0 }) {
        for o in 0..<outer {
            for j in 0..<rows {
                let s = src + (o * srcAxis + source(j)) * inner
                let d = dst + (o * dstAxis + destination(j)) * inner
                if accumulate { for k in 0..<inner { d[k] += s[k] } } else { d.update(from: s, count: inner) }
            }
        }
    }

    /// Joins tensors along `axis`; all other dimensions must match.
    public static func concat(_ parts: [Tensor], axis: Int) -> Tensor {
        traced(.concat(axis: axis), parts) { concatCopy(parts, axis: axis) }
    }

    private static func concatCopy(_ parts: [Tensor], axis: Int) -> Tensor {
        Profiler.span(.copy) {
            ensure(!parts.isEmpty, "concat: no tensors")
            let ref = parts[0].shape
            let a = Shape.axis(axis, rank: ref.count, op: "concat")
            for p in parts {
                var s = p.shape, r = ref
                ensure(s.count == r.count, "concat: shapes \(parts.map(\.shape)) differ in rank")
                s[a] = 0; r[a] = 0
                ensure(s == r, "concat: shapes \(parts.map(\.shape)) differ outside axis \(axis)")
            }
            let total = parts.reduce(0) { $0 + $1.shape[a] }
            var outShape = ref
            outShape[a] = total
            let outer = ref[..<a].reduce(1, *), inner = ref[(a + 1)...].reduce(1, *)
            let out = Tensor.empty(outShape)
            var offset = 0
            var offsets: [Int] = []
            for p in parts {
                let off = offset, len = p.shape[a]
                copyRows(len, from: p.data, axis: len, to: out.data, axis: total, outer: outer, inner: inner,
                         destination: { off + $0 })
                offsets.append(off)
                offset += len
            }
            return result(out, op: "concat", inputs: parts) { _, g in
                zip(parts, offsets).map { p, off in
                    p.requiresGrad ? g.sliced(axis: a, start: off, end: off + p.shape[a]) : nil
                }
            }
        }
    }

    /// Cuts along `axis` into pieces of the given sizes.
    public func split(sizes: [Int], axis: Int) -> [Tensor] {
        let a = Shape.axis(axis, rank: rank, op: "split")
        ensure(sizes.reduce(0, +) == shape[a] && sizes.allSatisfy { $0 >= 0 },
                     "split: sizes \(sizes) do not add up to \(shape[a]) on axis \(axis) of shape \(shape)")
        var start = 0
        return sizes.map { n in
            defer { start += n }
            return sliced(axis: a, start: start, end: start + n)
        }
    }

    /// Cuts along `axis` into `parts` equal pieces.
    public func split(parts: Int, axis: Int) -> [Tensor] {
        let a = Shape.axis(axis, rank: rank, op: "split")
        ensure(parts > 0 && shape[a] % parts == 0, "split: axis \(axis) of shape \(shape) does not split into \(parts)")
        return split(sizes: Array(repeating: shape[a] / parts, count: parts), axis: a)
    }

    /// Pads with `value`: `padding[i]` is (before, after) for axis i (missing trailing entries mean none).
    public func padded(_ padding: [(Int, Int)], value: Float = 0) -> Tensor {
        traced(.pad(padding.map { [$0.0, $0.1] }, value: value), [self]) { paddedCopy(padding, value: value) }
    }

    private func paddedCopy(_ padding: [(Int, Int)], value: Float) -> Tensor {
        Profiler.span(.copy) {
            ensure(padding.count <= rank && padding.allSatisfy { $0.0 >= 0 && $0.1 >= 0 },
                         "pad: padding \(padding) invalid for shape \(shape)")
            let pads = padding + Array(repeating: (0, 0), count: rank - padding.count)
            let outShape = zip(shape, pads).map { $0 + $1.0 + $1.1 }
            let out = Tensor.full(outShape, value)
            let outStrides = Shape.strides(outShape)
            let offset = zip(pads, outStrides).reduce(0) { $0 + $1.0.0 * $1.1 }
            Tensor.stridedCopy(shape: shape, from: data, fromStrides: Shape.strides(shape), to: out.data + offset, toStrides: outStrides)
            let x = self
            return Tensor.result(out, op: "pad", inputs: [x]) { _, g in
                let gx = Tensor.empty(x.shape)
                Tensor.stridedCopy(shape: x.shape, from: g.data + offset, fromStrides: outStrides, to: gx.data, toStrides: Shape.strides(x.shape))
                return [gx]
            }
        }
    }

    /// dst[i] = src[i] for every multi-index i of `shape`, walking both with their own strides.
    static func stridedCopy(shape: [Int], from src: UnsafeMutablePointer<Float>, fromStrides: [Int],
                            to dst: UnsafeMutablePointer<Float>, toStrides: [Int]) {
        guard Shape.count(shape) > 0 else { return }
        let plan = BroadcastPlan(out: shape, stridesA: fromStrides, stridesB: toStrides)
        let inner = plan.inner, ia = plan.sa.last!, ib = plan.sb.last!
        let ps = UnsafePointer(src)
        Parallel.forRanges(plan.rows, grain: Swift.max(1, elementwiseGrain / inner)) { range in
            plan.forRows(range) { oa, ob, _ in
                if ia == 1 && ib == 1 { (dst + ob).update(from: ps + oa, count: inner) } else {
                    for j in 0..<inner { dst[ob + j * ib] = ps[oa + j * ia] }
                }
            }
        }
    }

    /// Tiles the tensor `counts[i]` times along axis i (torch.Tensor.repeat).
    public func repeated(_ counts: [Int]) -> Tensor {
        ensure(counts.count >= rank && counts.allSatisfy { $0 >= 1 },
                     "repeat: counts \(counts) invalid for shape \(shape)")
        let dims = Array(repeating: 1, count: counts.count - rank) + shape
        var split: [Int] = [], tiled: [Int] = []
        for (c, d) in zip(counts, dims) { split += [1, d]; tiled += [c, d] }
        return reshaped(split).expanded(to: tiled).reshaped(zip(counts, dims).map(*))
    }

    /// Picks `indices` along `axis` (repeats allowed); the gradient adds back into the picked rows.
    public func indexSelect(axis: Int, indices: [Int]) -> Tensor {
        traced(.indexSelect(axis: Shape.axis(axis, rank: rank, op: "index_select"), indices: indices), [self]) {
            indexSelectCopy(axis: axis, indices: indices)
        }
    }

    private func indexSelectCopy(axis: Int, indices: [Int]) -> Tensor {
        Profiler.span(.copy) {
            let a = Shape.axis(axis, rank: rank, op: "index_select")
            let n = shape[a]
            ensure(indices.allSatisfy { $0 >= 0 && $0 < n },
                         "index_select: an index in \(indices) is out of range for axis \(axis) of shape \(shape)")
            var outShape = shape
            outShape[a] = indices.count
            let outer = shape[..<a].reduce(1, *), inner = shape[(a + 1)...].reduce(1, *)
            let out = Tensor.empty(outShape)
            Tensor.copyRows(indices.count, from: data, axis: n, to: out.data, axis: indices.count, outer: outer, inner: inner,
                            source: { indices[$0] })
            let x = self
            return Tensor.result(out, op: "index_select", inputs: [x]) { _, g in
                let gx = Tensor.zeros(x.shape)
                Tensor.copyRows(indices.count, from: g.data, axis: indices.count, to: gx.data, axis: n, outer: outer, inner: inner,
                                accumulate: true, destination: { indices[$0] })
                return [gx]
            }
        }
    }
}
