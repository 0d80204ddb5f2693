/// One N-d convolution (1, 2 or 3 spatial dims) as tiled im2col + GEMM.
///
/// The output columns (T·H·W positions) are cut into tiles of whole output rows. For each
/// (sample, group, tile) the matching patch matrix col [Cg·kT·kH·kW, tile] is built in a small
/// buffer that stays in cache, and one-thread GEMMs turn it into the output tile. Tiles run on
/// all Dispatch workers. Nothing is saved for backward but the input and the weight: the
/// backward pass rebuilds each tile's patch matrix.

/// x [N, Cin, *S] ⋆ weight [Cout, Cin/groups, *K] (+ bias [Cout]) → [N, Cout, *S'] with
/// S' = ⌊(S + 2·padding − dilation·(K − 1) − 1) / stride⌋ + 1 per spatial dim.
public func conv(_ x: Tensor, weight: Tensor, bias: Tensor? = nil, stride: [Int] = [1], padding: [Int] = [0],
                 dilation: [Int] = [1], groups: Int = 1) -> Tensor {
    let dims = weight.rank - 2
    func full(_ v: [Int]) -> [Int] { Window.perDim(v, dims) }
    return traced(.conv(stride: full(stride), padding: full(padding), dilation: full(dilation), groups: groups), [x, weight, bias]) {
        convolve(x, weight: weight, bias: bias, stride: stride, padding: padding, dilation: dilation, groups: groups)
    }
}

private func convolve(_ x: Tensor, weight: Tensor, bias: Tensor?, stride: [Int], padding: [Int], dilation: [Int], groups: Int) -> Tensor {
    let plan = ConvPlan(x: x, weight: weight, bias: bias, stride: stride, padding: padding, dilation: dilation, groups: groups)
    let out = Tensor.empty([plan.n, plan.cout] + plan.window.spatialOutput)
    FLOPs.record("conv", plan.multiplyAdds)
    if FLOPs.skipsArithmetic { return out }
    Profiler.span(.convForward, flops: plan.flops, detail: plan.describe(x, weight)) {
        plan.forward(x.data, weight.data, bias?.data, out.data)
    }
    let inputs = [x, weight] + (bias.map { [$0] } ?? [])
    return Tensor.result(out, op: "conv", inputs: inputs) { _, g in
        let (gx, gw, gb) = plan.backward(x: x, weight: weight, grad: g,
                                         needInput: x.requiresGrad, needWeight: weight.requiresGrad,
                                         needBias: bias?.requiresGrad ?? false)
        return [gx, gw] + (bias == nil ? [] : [gb])
    }
}

/// How convolutions run. `auto` takes Winograd where it applies (3×3 spatial kernels at stride
/// 1): F(4×4, 3×3) on large frames of clips (`WinogradF4Plan.applies`), F(2×2, 3×3) for the
/// rest; and im2col + GEMM elsewhere, with stride-2 rows read from a copy split by column parity
/// (`SplitRows`). `winograd2` and `winograd4` take one Winograd tiling wherever Winograd applies;
/// `im2col` always takes the plain path, gathers included. All but `auto` are for parity tests
/// and benchmarks of the fast paths.
public enum ConvAlgorithm: String, Sendable, CaseIterable {
    /// F(4×4, 3×3) on large frames of clips, F(2×2, 3×3) on the other Winograd shapes.
    case auto
    /// Winograd F(2×2, 3×3) wherever Winograd applies.
    case winograd2
    /// Winograd F(4×4, 3×3) wherever Winograd applies.
    case winograd4
    case im2col

    /// Whether `plan` runs as F(4×4, 3×3).
    func takesF4(_ plan: ConvPlan) -> Bool {
        switch self {
        case .auto: WinogradF4Plan.applies(to: plan)
        case .winograd4: WinogradPlan.applies(to: plan)
        case .winograd2, .im2col: false
        }
    }

    /// Whether an ungrouped convolution of an input shaped `input` [N, C, (T,) H, W] by a weight
    /// shaped `weight` runs as F(4×4, 3×3).
    public func takesF4(input: [Int], weight: [Int], stride: [Int] = [1], padding: [Int], dilation: [Int] = [1]) -> Bool {
        takesF4(ConvPlan(x: Tensor.zeros(input), weight: Tensor.zeros(weight), bias: nil, stride: stride, padding: padding,
                         dilation: dilation, groups: 1))
    }

    @TaskLocal public static var current = ConvAlgorithm.auto

    /// Runs `body` with convolutions forced to `algorithm`.
    public static func with<R>(_ algorithm: ConvAlgorithm, _ body: () throws -> R) rethrows -> R {
        try $current.withValue(algorithm) { try body() }
    }
}

