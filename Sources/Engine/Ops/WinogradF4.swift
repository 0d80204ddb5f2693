/// Winograd F(4×4, 3×3): 36 multiplies per 4×4 outputs and input channel instead of 144, so the
/// GEMMs do 4× fewer multiply-adds than im2col's and 1.78× fewer than F(2×2, 3×3)'s
/// (`WinogradPlan`). Used for the forward pass (and so for the stride-1 input gradient, which
/// runs as a forward pass) and the weight gradient (its adjoint) of convolutions over clips whose
/// frames are large enough for 4×4 tiles to pay; F(2×2, 3×3) keeps the rest.
///
/// With the 6×6 input tile d, a 3×3 kernel g and the 4×4 output tile y, on the points
/// 0, ±1, ±2 and ∞ (Lavin & Gray, 2015):
///
///     U = G·g·Gᵀ,   V = Bᵀ·d·B,   y = Aᵀ·(U ⊙ V)·A
///
///     Bᵀ = [4 0 −5 0 1 0; 0 −4 −4 1 1 0; 0 4 −4 −1 1 0; 0 −2 −1 2 1 0; 0 2 −1 −2 1 0; 0 4 0 −5 0 1]
///     G  = [¼ 0 0; −⅙ −⅙ −⅙; −⅙ ⅙ −⅙; 1/24 1/12 ⅙; 1/24 −1/12 ⅙; 0 0 1]
///     Aᵀ = [1 1 1 1 1 0; 0 1 −1 2 −2 0; 0 1 1 4 4 0; 0 1 −1 8 −8 1]
///
/// Its larger transform entries cost precision: on 3×3×3 layers of 64–192 channels the error is
/// about 2·10⁻⁶ of the output's scale, where F(2×2, 3×3)'s is about 4·10⁻⁷.
///
/// The work is laid out as `WinogradPlan`'s: units of (sample, block of tiles) transform every
/// input frame of their tiles once into V [36, T, Cin, width]; per output frame, each transform
/// element e is one GEMM M_e [Cout, width] = U_e [Cout, kT·Cin] · V_e [kT·Cin, width] over the
/// frames its taps read, and M is transformed back into the output with the epilogue applied.
struct WinogradF4Plan: WinogradTiling {
    static let elements = 36
    let plan: ConvPlan
    let tilesH, tilesW: Int
    /// Tiles per unit.
    let block: Int
    /// Runs of output frames per (sample, block of tiles).
    let chunks: Int
    var forwardBlock: Int { block }
    /// The weight gradient's units are (sample, block) with no runs of frames, so a clip with
    /// fewer blocks than workers takes narrower ones.
    var gradientBlock: Int {
        var blocks = self.blocks
        while blocks < tiles && plan.n * blocks % Parallel.workers != 0 && plan.n * blocks < 4 * Parallel.workers { blocks += 1 }
        return (tiles + blocks - 1) / blocks
    }
    var tiles: Int { tilesH * tilesW }
    var blocks: Int { (tiles + block - 1) / block }
    var depth: Int { plan.window.kernel[0] * plan.cin }     // K of the GEMMs: kT·Cin

