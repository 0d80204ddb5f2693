/// Max, average and adaptive average pooling over 1–3 spatial dims. Each (sample, channel)
/// plane is pooled independently, so planes are split across workers.

/// x [N, C, *S] → [N, C, *S'], the maximum of each window. Padding counts as −∞.
public func maxPool(_ x: Tensor, kernel: [Int], stride: [Int], padding: [Int] = [0], dilation: [Int]? = nil,
                    ceilMode: Bool = false) -> Tensor {
    let dims = x.rank - 2
    func full(_ v: [Int]) -> [Int] { Window.perDim(v, dims) }
    return traced(.maxPool(kernel: full(kernel), stride: full(stride), padding: full(padding), dilation: full(dilation ?? [1]),
                           ceilMode: ceilMode), [x]) {
        maxPool(x, kernel: kernel, stride: stride, padding: padding, dilation: dilation, ceilMode: ceilMode, scanForArgmax: false)
    }
}

/// `scanForArgmax` takes the plain scan for the argmax even where the separable maxima and a
/// search would serve (tests compare the two).
func maxPool(_ x: Tensor, kernel: [Int], stride: [Int], padding: [Int], dilation: [Int]?, ceilMode: Bool,
             scanForArgmax: Bool) -> Tensor {
    Profiler.span(.pooling, name: "maxPool") {
        ensure(x.rank >= 3, "maxPool: input \(x.shape) must be [N, C, 1–3 spatial dims]")
        let w = Window(op: "maxPool", spatial: Array(x.shape.dropFirst(2)), kernel: kernel, stride: stride,
                       padding: padding, dilation: dilation ?? [1], ceilMode: ceilMode)
        for i in 0..<3 {
            ensure(w.padding[i] * 2 <= w.kernel[i], "maxPool: padding \(padding) must be at most half the kernel \(kernel)")
        }
        let planes = x.shape[0] * x.shape[1]
        let out = Tensor.empty(Array(x.shape.prefix(2)) + w.spatialOutput)
        if !(GradMode.isEnabled && x.requiresGrad) && w.dilation == [1, 1, 1] {
            separableMax(x.data, out.data, planes: planes, w)
            return out
        }
        let owner = ArgmaxBuffer(count: out.count)
        let argmax = owner.pointer
        if w.dilation == [1, 1, 1] && !scanForArgmax {
            separableMax(x.data, out.data, planes: planes, w)
            locateMaxima(x.data, out.data, argmax, planes: planes, w)
        } else {
            scanMaxima(x.data, out.data, argmax, planes: planes, w)
        }
        return Tensor.result(out, op: "maxPool", inputs: [x]) { _, g in
            let gx = Tensor.zeros(x.shape)
            let pg = UnsafePointer(g.data), pgx = gx.data, idx = owner.pointer
            Parallel.forRanges(planes) { range in
                for p in range {
                    let dst = pgx + p * w.inputPlane, src = pg + p * w.outputPlane, ix = idx + p * w.outputPlane
                    for o in 0..<w.outputPlane {
                        let i = ArgmaxBuffer.index(ix[o])
                        if i >= 0 { dst[i] += src[o] }
                    }
                }
            }
            return [gx]
        }
    }
}

/// Each window's maximum and the flat index (within its plane) of the element it came from, by
/// one scan over the window: the first maximum in (t, h, w) order, or the last NaN.
private func scanMaxima(_ px: UnsafePointer<Float>, _ po: UnsafeMutablePointer<Float>, _ argmax: UnsafeMutablePointer<Float>,
                        planes: Int, _ w: Window) {
    Parallel.forRanges(planes) { range in
        for p in range {
            let src = px + p * w.inputPlane
            let dst = po + p * w.outputPlane, idx = argmax + p * w.outputPlane
            var o = 0
            for ot in 0..<w.output[0] { for oh in 0..<w.output[1] { for ow in 0..<w.output[2] {
                var best = -Float.infinity, bestAt: Int32 = -1
                for i in 0..<w.kernel[0] {
                    let t = ot * w.stride[0] - w.padding[0] + i * w.dilation[0]
                    if t < 0 || t >= w.input[0] { continue }
                    for j in 0..<w.kernel[1] {
                        let h = oh * w.stride[1] - w.padding[1] + j * w.dilation[1]
                        if h < 0 || h >= w.input[1] { continue }
                        let row = (t * w.input[1] + h) * w.input[2]
                        for l in 0..<w.kernel[2] {
                            let c = ow * w.stride[2] - w.padding[2] + l * w.dilation[2]
                            if c < 0 || c >= w.input[2] { continue }
                            let v = src[row + c]
                            if v > best || bestAt < 0 || v.isNaN { best = v; bestAt = Int32(row + c) }
                        }
                    }
                }
                dst[o] = best
                ArgmaxBuffer.store(Int(bestAt), at: idx + o)
                o += 1
            } } }
        }
    }
}