/// Inference-only convolution with its batch norm folded in and its epilogue fused:
/// act(conv(x, W·s) + (b·s + t) + residual), with s, t the norm's per-channel scale and shift
/// (s = γ/√(σ² + ε), t = β − μ·s). One pass over the output instead of the norm's, the add's and
/// the ReLU's own passes and tensors. Records no graph: only under `GradMode.noGrad`.
public func convInference(_ x: Tensor, weight: Tensor, bias: Tensor? = nil, scale: Tensor? = nil, shift: Tensor? = nil,
                          residual: Tensor? = nil, relu: Bool = false, stride: [Int] = [1], padding: [Int] = [0],
                          dilation: [Int] = [1], groups: Int = 1) -> Tensor {
    ensure(!GradMode.isEnabled, "convInference: inference only; run it under GradMode.noGrad")
    ensure(!Trace.isRecording, "convInference: a traced forward pass runs the convolution, norm and activation op by op")
    let plan = ConvPlan(x: x, weight: weight, bias: bias, stride: stride, padding: padding, dilation: dilation, groups: groups)
    let cout = plan.cout
    for (name, t) in [("scale", scale), ("shift", shift)] {
        if let t { ensure(t.count == cout, "convInference: \(name) \(t.shape) does not match \(cout) output channels") }
    }
    let out = Tensor.empty([plan.n, cout] + plan.window.spatialOutput)
    if let residual { ensure(residual.shape == out.shape, "convInference: residual \(residual.shape) differs from the output \(out.shape)") }
    FLOPs.record("conv", plan.multiplyAdds)
    if FLOPs.skipsArithmetic { return out }
    Profiler.span(.convForward, flops: plan.flops, detail: plan.describe(x, weight)) {
        // The scale multiplies each output channel in the output pass, (W·s)∗x = s·(W∗x): no
        // scaled copy of the weights per call.
        var b = bias
        if scale != nil || shift != nil {
            let folded = Tensor.empty([cout])
            for co in 0..<cout {
                folded.data[co] = (bias?.data[co] ?? 0) * (scale?.data[co] ?? 1) + (shift?.data[co] ?? 0)
            }
            b = folded
        }
        plan.forward(x.data, weight.data, b?.data, out.data,
                     epilogue: ConvEpilogue(scale: scale.map { UnsafePointer($0.data) }, residual: residual.map { UnsafePointer($0.data) },
                                            relu: relu))
    }
    return out
}

/// What a convolution does to its output while the tile is still in cache: multiply by a
/// per-channel scale and add a per-channel bias (the caller's loop picks the channel's), add a
/// residual of the output's shape, clamp at zero.
struct ConvEpilogue {
    /// One factor per output channel (a folded batch norm's), or nil for 1.
    var scale: UnsafePointer<Float>? = nil
    var residual: UnsafePointer<Float>? = nil
    var relu = false

    /// out[j] = act(out[j]·scale + bias + residual[j]) for j in `columns`. A scale of 1 leaves
    /// out[j] exactly as it was.
    @inline(__always)
    func apply(_ out: UnsafeMutablePointer<Float>, _ columns: Range<Int>, scale k: Float, bias: Float, residual r: UnsafePointer<Float>?) {
        switch (r, relu) {
        case (nil, false):
            if k != 1 || bias != 0 { for j in columns { out[j] = out[j] * k + bias } }
        case (nil, true):
            for j in columns { out[j] = Swift.max(out[j] * k + bias, 0) }
        case (let r?, false):
            for j in columns { out[j] = out[j] * k + bias + r[j] }
        case (let r?, true):
            for j in columns { out[j] = Swift.max(out[j] * k + bias + r[j], 0) }
        }
    }
}

/// A convolution's input with every row's even columns followed by its odd ones, for stride 2
/// along W: each patch row of the patch matrix then reads one contiguous run instead of every
/// other element. Made once per call, it costs one pass over the input, where the gathers it
/// saves touch each input element about kT·kH·kW / 4 times.
struct SplitRows {
    let scratch: Scratch
    /// Columns of even parity per row; the odd ones follow them. A row takes 2·half floats.
    let half: Int
    let plane: Int

    /// Nil unless the plan strides by 2 along W without dilation there (and `ConvAlgorithm` is `auto`).
    init?(_ plan: ConvPlan, _ x: UnsafePointer<Float>) {
        let w = plan.window
        guard ConvAlgorithm.current != .im2col, w.stride[2] == 2, w.dilation[2] == 1, w.input[2] >= 2 else { return nil }
        let inW = w.input[2]
        half = (inW + 1) / 2
        let rows = plan.n * plan.cin * w.input[0] * w.input[1]
        plane = w.input[0] * w.input[1] * 2 * half
        let out = Scratch(rows * 2 * half)
        scratch = out
        let h = half
        Parallel.forRanges(rows, grain: Swift.max(1, elementwiseGrain / inW)) { range in
            for r in range {
                let src = x + r * inW, even = out.pointer + r * 2 * h, odd = even + h
                for j in 0..<h { even[j] = src[2 * j] }
                for j in 0..<(inW / 2) { odd[j] = src[2 * j + 1] }
            }
        }
    }

    /// Channel `channel` of sample `sample`, in `ConvPlan.im2col`'s `split` form.
    func rows(sample: Int, channel: Int, of plan: ConvPlan) -> (rows: UnsafePointer<Float>, half: Int) {
        (UnsafePointer(scratch.pointer + (sample * plan.cin + channel) * plane), half)
    }

    func free() { scratch.free() }
}