    /// Where F(4×4, 3×3) takes over from F(2×2, 3×3): a Winograd-shaped convolution over clips
    /// (at least two frames per sample) whose output frames are at least `minimumHeight` high and
    /// `minimumWidth` wide (eight tiles per tile row, so the vector transforms read and write in
    /// place), whose GEMMs sum over at least `minimumDepth` (kT·Cin) products, and whose
    /// transformed weights (36·Cout·kT·Cin floats) stay within `maximumWeights`.
    ///
    /// Measured with `motive-bench kernels --winograd` (batch 1; F(4×4, 3×3)'s time ÷ F(2×2, 3×3)'s):
    /// - 3×3×3 layers of 64 channels on 56×56 frames (R3D-18, C3D): 0.84–0.89 forward and
    ///   0.82–0.93 weight gradient on Zen 5, 0.85–0.92 forward on Zen 4.
    /// - 28×28 frames (seven tiles per row: every group staged): 1.08–1.46 on Zen 5, where Zen 4
    ///   measured 0.73–0.89; F(2×2, 3×3) keeps them.
    /// - 1×3×3 layers of 64 input channels (K = 64, so the transforms outweigh the GEMMs):
    ///   0.93–1.22 on Zen 5, 0.90–1.05 on Zen 4; F(2×2, 3×3) keeps them.
    /// - Single images (TSN's 2-D layers, eight frames as the batch): 1.1–1.2 on Zen 4.
    static func applies(to plan: ConvPlan) -> Bool {
        let w = plan.window
        return WinogradPlan.applies(to: plan) && w.input[0] >= 2 && w.output[1] >= minimumHeight && w.output[2] >= minimumWidth
            && w.kernel[0] * plan.cin >= minimumDepth && 36 * plan.cout * w.kernel[0] * plan.cin <= maximumWeights
    }

    static let minimumHeight = 16
    static let minimumWidth = 32
    static let minimumDepth = 128
    static let maximumWeights = 1 << 22

    init(_ plan: ConvPlan) {
        self.plan = plan
        let w = plan.window
        tilesH = (w.output[1] + 3) / 4
        tilesW = (w.output[2] + 3) / 4
        let tiles = tilesH * tilesW
        // Blocks as wide as a unit's transformed input (36·T·Cin·width floats) allows within
        // 8 MB, and at least 16 tiles: the block is the GEMMs' N.
        let widest = Swift.max(16, (1 << 21) / Swift.max(1, 36 * w.input[0] * plan.cin))
        let blocks = (tiles + widest - 1) / widest
        block = (tiles + blocks - 1) / blocks
        // Too few units for the workers (one clip of small frames): runs of output frames split
        // the work too, rather than narrower tiles.
        chunks = winogradRuns(units: plan.n * blocks, outputFrames: w.output[0])
    }

    /// U [36, Cout, kT·Cin] from W [Cout, Cin, kT, 3, 3], element e = 6·r + c of G·g·Gᵀ.
    func transformedWeight(_ weight: UnsafePointer<Float>) -> Scratch {
        winogradWeights(plan, elements: 36, weight) { g, o, stride in
            // G·g: six rows, each a combination of g's three rows (lanes 0…2).
            let rows = Self.kernelTransform(SIMD4(g[0], g[1], g[2], 0), SIMD4(g[3], g[4], g[5], 0), SIMD4(g[6], g[7], g[8], 0))
            // ·Gᵀ: each row's three columns become six.
            @inline(__always) func put(_ r: Int, _ row: SIMD4<Float>) {
                let c = Self.kernelTransform(row[0], row[1], row[2])
                let e = o + 6 * r * stride
                e[0] = c.0; e[stride] = c.1; e[2 * stride] = c.2; e[3 * stride] = c.3; e[4 * stride] = c.4; e[5 * stride] = c.5
            }
            put(0, rows.0); put(1, rows.1); put(2, rows.2); put(3, rows.3); put(4, rows.4); put(5, rows.5)
        }
    }

    /// G applied to three rows of lanes: six rows.
    @inline(__always)
    static func kernelTransform(_ g0: SIMD4<Float>, _ g1: SIMD4<Float>, _ g2: SIMD4<Float>)
        -> (SIMD4<Float>, SIMD4<Float>, SIMD4<Float>, SIMD4<Float>, SIMD4<Float>, SIMD4<Float>) {
        let sum = g0 + g2, quarter = g0 * (1 / 24) + g2 * (1 / 6), mid = g1 * (1 / 12)
        return (g0 * 0.25, (sum + g1) * (-1 / 6), (sum - g1) * (-1 / 6), quarter + mid, quarter - mid, g2)
    }