/// The argmax for maxima already computed (`separableMax`, no dilation): the same element that
/// `scanMaxima` picks, the first in (t, h, w) order equal to the window's maximum, or the
/// window's last NaN. A search that stops at the first match, over clipped ranges without
/// per-element bounds checks, costs a fraction of the comparing scan.
private func locateMaxima(_ px: UnsafePointer<Float>, _ po: UnsafePointer<Float>, _ argmax: UnsafeMutablePointer<Float>,
                          planes: Int, _ w: Window) {
    let (inH, inW) = (w.input[1], w.input[2])
    // Per dimension and output index, the input range its window covers inside the input.
    let ranges = (0..<3).map { d in
        (0..<w.output[d]).map { o -> Range<Int> in
            let start = o * w.stride[d] - w.padding[d]
            return Swift.max(0, start)..<Swift.max(Swift.max(0, start), Swift.min(w.input[d], start + w.kernel[d]))
        }
    }
    Parallel.forRanges(planes) { range in
        for p in range {
            let src = px + p * w.inputPlane
            let best = po + p * w.outputPlane, idx = argmax + p * w.outputPlane
            var o = 0
            for rt in ranges[0] { for rh in ranges[1] { for rw in ranges[2] {
                let m = best[o]
                var found = -1
                if m.isNaN {
                    for t in rt { for h in rh { for c in rw where src[(t * inH + h) * inW + c].isNaN { found = (t * inH + h) * inW + c } } }
                } else {
                    search: for t in rt { for h in rh {
                        let row = (t * inH + h) * inW
                        for c in rw where src[row + c] == m { found = row + c; break search }
                    } }
                }
                ArgmaxBuffer.store(found, at: idx + o)
                o += 1
            } } }
        }
    }
}

/// Max pooling without a graph, one dimension at a time: the maximum over a box is the maximum
/// along T of the maxima along H of the maxima along W, so a 3×3 window costs 6 comparisons
/// instead of 9, in loops without per-element bounds checks. A NaN anywhere in a window gives NaN,
/// as in the argmax path.
private func separableMax(_ x: UnsafeMutablePointer<Float>, _ out: UnsafeMutablePointer<Float>, planes: Int, _ w: Window) {
    let (inT, inH, inW) = (w.input[0], w.input[1], w.input[2])
    let (oT, oH, oW) = (w.output[0], w.output[1], w.output[2])
    // A dimension the window does not span (kernel 1, stride 1, no padding) needs no pass. The
    // passes run W, H, T, and the last that runs (the first spanning dimension) writes the output.
    let spans = (0..<3).map { !(w.kernel[$0] == 1 && w.stride[$0] == 1 && w.padding[$0] == 0) }
    let last = spans.firstIndex(of: true)
    Parallel.forRanges(planes) { range in
        let alongW = spans[2] && last != 2 ? Scratch(inT * inH * oW) : nil
        let alongH = spans[1] && last != 1 ? Scratch(inT * oH * oW) : nil
        defer { alongW?.free(); alongH?.free() }
        for p in range {
            let dst = out + p * w.outputPlane
            var current = UnsafePointer(x + p * w.inputPlane)  // [T, H, W] so far
            if spans[2] {
                let target = last == 2 ? dst : alongW!.pointer
                for row in 0..<(inT * inH) {
                    maxAlongRow(current + row * inW, count: inW, into: target + row * oW, outCount: oW,
                                kernel: w.kernel[2], stride: w.stride[2], padding: w.padding[2])
                }
                current = UnsafePointer(target)
            }
            if spans[1] {
                let target = last == 1 ? dst : alongH!.pointer
                for t in 0..<inT {
                    maxOverRows(current + t * inH * oW, rows: inH, into: target + t * oH * oW, outRows: oH,
                                length: oW, kernel: w.kernel[1], stride: w.stride[1], padding: w.padding[1])
                }
                current = UnsafePointer(target)
            }
            if spans[0] {
                maxOverRows(current, rows: inT, into: dst, outRows: oT, length: oH * oW,
                            kernel: w.kernel[0], stride: w.stride[0], padding: w.padding[0])
            }
            if last == nil { dst.update(from: current, count: w.outputPlane) }
        }
    }
}

/// The running maximum's step: the new element wins when greater or NaN, so a NaN stays.
@inline(__always) private func maxStep(_ v: Float, _ m: Float) -> Float { v > m || v.isNaN ? v : m }