struct ConvPlan {
    /// Patch-matrix floats per tile: about 2 MB, a core's L2 on current server CPUs.
    static let tileFloats = 1 << 19
    let window: Window
    let n, cin, cout, groups, cg, coutG: Int
    var rows: Int { cg * window.kernelVolume }       // rows of the patch matrix
    var cols: Int { window.outputPlane }             // output positions per sample
    let tileRows: Int                                // output (t, h) rows per tile
    /// Samples whose whole output planes share one patch matrix and GEMM (`forwardBySamples`); 1 for none.
    let samplesPerUnit: Int
    /// Whether the tiles were cut narrower than their memory bound so that every worker gets some
    /// (few samples of a small output plane).
    let narrowTiles: Bool
    var tileCount: Int { (window.output[0] * window.output[1] + tileRows - 1) / tileRows }

    init(x: Tensor, weight: Tensor, bias: Tensor?, stride: [Int], padding: [Int], dilation: [Int], groups: Int) {
        let dims = x.rank - 2
        ensure(dims >= 1 && dims <= 3 && weight.rank == x.rank,
                     "conv: input \(x.shape) and weight \(weight.shape) must both be [N, C, 1–3 spatial dims]")
        n = x.shape[0]; cin = x.shape[1]; cout = weight.shape[0]
        ensure(groups >= 1 && cin % groups == 0 && cout % groups == 0 && weight.shape[1] * groups == cin,
                     "conv: input \(x.shape), weight \(weight.shape) and groups \(groups) do not fit (weight must be [Cout, Cin/groups, *K])")
        if let bias { ensure(bias.shape == [cout], "conv: bias \(bias.shape) does not match \(cout) output channels") }
        self.groups = groups
        cg = cin / groups; coutG = cout / groups
        window = Window(op: "conv", spatial: Array(x.shape.dropFirst(2)), kernel: Array(weight.shape.dropFirst(2)),
                        stride: stride, padding: padding, dilation: dilation)
        // Tiles of about 512 K floats of patches, at least 256 columns wide, and enough of them to feed every worker.
        let ow = window.output[2], outRows = window.output[0] * window.output[1]
        var t = Swift.max(1, ConvPlan.tileFloats / Swift.max(1, cg * window.kernelVolume * ow))
        t = Swift.max(t, (256 + ow - 1) / ow)
        let unitsPerSample = groups * ((outRows + t - 1) / t)
        narrowTiles = n * unitsPerSample < 2 * Parallel.workers
        if narrowTiles {
            t = Swift.max(1, outRows / Swift.max(1, (2 * Parallel.workers + n * groups - 1) / (n * groups)))
        }
        tileRows = Swift.min(t, outRows)
        // Small output planes (a ResNet's last stages, TSN's frames in the batch): one GEMM per
        // sample would stream the whole weight matrix for a few dozen columns, so several samples
        // share one patch matrix of about 384 columns (within two tiles' floats).
        let plane = window.outputPlane
        if groups == 1 && n > 1 && tileRows == outRows && plane < 256 {
            let wanted = Swift.min(n, (384 + plane - 1) / plane, Swift.max(1, 2 * ConvPlan.tileFloats / Swift.max(1, cg * window.kernelVolume * plane)))
            // Whole units for every worker where the batch allows.
            let units = Swift.max((n + wanted - 1) / wanted, Swift.min(n, Parallel.workers))
            samplesPerUnit = (n + units - 1) / units
        } else {
            samplesPerUnit = 1
        }
    }

    /// Column range [lo, hi) of tile `i`.
    func tileColumns(_ i: Int) -> Range<Int> {
        let ow = window.output[2], outRows = window.output[0] * window.output[1]
        return (i * tileRows * ow)..<(Swift.min(outRows, (i + 1) * tileRows) * ow)
    }

    /// Walks the patch matrix of tile `i` one output row (oW columns) at a time. For each, `body`
    /// gets the row's offset in col [rows, tile], the offset in one group's input of the element
    /// that output column 0 would read (nil when the row lies in the T or H padding), the output
    /// columns [lo, hi) whose input column is inside the image, and that column's offset w0
    /// from the start of its input row (negative in the left padding).
    @inline(__always)
    func forEachPatchRow(tile i: Int, rowStride: Int? = nil,
                         _ body: (_ col: Int, _ input: Int?, _ lo: Int, _ hi: Int, _ w0: Int) -> Void) {
        let w = window
        let (inT, inH, inW) = (w.input[0], w.input[1], w.input[2])
        let (kH, kW) = (w.kernel[1], w.kernel[2])
        let (oH, oW) = (w.output[1], w.output[2])
        let kVol = w.kernelVolume, sw = w.stride[2]
        let q0 = i * tileRows, q1 = Swift.min(w.output[0] * oH, q0 + tileRows)
        let width = rowStride ?? (q1 - q0) * oW
        for r in 0..<rows {
            let c = r / kVol, kk = r % kVol
            let ki = kk / (kH * kW), kj = (kk / kW) % kH, kl = kk % kW
            let w0 = kl * w.dilation[2] - w.padding[2]
            // Output columns whose input column w0 + ow·s lands inside [0, inW).
            let lo = w0 >= 0 ? 0 : Swift.min(oW, (-w0 + sw - 1) / sw)
            let hi = Swift.max(lo, Swift.min(oW, w0 >= inW ? 0 : (inW - w0 + sw - 1) / sw))
            for q in q0..<q1 {
                let ot = q / oH, oh = q % oH
                let t = ot * w.stride[0] - w.padding[0] + ki * w.dilation[0]
                let h = oh * w.stride[1] - w.padding[1] + kj * w.dilation[1]
                let inside = t >= 0 && t < inT && h >= 0 && h < inH
                body(r * width + (q - q0) * oW, inside ? c * w.inputPlane + (t * inH + h) * inW + w0 : nil, lo, hi, w0)
            }
        }
    }