    /// G applied to three values: six.
    @inline(__always)
    static func kernelTransform(_ g0: Float, _ g1: Float, _ g2: Float) -> (Float, Float, Float, Float, Float, Float) {
        let sum = g0 + g2, quarter = g0 * (1 / 24) + g2 * (1 / 6), mid = g1 * (1 / 12)
        return (g0 * 0.25, (sum + g1) * (-1 / 6), (sum - g1) * (-1 / 6), quarter + mid, quarter - mid, g2)
    }

    /// V [36, F, Cin, width] for the tiles `tiles` of the input frames `frames` (F of them; every
    /// frame by default), from one sample's input [Cin, T, H, W]. With `channelMajor` the layout is
    /// V [36, Cin, F, width] instead (the weight gradient's).
    ///
    /// Tiles go in groups of up to eight along a tile row, each group one vector pass
    /// (`transformEight`). A group inside the frame reads the input in place; one that touches the
    /// padding, or has fewer than eight tiles, is first staged as a zero-filled 6×36 window; a short
    /// group at the unit's end has its lanes copied out.
    func transformInput(_ x: UnsafePointer<Float>, frames: Range<Int>? = nil, tiles: Range<Int>, into v: UnsafeMutablePointer<Float>,
                        channelMajor: Bool = false) {
        let w = plan.window
        let (inT, inH, inW) = (w.input[0], w.input[1], w.input[2])
        let (padH, padW) = (w.padding[1], w.padding[2])
        let frames = frames ?? 0..<inT
        let cin = plan.cin, width = tiles.count, plane = frames.count * cin * width
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 6 * 36 + 36 * 8) { buffer in
            let window = buffer.baseAddress!, lanes = window + 6 * 36
            for t in frames {
                for ci in 0..<cin {
                    let f = t - frames.lowerBound
                    let o = v + (channelMajor ? ci * frames.count + f : f * cin + ci) * width
                    let frame = x + (ci * inT + t) * inH * inW
                    var q = 0
                    while q < width {
                        let p = tiles.lowerBound + q
                        let column = p % tilesW, count = Swift.min(8, tilesW - column, width - q)
                        let h0 = 4 * (p / tilesW) - padH, w0 = 4 * column - padW
                        if count == 8 && h0 >= 0 && h0 + 6 <= inH && w0 >= 0 && w0 + 36 <= inW {
                            Self.transformEight(frame + h0 * inW + w0, rowStride: inW, into: o + q, plane: plane)
                            q += 8
                            continue
                        }
                        // The window the group reads, zero outside the frame and past its last tile.
                        let lo = Swift.max(0, -w0), hi = Swift.max(lo, Swift.min(4 * count + 2, inW - w0))
                        for i in 0..<6 {
                            let dst = window + i * 36
                            guard h0 + i >= 0 && h0 + i < inH else {
                                for j in 0..<36 { dst[j] = 0 }
                                continue
                            }
                            let row = frame + (h0 + i) * inW + w0
                            for j in 0..<lo { dst[j] = 0 }
                            for j in lo..<hi { dst[j] = row[j] }
                            for j in hi..<36 { dst[j] = 0 }
                        }
                        if q + 8 <= width {
                            // A short group's spare lanes land on the next tiles, which are written after it.
                            Self.transformEight(window, rowStride: 36, into: o + q, plane: plane)
                        } else {
                            Self.transformEight(window, rowStride: 36, into: lanes, plane: 8)
                            for e in 0..<36 { (o + e * plane + q).update(from: lanes + e * 8, count: count) }
                        }
                        q += count
                    }
                }
            }
        }
    }

    /// Bᵀ applied to six values (or vectors of them).
    @inline(__always)
    static func inputTransform(_ d0: SIMD8<Float>, _ d1: SIMD8<Float>, _ d2: SIMD8<Float>, _ d3: SIMD8<Float>,
                               _ d4: SIMD8<Float>, _ d5: SIMD8<Float>)
        -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
        let four = SIMD8<Float>(repeating: 4), two = SIMD8<Float>(repeating: 2), five = SIMD8<Float>(repeating: 5)
        let a = d4 - d2, b = d3 - d1
        return (four * d0 - five * d2 + d4,
                d3 + d4 - four * (d1 + d2),
                d4 - d3 + four * (d1 - d2),
                a + two * b,
                a - two * b,
                four * d1 - five * d3 + d5)
    }

    /// Bᵀ·d·B for eight horizontally adjacent tiles whose 6×34 input block starts at `src` (loads
    /// read 36 columns): lane t of each vector is tile t, and element e = 6·r + c of tile t goes to
    /// o[e·plane + t]. Column j of tile t is input column 4t + j: every fourth lane of 16-wide
    /// loads.
    @inline(__always)
    static func transformEight(_ src: UnsafePointer<Float>, rowStride: Int, into o: UnsafeMutablePointer<Float>, plane: Int) {
        @inline(__always) func load16(_ p: UnsafePointer<Float>) -> SIMD16<Float> {
            UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
        }
        // Each input row's columns, transformed along the row (·B): t[i] holds row i's six results.
        // Lanes four apart: columns 0…31 from two 16-wide loads, columns 4…35 from two more.
        @inline(__always) func row(_ i: Int) -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
            let p = src + i * rowStride
            let a = load16(p), b = load16(p + 16), c = load16(p + 4), d = load16(p + 20)
            let ae = a.evenHalf, ao = a.oddHalf, be = b.evenHalf, bo = b.oddHalf, ce = c.evenHalf, co = c.oddHalf, de = d.evenHalf, dd = d.oddHalf
            return inputTransform(SIMD8(lowHalf: ae.evenHalf, highHalf: be.evenHalf), SIMD8(lowHalf: ao.evenHalf, highHalf: bo.evenHalf),
                                  SIMD8(lowHalf: ae.oddHalf, highHalf: be.oddHalf), SIMD8(lowHalf: ao.oddHalf, highHalf: bo.oddHalf),
                                  SIMD8(lowHalf: ce.evenHalf, highHalf: de.evenHalf), SIMD8(lowHalf: co.evenHalf, highHalf: dd.evenHalf))
        }
        let r0 = row(0), r1 = row(1), r2 = row(2), r3 = row(3), r4 = row(4), r5 = row(5)
        // Then down each column (Bᵀ·): column c of the six rows gives elements 6·r + c.
        @inline(__always) func column(_ c: Int, _ d0: SIMD8<Float>, _ d1: SIMD8<Float>, _ d2: SIMD8<Float>, _ d3: SIMD8<Float>,
                                      _ d4: SIMD8<Float>, _ d5: SIMD8<Float>) {
            let v = inputTransform(d0, d1, d2, d3, d4, d5)
            @inline(__always) func put(_ r: Int, _ x: SIMD8<Float>) {
                UnsafeMutableRawPointer(o + (6 * r + c) * plane).storeBytes(of: x, as: SIMD8<Float>.self)
            }
            put(0, v.0); put(1, v.1); put(2, v.2); put(3, v.3); put(4, v.4); put(5, v.5)
        }
        column(0, r0.0, r1.0, r2.0, r3.0, r4.0, r5.0)
        column(1, r0.1, r1.1, r2.1, r3.1, r4.1, r5.1)
        column(2, r0.2, r1.2, r2.2, r3.2, r4.2, r5.2)
        column(3, r0.3, r1.3, r2.3, r3.3, r4.3, r5.3)
        column(4, r0.4, r1.4, r2.4, r3.4, r4.4, r5.4)
        column(5, r0.5, r1.5, r2.5, r3.5, r4.5, r5.5)
    }

    /// Aᵀ applied to six vectors: four.
    @inline(__always)
    static func outputTransform(_ m0: SIMD8<Float>, _ m1: SIMD8<Float>, _ m2: SIMD8<Float>, _ m3: SIMD8<Float>,
                                _ m4: SIMD8<Float>, _ m5: SIMD8<Float>) -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
        let s = m1 + m2, d = m1 - m2, s2 = m3 + m4, d2 = m3 - m4
        return (m0 + s + s2, d + d2 * 2, s + s2 * 4, d + d2 * 8 + m5)
    }

    /// Writes Aᵀ·M·A (·scale + bias, + residual, ReLU) for each tile into one output frame of one
    /// sample, [Cout, oT, oH, oW] at `out`. M [36, Cout, width] at `m` is readable eight floats past its end.
    func transformOutput(_ m: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?, tiles: Range<Int>,
                         into out: UnsafeMutablePointer<Float>, scale: UnsafePointer<Float>? = nil,
                         residual: UnsafePointer<Float>? = nil, relu: Bool = false, rowStride: Int? = nil) {
        let w = plan.window
        let (oT, oH, oW) = (w.output[0], w.output[1], w.output[2])
        let cout = plan.cout, width = tiles.count, rows = rowStride ?? width, plane = cout * rows
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 4 * 32) { buffer in
            let stage = buffer.baseAddress!
            for co in 0..<cout {
                let b = bias?[co] ?? 0, k = scale?[co] ?? 1
                var q = 0
                while q < width {
                    let p = tiles.lowerBound + q
                    let src = m + co * rows + q
                    let column = p % tilesW, count = Swift.min(8, tilesW - column, width - q)
                    let h = 4 * (p / tilesW), c = 4 * column
                    let at = co * oT * oH * oW + h * oW + c
                    // Eight tiles of one tile row, all inside the frame: one vector pass, written in place.
                    if count == 8 && h + 4 <= oH && c + 32 <= oW {
                        Self.outputEight(src, plane: plane, scale: k, bias: b, into: out + at, rowStride: oW,
                                         residual: residual.map { $0 + at }, relu: relu)
                        q += 8
                        continue
                    }
                    // Otherwise the same pass into a 4×32 stage (lanes past `count` are other
                    // rows' values, never written out), then the part inside the frame.
                    Self.outputEight(src, plane: plane, scale: 1, bias: 0, into: stage, rowStride: 32, residual: nil, relu: false)
                    let rows = Swift.min(4, oH - h), columns = Swift.min(4 * count, oW - c)
                    for i in 0..<rows {
                        let o = out + at + i * oW, r = stage + i * 32
                        // One loop per epilogue, so that each vectorises.
                        switch (residual.map { $0 + at + i * oW }, relu) {
                        case (nil, false): for j in 0..<columns { o[j] = r[j] * k + b }
                        case (nil, true): for j in 0..<columns { o[j] = Swift.max(r[j] * k + b, 0) }
                        case (let add?, false): for j in 0..<columns { o[j] = r[j] * k + b + add[j] }
                        case (let add?, true): for j in 0..<columns { o[j] = Swift.max(r[j] * k + b + add[j], 0) }
                        }
                    }
                    q += count
                }
            }
        }
    }

    /// Aᵀ·M·A for eight horizontally adjacent tiles (lanes), written as four output rows of 32.
    @inline(__always)
    static func outputEight(_ src: UnsafePointer<Float>, plane: Int, scale: Float, bias: Float, into out: UnsafeMutablePointer<Float>,
                            rowStride: Int, residual: UnsafePointer<Float>?, relu: Bool) {
        @inline(__always) func m(_ r: Int, _ c: Int) -> SIMD8<Float> {
            UnsafeRawPointer(src + (6 * r + c) * plane).loadUnaligned(as: SIMD8<Float>.self)
        }
        // Aᵀ·M: column c of the six rows gives the four rows' entries in column c.
        let c0 = outputTransform(m(0, 0), m(1, 0), m(2, 0), m(3, 0), m(4, 0), m(5, 0))
        let c1 = outputTransform(m(0, 1), m(1, 1), m(2, 1), m(3, 1), m(4, 1), m(5, 1))
        let c2 = outputTransform(m(0, 2), m(1, 2), m(2, 2), m(3, 2), m(4, 2), m(5, 2))
        let c3 = outputTransform(m(0, 3), m(1, 3), m(2, 3), m(3, 3), m(4, 3), m(5, 3))
        let c4 = outputTransform(m(0, 4), m(1, 4), m(2, 4), m(3, 4), m(4, 4), m(5, 4))
        let c5 = outputTransform(m(0, 5), m(1, 5), m(2, 5), m(3, 5), m(4, 5), m(5, 5))
        @inline(__always) func write(_ row: Int, _ r0: SIMD8<Float>, _ r1: SIMD8<Float>, _ r2: SIMD8<Float>, _ r3: SIMD8<Float>,
                                     _ r4: SIMD8<Float>, _ r5: SIMD8<Float>) {
            // ·A along the row; tile t's four outputs go to columns 4t…4t + 3.
            let y = outputTransform(r0, r1, r2, r3, r4, r5)
            // Interleaved in two steps of two: (y0, y2) and (y1, y3), then those.
            var even = SIMD16<Float>(), odd = SIMD16<Float>()
            even.evenHalf = y.0
            even.oddHalf = y.2
            odd.evenHalf = y.1
            odd.oddHalf = y.3
            @inline(__always) func put(_ half: Int, _ left: SIMD8<Float>, _ right: SIMD8<Float>) {
                var v = SIMD16<Float>()
                v.evenHalf = left
                v.oddHalf = right
                v = v * SIMD16(repeating: scale) + SIMD16(repeating: bias)
                let at = row * rowStride + 16 * half
                if let residual { v += UnsafeRawPointer(residual + at).loadUnaligned(as: SIMD16<Float>.self) }
                if relu { v = v.replacing(with: 0, where: v .< 0) }
                UnsafeMutableRawPointer(out + at).storeBytes(of: v, as: SIMD16<Float>.self)
            }
            put(0, even.lowHalf, odd.lowHalf)
            put(1, even.highHalf, odd.highHalf)
        }
        write(0, c0.0, c1.0, c2.0, c3.0, c4.0, c5.0)
        write(1, c0.1, c1.1, c2.1, c3.1, c4.1, c5.1)
        write(2, c0.2, c1.2, c2.2, c3.2, c4.2, c5.2)
        write(3, c0.3, c1.3, c2.3, c3.3, c4.3, c5.3)
    }

    /// The 3×3 kernel gradient Gᵀ·dU·G at dst from dU's 36 elements du[e·stride].
    static func kernelGradient(_ du: UnsafePointer<Float>, stride: Int, into dst: UnsafeMutablePointer<Float>) {
        // Gᵀ·dU: three rows of six, column by column; then each row ·G (six → three).
        var t = (SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>())
        for j in 0..<6 {
            let r = kernelAdjoint(du[j * stride], du[(6 + j) * stride], du[(12 + j) * stride],
                                  du[(18 + j) * stride], du[(24 + j) * stride], du[(30 + j) * stride])
            t.0[j] = r.0; t.1[j] = r.1; t.2[j] = r.2
        }
        @inline(__always) func put(_ i: Int, _ r: SIMD8<Float>) {
            let g = kernelAdjoint(r[0], r[1], r[2], r[3], r[4], r[5])
            dst[3 * i] = g.0; dst[3 * i + 1] = g.1; dst[3 * i + 2] = g.2
        }
        put(0, t.0); put(1, t.1); put(2, t.2)
    }

    /// Gᵀ applied to six values: three. Gᵀ = [¼ −⅙ −⅙ 1/24 1/24 0; 0 −⅙ ⅙ 1/12 −1/12 0; 0 −⅙ −⅙ ⅙ ⅙ 1].
    @inline(__always)
    static func kernelAdjoint(_ d0: Float, _ d1: Float, _ d2: Float, _ d3: Float, _ d4: Float, _ d5: Float) -> (Float, Float, Float) {
        let s12 = d1 + d2, s34 = d3 + d4
        return (0.25 * d0 - s12 * (1 / 6) + s34 * (1 / 24), (d2 - d1) * (1 / 6) + (d3 - d4) * (1 / 12), (s34 - s12) * (1 / 6) + d5)
    }

    /// dM [36, Cout, ·] = A·dY·Aᵀ for the tiles `tiles` of one output frame of one sample, with
    /// A = (Aᵀ)ᵀ (6×4) (`winogradGradientTiles`).
    func transformGradient(_ dy: UnsafePointer<Float>, tiles: Range<Int>, into m: UnsafeMutablePointer<Float>, rowStride: Int) {
        winogradGradientTiles(plan, side: 4, tilesW: tilesW, dy, tiles: tiles, into: m, rowStride: rowStride) { src, stride, o, plane in
            Self.gradientEight(src, rowStride: stride, into: o, plane: plane)
        }
    }

    /// A applied to four vectors (the transpose of `outputTransform`): six.
    @inline(__always)
    static func gradientTransform(_ y0: SIMD8<Float>, _ y1: SIMD8<Float>, _ y2: SIMD8<Float>, _ y3: SIMD8<Float>)
        -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
        let even = y0 + y2, odd = y1 + y3, even4 = y0 + y2 * 4, odd8 = y1 * 2 + y3 * 8
        return (y0, even + odd, even - odd, even4 + odd8, even4 - odd8, y3)
    }

    /// A·dY·Aᵀ for eight horizontally adjacent 4×4 output tiles whose 4×32 block starts at `src`
    /// (lane t is tile t): element e = 6·r + c of tile t goes to o[e·plane + t].
    @inline(__always)
    static func gradientEight(_ src: UnsafePointer<Float>, rowStride: Int, into o: UnsafeMutablePointer<Float>, plane: Int) {
        // Each row's four columns for the eight tiles (lanes four apart), transformed along the row.
        @inline(__always) func row(_ i: Int) -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
            let p = src + i * rowStride
            let a = UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
            let b = UnsafeRawPointer(p + 16).loadUnaligned(as: SIMD16<Float>.self)
            let ae = a.evenHalf, ao = a.oddHalf, be = b.evenHalf, bo = b.oddHalf
            return gradientTransform(SIMD8(lowHalf: ae.evenHalf, highHalf: be.evenHalf), SIMD8(lowHalf: ao.evenHalf, highHalf: bo.evenHalf),
                                     SIMD8(lowHalf: ae.oddHalf, highHalf: be.oddHalf), SIMD8(lowHalf: ao.oddHalf, highHalf: bo.oddHalf))
        }
        let r0 = row(0), r1 = row(1), r2 = row(2), r3 = row(3)
        // Then down each column: column c of the four rows gives elements 6·r + c.
        @inline(__always) func column(_ c: Int, _ y0: SIMD8<Float>, _ y1: SIMD8<Float>, _ y2: SIMD8<Float>, _ y3: SIMD8<Float>) {
            let v = gradientTransform(y0, y1, y2, y3)
            @inline(__always) func put(_ r: Int, _ x: SIMD8<Float>) {
                UnsafeMutableRawPointer(o + (6 * r + c) * plane).storeBytes(of: x, as: SIMD8<Float>.self)
            }
            put(0, v.0); put(1, v.1); put(2, v.2); put(3, v.3); put(4, v.4); put(5, v.5)
        }
        column(0, r0.0, r1.0, r2.0, r3.0)
        column(1, r0.1, r1.1, r2.1, r3.1)
        column(2, r0.2, r1.2, r2.2, r3.2)
        column(3, r0.3, r1.3, r2.3, r3.3)
        column(4, r0.4, r1.4, r2.4, r3.4)
        column(5, r0.5, r1.5, r2.5, r3.5)
    }
}
