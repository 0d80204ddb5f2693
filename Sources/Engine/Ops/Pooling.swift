/// Max, average and adaptive average pooling over 1–3 spatial dims. Each (sample, channel)
/// plane is pooled independently, so planes are split across workers.

/// x [N, C, *S] → [N, C, *S'], the maximum of each window. Padding counts as −∞.
public func maxPool(_ x: Tensor, kernel: [Int], stride: [Int], padding: [Int] = [0], dilation: [Int]? = nil,
                    ceilMode: Bool = false) -> Tensor {
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
        let argmax = UnsafeMutablePointer<Int32>.allocate(capacity: out.count)
        let owner = ArgmaxBuffer(argmax)
        let px = UnsafePointer(x.data), po = out.data
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
                    dst[o] = best; idx[o] = bestAt
                    o += 1
                } } }
            }
        }
        return Tensor.result(out, op: "maxPool", inputs: [x]) { _, g in
            let gx = Tensor.zeros(x.shape)
            let pg = UnsafePointer(g.data), pgx = gx.data, idx = owner.pointer
            Parallel.forRanges(planes) { range in
                for p in range {
                    let dst = pgx + p * w.inputPlane, src = pg + p * w.outputPlane, ix = idx + p * w.outputPlane
                    for o in 0..<w.outputPlane where ix[o] >= 0 { dst[Int(ix[o])] += src[o] }
                }
            }
            return [gx]
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
    Parallel.forRanges(planes) { range in
        let alongW = Scratch(inT * inH * oW), alongH = Scratch(inT * oH * oW)
        defer { alongW.free(); alongH.free() }
        for p in range {
            let src = x + p * w.inputPlane
            for row in 0..<(inT * inH) {
                maxOverRows(src + row * inW, rows: inW, into: alongW.pointer + row * oW, outRows: oW, length: 1,
                            kernel: w.kernel[2], stride: w.stride[2], padding: w.padding[2])
            }
            for t in 0..<inT {
                maxOverRows(alongW.pointer + t * inH * oW, rows: inH, into: alongH.pointer + t * oH * oW, outRows: oH,
                            length: oW, kernel: w.kernel[1], stride: w.stride[1], padding: w.padding[1])
            }
            maxOverRows(alongH.pointer, rows: inT, into: out + p * w.outputPlane, outRows: oT, length: oH * oW,
                        kernel: w.kernel[0], stride: w.stride[0], padding: w.padding[0])
        }
    }
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
            for j in 0..<length { o[j] = row[j] > o[j] || row[j].isNaN ? row[j] : o[j] }
        }
    }
}

/// Owns the argmax indices a max-pool backward needs; freed with the graph.
final class ArgmaxBuffer: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Int32>
    init(_ p: UnsafeMutablePointer<Int32>) { pointer = p }
    deinit { pointer.deallocate() }
}

/// x [N, C, *S] → [N, C, *S'], the mean of each window. With `countIncludePad` the divisor counts
/// padded positions (but not the overhang that ceil mode adds), as PyTorch does.
public func avgPool(_ x: Tensor, kernel: [Int], stride: [Int], padding: [Int] = [0], ceilMode: Bool = false,
                    countIncludePad: Bool = true) -> Tensor {
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