    /// Writes col [rows, tile] for the output rows of tile `i` from one group of one sample (x points
    /// at its first channel); `rowStride` (default: the tile's width) places it inside a wider
    /// matrix. With `split` (the same group of the same sample in `SplitRows`), a
    /// stride-2 row is copied as one contiguous run of even or odd columns instead of gathered.
    func im2col(_ x: UnsafePointer<Float>, tile i: Int, into col: UnsafeMutablePointer<Float>, rowStride: Int? = nil,
                split: (rows: UnsafePointer<Float>, half: Int)? = nil) {
        let oW = window.output[2], sw = window.stride[2], inW = window.input[2]
        forEachPatchRow(tile: i, rowStride: rowStride) { colOffset, input, lo, hi, w0 in
            let dst = col + colOffset
            guard let input else { dst.update(repeating: 0, count: oW); return }
            let row = x + input
            for ow in 0..<lo { dst[ow] = 0 }
            if sw == 1 {
                (dst + lo).update(from: row + lo, count: hi - lo)
            } else if let split {
                // Input column w0 + 2·ow sits at (w0 − phase) / 2 + ow among the columns of its parity.
                let phase = w0 & 1
                let src = split.rows + (input - w0) / inW * 2 * split.half + phase * split.half + (w0 - phase) / 2
                (dst + lo).update(from: src + lo, count: hi - lo)
            } else {
                for ow in lo..<hi { dst[ow] = row[ow * sw] }
            }
            for ow in hi..<oW { dst[ow] = 0 }
        }
    }

    /// Adds col [rows, tile] back into one group of one sample's input gradient (the adjoint of im2col).
    func col2im(_ col: UnsafePointer<Float>, tile i: Int, into gx: UnsafeMutablePointer<Float>) {
        let sw = window.stride[2]
        forEachPatchRow(tile: i) { colOffset, input, lo, hi, _ in
            guard let input else { return }
            let src = col + colOffset, row = gx + input
            if sw == 1 {
                for ow in lo..<hi { row[ow] += src[ow] }
            } else {
                for ow in lo..<hi { row[ow * sw] += src[ow] }
            }
        }
    }

    /// W [G·Cout_g, Cin_g, *K] → W' [G·Cin_g, Cout_g, *K] with W'[g·Cin_g + i, o, k] = W[g·Cout_g + o, i, K − 1 − k].
    func flippedTransposedWeight(_ weight: Tensor) -> Tensor {
        let kVol = window.kernelVolume
        let out = Tensor.empty([cin, coutG] + Array(weight.shape.dropFirst(2)))
        let pw = UnsafePointer(weight.data), po = out.data
        for g in 0..<groups { for o in 0..<coutG { for i in 0..<cg {
            let src = pw + ((g * coutG + o) * cg + i) * kVol
            let dst = po + ((g * cg + i) * coutG + o) * kVol
            for k in 0..<kVol { dst[k] = src[kVol - 1 - k] }
        } } }
        return out
    }

    /// Work units are (sample, group, tile), numbered in that order.
    var unitCount: Int { n * groups * tileCount }

    /// Kernels that only reach along T (k = kT×1×1, no spatial stride or padding: temporal and
    /// pointwise convs) need no patch matrix: for each temporal offset the input rows they read
    /// form a strided matrix that the GEMM reads in place.
    var isTemporalOnly: Bool {
        window.kernel[1] == 1 && window.kernel[2] == 1 && window.stride[1] == 1 && window.stride[2] == 1
            && window.padding[1] == 0 && window.padding[2] == 0
    }

    /// For the columns `cols` of one (sample, group), calls `body(kt, sub, b)` for each temporal
    /// kernel offset kt and each run `sub` of columns that reads real input: B [Cin_g, sub] starts
    /// at `b` with row stride `window.inputPlane`. Columns reading the temporal padding are skipped.
    func forEachTemporalSlice(_ xg: UnsafePointer<Float>, _ cols: Range<Int>,
                              _ body: (_ kt: Int, _ sub: Range<Int>, _ b: UnsafePointer<Float>) -> Void) {
        let w = window
        let plane = w.input[1] * w.input[2]          // H·W, the same in and out
        for kt in 0..<w.kernel[0] {
            let shift = kt * w.dilation[0] - w.padding[0]
            if w.stride[0] == 1 {
                // Output frame t reads input frame t + shift: one run per offset.
                let tLo = Swift.max(0, -shift), tHi = Swift.min(w.output[0], w.input[0] - shift)
                let lo = Swift.max(cols.lowerBound, tLo * plane), hi = Swift.min(cols.upperBound, tHi * plane)
                if lo < hi { body(kt, lo..<hi, xg + lo + shift * plane) }
            } else {
                for t in (cols.lowerBound / plane)...((cols.upperBound - 1) / plane) {
                    let it = t * w.stride[0] + shift
                    guard it >= 0 && it < w.input[0] else { continue }
                    let sub = Swift.max(cols.lowerBound, t * plane)..<Swift.min(cols.upperBound, (t + 1) * plane)
                    body(kt, sub, xg + it * plane + (sub.lowerBound - t * plane))
                }
            }
        }
    }