/// dst[i] = the maximum of src[i·stride − padding ..< + kernel] clipped to the row (−∞ where
/// empty); a NaN wins. Windows inside the row run without bounds checks.
@inline(__always)
private func maxAlongRow(_ src: UnsafePointer<Float>, count n: Int, into dst: UnsafeMutablePointer<Float>, outCount: Int,
                         kernel: Int, stride: Int, padding: Int) {
    @inline(__always) func clipped(_ i: Int) {
        let r0 = i * stride - padding
        var m = -Float.infinity
        for r in Swift.max(0, r0)..<Swift.max(Swift.max(0, r0), Swift.min(n, r0 + kernel)) { m = maxStep(src[r], m) }
        dst[i] = m
    }
    // Outputs i with 0 ≤ i·stride − padding and i·stride − padding + kernel ≤ n.
    let first = Swift.min(outCount, (padding + stride - 1) / stride)
    let end = n - kernel + padding >= 0 ? Swift.max(first, Swift.min(outCount, (n - kernel + padding) / stride + 1)) : first
    for i in 0..<first { clipped(i) }
    if kernel == 3 {
        for i in first..<end {
            let b = src + (i * stride - padding)
            dst[i] = maxStep(b[2], maxStep(b[1], b[0]))
        }
    } else {
        for i in first..<end {
            let b = src + (i * stride - padding)
            var m = b[0]
            for k in 1..<Swift.max(1, kernel) { m = maxStep(b[k], m) }
            dst[i] = m
        }
    }
    for i in end..<outCount { clipped(i) }
}

/// Row i of dst (`length` floats) = the elementwise maximum of the rows i·stride − padding ..< + kernel
/// of src that exist (−∞ where none do); a NaN wins.
@inline(__always)
private func maxOverRows(_ src: UnsafePointer<Float>, rows: Int, into dst: UnsafeMutablePointer<Float>, outRows: Int,
                         length: Int, kernel: Int, stride: Int, padding: Int) {
    for i in 0..<outRows {
        let r0 = i * stride - padding, lo = Swift.max(0, r0), o = dst + i * length
        for j in 0..<length { o[j] = -Float.infinity }
        for r in lo..<Swift.max(lo, Swift.min(rows, r0 + kernel)) {
            let row = src + r * length
            for j in 0..<length { o[j] = maxStep(row[j], o[j]) }
        }
    }
}

/// Owns the argmax indices a max-pool backward needs; freed with the graph. The buffer comes
/// from the buffer pool (a training step's argmax is megabytes, and fresh pages cost a fault each),
/// so it is Float memory: each index is kept as the bit pattern of its Int32 (`store`, `index`),
/// never as a value that arithmetic touches.
final class ArgmaxBuffer: @unchecked Sendable {
    private let scratch: Scratch
    var pointer: UnsafeMutablePointer<Float> { scratch.pointer }
    init(count: Int) { scratch = Scratch(Swift.max(count, 1)) }
    deinit { scratch.free() }

    @inline(__always) static func store(_ index: Int, at p: UnsafeMutablePointer<Float>) {
        p.pointee = Float(bitPattern: UInt32(bitPattern: Int32(truncatingIfNeeded: index)))
    }
    @inline(__always) static func index(_ v: Float) -> Int { Int(Int32(bitPattern: v.bitPattern)) }
}

/// x [N, C, *S] → [N, C, *S'], the mean of each window. With `countIncludePad` the divisor counts
/// padded positions (but not the overhang that ceil mode adds), as PyTorch does.
public func avgPool(_ x: Tensor, kernel: [Int], stride: [Int], padding: [Int] = [0], ceilMode: Bool = false,
                    countIncludePad: Bool = true) -> Tensor {
    let dims = x.rank - 2
    func full(_ v: [Int]) -> [Int] { Window.perDim(v, dims) }
    return traced(.avgPool(kernel: full(kernel), stride: full(stride), padding: full(padding), ceilMode: ceilMode,
                           countIncludePad: countIncludePad), [x]) {
        windowAverage(x, kernel: kernel, stride: stride, padding: padding, ceilMode: ceilMode, countIncludePad: countIncludePad)
    }
}

private func windowAverage(_ x: Tensor, kernel: [Int], stride: [Int], padding: [Int], ceilMode: Bool, countIncludePad: Bool) -> Tensor {
    Profiler.span(.pooling, name: "avgPool") {
        ensure(x.rank >= 3, "avgPool: input \(x.shape) must be [N, C, 1–3 spatial dims]")
        let w = Window(op: "avgPool", spatial: Array(x.shape.dropFirst(2)), kernel: kernel, stride: stride,
                       padding: padding, dilation: [1], ceilMode: ceilMode)
        let ranges = (0..<3).map { d in
            (0..<w.output[d]).map { o -> (lo: Int, hi: Int, padded: Int) in
                let start = o * w.stride[d] - w.padding[d]
                let end = Swift.min(start + w.kernel[d], w.input[d] + w.padding[d])
                return (Swift.max(start, 0), Swift.min(end, w.input[d]), end - start)
            }
        }
        return windowMean(x, window: w, ranges: ranges, countIncludePad: countIncludePad, op: "avgPool")
    }
}