    /// W [Cout, Cin_g, kT] → [kT, Cout, Cin_g], so each temporal offset's weights are one matrix.
    func temporalWeight(_ weight: UnsafePointer<Float>) -> Scratch {
        let kT = window.kernel[0]
        let out = Scratch(kT * cout * cg)
        for co in 0..<cout { for ci in 0..<cg { for kt in 0..<kT {
            out.pointer[(kt * cout + co) * cg + ci] = weight[(co * cg + ci) * kT + kt]
        } } }
        return out
    }

    func forward(_ x: UnsafeMutablePointer<Float>, _ weight: UnsafeMutablePointer<Float>, _ bias: UnsafeMutablePointer<Float>?,
                 _ out: UnsafeMutablePointer<Float>, epilogue: ConvEpilogue = ConvEpilogue()) {
        if ConvAlgorithm.current.takesF4(self) {
            WinogradF4Plan(self).forward(x, weight, bias.map { UnsafePointer($0) }, out, epilogue: epilogue)
            return
        }
        if ConvAlgorithm.current != .im2col && WinogradPlan.applies(to: self) {
            WinogradPlan(self).forward(x, weight, bias.map { UnsafePointer($0) }, out, epilogue: epilogue)
            return
        }
        if ConvAlgorithm.current != .im2col && samplesPerUnit > 1 {
            forwardBySamples(x, weight, bias, out, epilogue: epilogue)
            return
        }
        if ConvAlgorithm.current != .im2col && isTemporalOnly && groups == 1 && narrowTiles && cout >= 32 {
            forwardTemporalByChannels(x, weight, bias, out, epilogue: epilogue)
            return
        }
        let units = unitCount, tiles = tileCount
        let temporal = isTemporalOnly
        let wt = temporal ? temporalWeight(weight) : nil
        let split = temporal ? nil : SplitRows(self, x)
        defer { wt?.free(); split?.free() }
        Parallel.forRanges(units) { range in
            let col = temporal ? nil : Scratch(rows * tileRows * window.output[2])
            defer { col?.free() }
            for u in range {
                let s = u / (groups * tiles), g = (u / tiles) % groups, tile = u % tiles
                let cols = tileColumns(tile)
                let xg = UnsafePointer(x + (s * cin + g * cg) * window.inputPlane)
                let c = out + (s * cout + g * coutG) * self.cols
                if let wt {
                    // out[s, g, tile] = Σ_kt W_kt [Cout_g, Cin_g] · x shifted by kt [Cin_g, tile]. With one
                    // tap and no temporal padding every column is written exactly once: no zeroing first.
                    let once = window.kernel[0] == 1 && window.padding[0] == 0
                    if !once {
                        for co in 0..<coutG { (c + co * self.cols + cols.lowerBound).update(repeating: 0, count: cols.count) }
                    }
                    forEachTemporalSlice(xg, cols) { kt, sub, b in
                        Gemm.run(transA: false, transB: false, m: coutG, n: sub.count, k: cg,
                                 a: wt.pointer + (kt * cout + g * coutG) * cg, lda: cg, b: b, ldb: window.inputPlane,
                                 beta: once ? 0 : 1, c: c + sub.lowerBound, ldc: self.cols, parallel: false)
                    }
                } else if let col {
                    // out[s, g·Cout_g …, tile] = W_g [Cout_g, rows] · col [rows, tile]
                    im2col(xg, tile: tile, into: col.pointer, split: split?.rows(sample: s, channel: g * cg, of: self))
                    Gemm.run(transA: false, transB: false, m: coutG, n: cols.count, k: rows,
                             a: weight + g * coutG * rows, lda: rows, b: col.pointer, ldb: cols.count,
                             c: c + cols.lowerBound, ldc: self.cols, parallel: false)
                }
                let base = (s * cout + g * coutG) * self.cols
                for co in 0..<coutG {
                    epilogue.apply(c + co * self.cols, cols, scale: epilogue.scale?[g * coutG + co] ?? 1, bias: bias?[g * coutG + co] ?? 0,
                                   residual: epilogue.residual.map { $0 + base + co * self.cols })
                }
            }
        }
    }

    /// `forward` of a temporal or pointwise convolution on few samples of a small output plane
    /// (a ResNet's last stages at batch 1): the workers split the output channels instead of the
    /// columns, so each GEMM spans a sample's whole plane and each weight row is read once, where
    /// narrow column tiles would each stream every weight. Units are (sample, block of output
    /// channels), 16 channels at least.
    func forwardTemporalByChannels(_ x: UnsafeMutablePointer<Float>, _ weight: UnsafeMutablePointer<Float>,
                                   _ bias: UnsafeMutablePointer<Float>?, _ out: UnsafeMutablePointer<Float>, epilogue: ConvEpilogue) {
        let wt = temporalWeight(weight)
        defer { wt.free() }
        let parts = Swift.max(1, Swift.min((2 * Parallel.workers + n - 1) / n, cout / 16))
        let span = (cout + parts - 1) / parts
        let plane = cols, once = window.kernel[0] == 1 && window.padding[0] == 0
        Parallel.forRanges(n * parts) { range in
            for u in range {
                let s = u / parts, co0 = (u % parts) * span, co1 = Swift.min(cout, co0 + span)
                guard co0 < co1 else { continue }
                let xs = UnsafePointer(x + s * cin * window.inputPlane)
                let c = out + (s * cout + co0) * plane
                // out[s, co0…co1] = Σ_kt W_kt[co0…co1] · x shifted by kt; with one tap and no
                // temporal padding every column is written exactly once: no zeroing first.
                if !once { c.update(repeating: 0, count: (co1 - co0) * plane) }
                forEachTemporalSlice(xs, 0..<plane) { kt, sub, b in
                    Gemm.run(transA: false, transB: false, m: co1 - co0, n: sub.count, k: cin,
                             a: wt.pointer + (kt * cout + co0) * cin, lda: cin, b: b, ldb: window.inputPlane,
                             beta: once ? 0 : 1, c: c + sub.lowerBound, ldc: plane, parallel: false)
                }
                for co in co0..<co1 {
                    epilogue.apply(c + (co - co0) * plane, 0..<plane, scale: epilogue.scale?[co] ?? 1, bias: bias?[co] ?? 0,
                                   residual: epilogue.residual.map { $0 + (s * cout + co) * plane })
                }
            }
        }
    }

    /// `forward` for small output planes: each unit is `samplesPerUnit` samples side by side,
    /// col [rows, S·P] = their patch matrices, C [Cout, S·P] = W · col, then each sample's
    /// columns go to its output with the epilogue applied. One group; one tile per sample.
    func forwardBySamples(_ x: UnsafeMutablePointer<Float>, _ weight: UnsafeMutablePointer<Float>, _ bias: UnsafeMutablePointer<Float>?,
                          _ out: UnsafeMutablePointer<Float>, epilogue: ConvEpilogue) {
        let per = samplesPerUnit, plane = cols
        let units = (n + per - 1) / per
        let split = SplitRows(self, x)
        defer { split?.free() }
        // Fewer units than workers: the units run in turn, each GEMM split across the workers.
        let inner = units < Parallel.workers
        Parallel.forChunks(units, chunks: inner ? 1 : Parallel.workers) { _, range in
            let col = Scratch(rows * per * plane), c = Scratch(cout * per * plane)
            defer { col.free(); c.free() }
            for unit in range {
                let samples = patchesBySamples(UnsafePointer(x), unit: unit, into: col.pointer, split: split)
                let width = samples.count * plane
                Gemm.run(transA: false, transB: false, m: cout, n: width, k: rows, a: weight, lda: rows, b: col.pointer, ldb: width,
                         c: c.pointer, ldc: width, parallel: inner)
                for s in samples {
                    for co in 0..<cout {
                        let at = (s * cout + co) * plane
                        (out + at).update(from: c.pointer + co * width + (s - samples.lowerBound) * plane, count: plane)
                        epilogue.apply(out + at, 0..<plane, scale: epilogue.scale?[co] ?? 1, bias: bias?[co] ?? 0,
                                       residual: epilogue.residual.map { $0 + at })
                    }
                }
            }
        }
    }

    /// The patch matrices of unit `unit`'s samples side by side, col [rows, S·P] (S samples, P
    /// output positions each), as `forwardBySamples` and `weightGradientBySamples` use them;
    /// returns the unit's samples.
    func patchesBySamples(_ x: UnsafePointer<Float>, unit: Int, into col: UnsafeMutablePointer<Float>, split: SplitRows?) -> Range<Int> {
        let plane = cols, s0 = unit * samplesPerUnit, s1 = Swift.min(n, s0 + samplesPerUnit)
        for s in s0..<s1 {
            im2col(x + s * cin * window.inputPlane, tile: 0, into: col + (s - s0) * plane, rowStride: (s1 - s0) * plane,
                   split: split?.rows(sample: s, channel: 0, of: self))
        }
        return s0..<s1
    }

    /// The op's shapes and settings, as the profiler lists a layer.
    func describe(_ x: Tensor, _ weight: Tensor) -> String {
        "x \(Profiler.shape(x.shape)) w \(Profiler.shape(weight.shape)) stride \(window.stride.map(String.init).joined(separator: ","))"
            + " pad \(window.padding.map(String.init).joined(separator: ","))" + (groups > 1 ? " groups \(groups)" : "")
    }

    /// Multiply-adds × 2 of the forward pass; each of the two backward products costs the same.
    var flops: Int { 2 * multiplyAdds }

    /// Output elements × Cin/groups × kernel volume: what `FLOPs` counts for a convolution.
    var multiplyAdds: Int { n * cout * cols * cg * window.kernelVolume }

    func backward(x: Tensor, weight: Tensor, grad g: Tensor, needInput: Bool, needWeight: Bool, needBias: Bool)
        -> (Tensor?, Tensor?, Tensor?) {
        let gw = needWeight ? Profiler.span(.convBackwardWeight, flops: flops, detail: describe(x, weight)) {
            weightGradient(x: x, grad: g)
        } : nil
        let gx = needInput ? Profiler.span(.convBackwardData, flops: flops, detail: describe(x, weight)) {
            inputGradient(x: x, weight: weight, grad: g)
        } : nil
        // dBias[c] = Σ over samples and positions of dOut[:, c]
        let gb = needBias ? g.reshaped([n, cout, cols]).sum(axes: [0, 2]) : nil
        return (gx, gw, gb)
    }