/// x [N, C, *S] → [N, C, *outputSize]: window i of each dim spans ⌊i·S/out⌋ ..< ⌈(i+1)·S/out⌉.
public func adaptiveAvgPool(_ x: Tensor, outputSize: [Int]) -> Tensor {
    traced(.adaptiveAvgPool(outputSize: outputSize), [x]) { adaptiveWindowAverage(x, outputSize: outputSize) }
}

private func adaptiveWindowAverage(_ x: Tensor, outputSize: [Int]) -> Tensor {
    Profiler.span(.pooling, name: "adaptiveAvgPool") {
        ensure(x.rank >= 3 && outputSize.count == x.rank - 2 && outputSize.allSatisfy { $0 >= 1 },
                     "adaptiveAvgPool: output size \(outputSize) does not fit input \(x.shape)")
        let spatial = Array(x.shape.dropFirst(2))
        var w = Window(op: "adaptiveAvgPool", spatial: spatial, kernel: [1], stride: [1], padding: [0], dilation: [1])
        w.output = Array(repeating: 1, count: 3 - outputSize.count) + outputSize
        w.spatialOutput = outputSize
        let ranges = (0..<3).map { d in
            (0..<w.output[d]).map { o -> (lo: Int, hi: Int, padded: Int) in
                let lo = o * w.input[d] / w.output[d]
                let hi = ((o + 1) * w.input[d] + w.output[d] - 1) / w.output[d]
                return (lo, hi, hi - lo)
            }
        }
        FLOPs.record("adaptive_avg_pool", x.count)
        return windowMean(x, window: w, ranges: ranges, countIncludePad: false, op: "adaptiveAvgPool")
    }
}

/// x [N, C, *S] → [N, C]: the mean over all spatial positions.
public func globalAvgPool(_ x: Tensor) -> Tensor {
    Profiler.span(.pooling, name: "globalAvgPool") {
        ensure(x.rank >= 3, "globalAvgPool: input \(x.shape) must be [N, C, spatial…]")
        FLOPs.record("adaptive_avg_pool", x.count)
        return x.reshaped([x.shape[0], x.shape[1], -1]).mean(axis: 2)
    }
}

/// Shared by the average pools: per output position, the input box [lo, hi) in T, H, W and the divisor.
private func windowMean(_ x: Tensor, window w: Window, ranges: [[(lo: Int, hi: Int, padded: Int)]],
                        countIncludePad: Bool, op: String) -> Tensor {
    let planes = x.shape[0] * x.shape[1]
    let out = Tensor.empty(Array(x.shape.prefix(2)) + w.spatialOutput)
    func each(_ body: (_ o: Int, _ t: Range<Int>, _ h: Range<Int>, _ c: Range<Int>, _ scale: Float) -> Void) {
        var o = 0
        for rt in ranges[0] { for rh in ranges[1] { for rw in ranges[2] {
            let n = countIncludePad ? rt.padded * rh.padded * rw.padded
                                    : (rt.hi - rt.lo) * (rh.hi - rh.lo) * (rw.hi - rw.lo)
            body(o, rt.lo..<rt.hi, rh.lo..<rh.hi, rw.lo..<rw.hi, n > 0 ? 1 / Float(n) : 0)
            o += 1
        } } }
    }
    let px = UnsafePointer(x.data), po = out.data
    let (inH, inW) = (w.input[1], w.input[2])
    Parallel.forRanges(planes) { range in
        for p in range {
            let src = px + p * w.inputPlane, dst = po + p * w.outputPlane
            each { o, tr, hr, cr, scale in
                var acc: Float = 0
                for t in tr { for h in hr { let row = src + (t * inH + h) * inW; for c in cr { acc += row[c] } } }
                dst[o] = acc * scale
            }
        }
    }
    return Tensor.result(out, op: op, inputs: [x]) { _, g in
        let gx = Tensor.zeros(x.shape)
        let pg = UnsafePointer(g.data), pgx = gx.data
        Parallel.forRanges(planes) { range in
            for p in range {
                let src = pg + p * w.outputPlane, dst = pgx + p * w.inputPlane
                each { o, tr, hr, cr, scale in
                    let v = src[o] * scale
                    for t in tr { for h in hr { let row = dst + (t * inH + h) * inW; for c in cr { row[c] += v } } }
                }
            }
        }
        return [gx]
    }
}