    /// dW [Cout, Cin_g, *K]: per (sample, group, tile), dW_g += dOut · colᵀ, each worker into a private sum.
    func weightGradient(x: Tensor, grad g: Tensor) -> Tensor {
        if ConvAlgorithm.current.takesF4(self) {
            return WinogradF4Plan(self).weightGradient(x.data, g.data, shape: [cout, cg] + window.kernel.suffix(x.rank - 2))
        }
        if ConvAlgorithm.current != .im2col && WinogradPlan.applies(to: self) {
            return WinogradPlan(self).weightGradient(x.data, g.data, shape: [cout, cg] + window.kernel.suffix(x.rank - 2))
        }
        if ConvAlgorithm.current != .im2col && samplesPerUnit > 1 {
            return weightGradientBySamples(x: x, grad: g)
        }
        let units = unitCount, tiles = tileCount
        let temporal = isTemporalOnly
        let workers = Swift.max(1, Swift.min(Parallel.workers, units))
        let weightSize = cout * rows
        // Many output channels over few positions (deep layers): workers own blocks of output
        // channels and run every tile, so each GEMM sums over a whole tile into the shared result.
        // Otherwise workers own tiles and sum into private copies, added at the end.
        let byChannels = groups == 1 && workers > 1 && cout >= 64 * workers && n * cols <= 16384
        let partial = (0..<(byChannels ? 1 : workers)).map { _ in Scratch(zeroed: weightSize) }
        defer { partial.forEach { $0.free() } }
        let px = x.data, pg = g.data
        let split = temporal ? nil : SplitRows(self, px)
        defer { split?.free() }
        Parallel.forTasks(workers) { w in
            let col = temporal ? nil : Scratch(rows * tileRows * window.output[2])
            defer { col?.free() }
            let channels = byChannels ? (cout * w / workers)..<(cout * (w + 1) / workers) : 0..<coutG
            let mine = byChannels ? 0..<units : (units * w / workers)..<(units * (w + 1) / workers)
            let sum = partial[byChannels ? 0 : w].pointer
            for u in mine {
                let s = u / (groups * tiles), grp = (u / tiles) % groups, tile = u % tiles
                let cols = tileColumns(tile)
                let xg = UnsafePointer(px + (s * cin + grp * cg) * window.inputPlane)
                let row0 = grp * coutG + channels.lowerBound
                let gOut = UnsafePointer(pg + (s * cout + row0) * self.cols + cols.lowerBound)
                if temporal {
                    // Per temporal offset kt (weights in [kT, Cout, Cin_g] order): dW_kt [Cout_g, Cin_g] += dOut [Cout_g, sub] · x_ktᵀ
                    forEachTemporalSlice(xg, cols) { kt, sub, b in
                        Gemm.run(transA: false, transB: true, m: channels.count, n: cg, k: sub.count,
                                 a: gOut + (sub.lowerBound - cols.lowerBound), lda: self.cols,
                                 b: b, ldb: window.inputPlane, beta: 1,
                                 c: sum + (kt * cout + row0) * cg, ldc: cg, parallel: false)
                    }
                } else if let col {
                    im2col(xg, tile: tile, into: col.pointer, split: split?.rows(sample: s, channel: grp * cg, of: self))
                    // dW_g [Cout_g, rows] += dOut [Cout_g, tile] · colᵀ [tile, rows]
                    Gemm.run(transA: false, transB: true, m: channels.count, n: rows, k: cols.count, a: gOut, lda: self.cols,
                             b: col.pointer, ldb: cols.count, beta: 1, c: sum + row0 * rows, ldc: rows,
                             parallel: false)
                }
            }
        }
        for p in partial.dropFirst() { add(into: partial[0].pointer, p.pointer, count: weightSize) }
        let sum = partial[0].pointer
        let gw = Tensor.empty([cout, cg] + window.kernel.suffix(x.rank - 2))
        if temporal {
            // Back from [kT, Cout, Cin_g] to [Cout, Cin_g, kT].
            let kT = window.kernel[0]
            for co in 0..<cout { for ci in 0..<cg { for kt in 0..<kT {
                gw.data[(co * cg + ci) * kT + kt] = sum[(kt * cout + co) * cg + ci]
            } } }
        } else {
            gw.data.update(from: sum, count: weightSize)
        }
        return gw
    }

    /// `weightGradient` for small output planes, with `forwardBySamples`' units: per unit,
    /// dW [Cout, rows] += dOut [Cout, S·P] · colᵀ [S·P, rows], both packed side by side, so each
    /// GEMM sums over S·P positions instead of one sample's few dozen. Deep layers (many output
    /// channels) give each worker a block of channels over every unit; others give each worker
    /// units and a private sum.
    func weightGradientBySamples(x: Tensor, grad g: Tensor) -> Tensor {
        let per = samplesPerUnit, plane = cols
        let units = (n + per - 1) / per
        let workers = Swift.max(1, Parallel.workers)
        let byChannels = workers > 1 && (cout >= 64 * workers || units < workers)
        let tasks = byChannels ? Swift.min(workers, cout) : Swift.min(workers, units)
        let weightSize = cout * rows
        let partial = (0..<(byChannels ? 1 : tasks)).map { _ in Scratch(zeroed: weightSize) }
        defer { partial.forEach { $0.free() } }
        let px = x.data, pg = g.data
        let split = SplitRows(self, px)
        defer { split?.free() }
        Parallel.forTasks(tasks) { w in
            let channels = byChannels ? (cout * w / tasks)..<(cout * (w + 1) / tasks) : 0..<cout
            let mine = byChannels ? 0..<units : (units * w / tasks)..<(units * (w + 1) / tasks)
            let col = Scratch(rows * per * plane), gOut = Scratch(channels.count * per * plane)
            defer { col.free(); gOut.free() }
            let sum = partial[byChannels ? 0 : w].pointer
            for unit in mine {
                let samples = patchesBySamples(UnsafePointer(px), unit: unit, into: col.pointer, split: split)
                let width = samples.count * plane
                for s in samples {
                    for (i, co) in channels.enumerated() {
                        (gOut.pointer + i * width + (s - samples.lowerBound) * plane).update(from: pg + (s * cout + co) * plane, count: plane)
                    }
                }
                Gemm.run(transA: false, transB: true, m: channels.count, n: rows, k: width, a: gOut.pointer, lda: width,
                         b: col.pointer, ldb: width, beta: 1, c: sum + channels.lowerBound * rows, ldc: rows, parallel: false)
            }
        }
        for p in partial.dropFirst() { add(into: partial[0].pointer, p.pointer, count: weightSize) }
        let gw = Tensor.empty([cout, cg] + window.kernel.suffix(x.rank - 2))
        gw.data.update(from: partial[0].pointer, count: weightSize)
        return gw
    }

    /// dx [N, Cin, *S].
    func inputGradient(x: Tensor, weight: Tensor, grad g: Tensor) -> Tensor {
        // With stride 1 the input gradient is itself a convolution: dOut ⋆ (W flipped, in/out swapped),
        // padded by dilation·(K − 1) − padding. It then runs as a forward pass, without scatter-adds.
        let transposedPadding = (0..<3).map { window.dilation[$0] * (window.kernel[$0] - 1) - window.padding[$0] }
        if window.stride == [1, 1, 1] && transposedPadding.allSatisfy({ $0 >= 0 }) {
            let dims = x.rank - 2
            let flipped = flippedTransposedWeight(weight)
            let plan = ConvPlan(x: g, weight: flipped, bias: nil, stride: [1], padding: Array(transposedPadding.suffix(dims)),
                                dilation: Array(window.dilation.suffix(dims)), groups: groups)
            let gx = Tensor.empty(x.shape)
            plan.forward(g.data, flipped.data, nil, gx.data)
            return gx
        }
        let units = unitCount, tiles = tileCount
        let temporal = isTemporalOnly
        let wt = temporal ? temporalWeight(weight.data) : nil
        defer { wt?.free() }
        let workers = Swift.max(1, Swift.min(Parallel.workers, units))
        // Units of one (sample, group) write the same input region, so either a worker owns whole
        // (sample, group) pairs, or, when there are fewer pairs than workers, each worker adds into a private copy.
        let pairs = n * groups
        let ownPairs = pairs >= workers
        let gx = Tensor.zeros(x.shape)
        let privateX = ownPairs ? [] : (1..<workers).map { _ in Scratch(zeroed: x.count) }
        defer { privateX.forEach { $0.free() } }
        let pw = weight.data, pg = g.data
        Parallel.forTasks(workers) { w in
            let range = ownPairs ? (pairs * w / workers * tiles)..<(pairs * (w + 1) / workers * tiles)
                                 : (units * w / workers)..<(units * (w + 1) / workers)
            let gxBase = w == 0 || ownPairs ? gx.data : privateX[w - 1].pointer
            let dcol = temporal ? nil : Scratch(rows * tileRows * window.output[2])
            defer { dcol?.free() }
            for u in range {
                let s = u / (groups * tiles), grp = (u / tiles) % groups, tile = u % tiles
                let cols = tileColumns(tile)
                let gOut = UnsafePointer(pg + (s * cout + grp * coutG) * self.cols + cols.lowerBound)
                let gxg = gxBase + (s * cin + grp * cg) * window.inputPlane
                if let wt {
                    // Per temporal offset kt: dx_kt [Cin_g, sub] += W_ktᵀ · dOut [Cout_g, sub]
                    forEachTemporalSlice(UnsafePointer(gxg), cols) { kt, sub, b in
                        Gemm.run(transA: true, transB: false, m: cg, n: sub.count, k: coutG,
                                 a: wt.pointer + (kt * cout + grp * coutG) * cg, lda: cg,
                                 b: gOut + (sub.lowerBound - cols.lowerBound), ldb: self.cols,
                                 beta: 1, c: UnsafeMutablePointer(mutating: b), ldc: window.inputPlane, parallel: false)
                    }
                } else if let dcol {
                    // dcol [rows, tile] = W_gᵀ · dOut, then scattered back to the input
                    Gemm.run(transA: true, transB: false, m: rows, n: cols.count, k: coutG, a: pw + grp * coutG * rows, lda: rows,
                             b: gOut, ldb: self.cols, c: dcol.pointer, ldc: cols.count, parallel: false)
                    col2im(UnsafePointer(dcol.pointer), tile: tile, into: gxg)
                }
            }
        }
        for p in privateX { add(into: gx.data, p.pointer, count: x.count) }
        return gx
    }
}
