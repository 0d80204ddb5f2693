/// Winograd F(2×2, 3×3) for convolutions whose spatial kernel is 3×3 at stride 1 (any temporal
/// kernel, stride, padding and dilation): 16 multiplies per 2×2 outputs and input channel instead
/// of 36, so the GEMMs do 2.25× fewer multiply-adds than im2col's.
///
/// With the 4×4 input tile d, a 3×3 kernel g and the 2×2 output tile y (Lavin & Gray, 2015):
///
///     U = G·g·Gᵀ,   V = Bᵀ·d·B,   y = Aᵀ·(U ⊙ V)·A
///
///     Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1],  G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1],  Aᵀ = [1 1 1 0; 0 1 −1 −1]
///
/// Summed over input channels and temporal taps, the 16 products U ⊙ V become 16 GEMMs, one per
/// transform element e:  M_e [Cout, P] = U_e [Cout, kT·Cin] · V_e [kT·Cin, P]  over P tiles.
///
/// Work units are (sample, block of tiles, run of output frames). A unit transforms every input
/// frame its run reads, for its tiles, once into V [16, T, Cin, P]; then, per output frame, the
/// frames it reads are consecutive rows of V_e (temporal padding is left out of K), so each e is
/// one GEMM into M [16, Cout, P], and M is transformed back into the output tiles.
struct WinogradPlan: WinogradTiling {
    static let elements = 16
    let plan: ConvPlan
    let tilesH, tilesW: Int
    /// Tiles per unit.
    let block: Int
    /// The forward pass's tiles per unit and runs of output frames per (sample, block of tiles).
    let forwardBlock: Int, chunks: Int
    var gradientBlock: Int { block }
    var tiles: Int { tilesH * tilesW }
    var blocks: Int { (tiles + block - 1) / block }
    var depth: Int { plan.window.kernel[0] * plan.cin }     // K of the GEMMs: kT·Cin

    /// Whether `plan` can run this way: a 3×3 spatial kernel at stride 1 without dilation, no
    /// groups, and enough channels and tiles for the transforms to pay. The transformed weights
    /// (16·Cout·kT·Cin) are written once per call and read by every GEMM, so below a few hundred
    /// tiles in all (deep layers on 7×7 frames) their traffic outweighs the saved multiplies.
    static func applies(to plan: ConvPlan) -> Bool {
        let w = plan.window
        let tiles = plan.n * w.output[0] * ((w.output[1] + 1) / 2) * ((w.output[2] + 1) / 2)
        return w.kernel[1] == 3 && w.kernel[2] == 3 && w.stride[1] == 1 && w.stride[2] == 1
            && w.dilation[1] == 1 && w.dilation[2] == 1 && plan.groups == 1 && plan.cin >= 16 && plan.cout >= 16
            && tiles >= minimumTiles
    }

    static let minimumTiles = 256

    init(_ plan: ConvPlan) {
        self.plan = plan
        tilesH = (plan.window.output[1] + 1) / 2
        tilesW = (plan.window.output[2] + 1) / 2
        let tiles = tilesH * tilesW
        // About 4 MB of transformed input per unit, at least 32 tiles wide where the frame has
        // them; then as even blocks, enough of them to keep every worker busy.
        let widest = Swift.max(32, (1 << 20) / Swift.max(1, 16 * plan.window.input[0] * plan.cin))
        let natural = (tiles + widest - 1) / widest
        var blocks = natural
        let workers = Parallel.workers
        if plan.n * blocks < 2 * workers { blocks = Swift.min(tiles, (2 * workers + plan.n - 1) / plan.n) }
        else if blocks % workers != 0 && plan.n == 1 { blocks = Swift.min(tiles, (blocks + workers - 1) / workers * workers) }
        block = (tiles + blocks - 1) / blocks
        // The forward pass keeps the widest blocks and, when a clip has too few of them for the
        // workers, splits its output frames into runs instead (each run transforms the input
        // frames its taps read): narrower blocks would make every GEMM narrower. A 14×14 frame
        // is 49 tiles: one GEMM 49 wide per run instead of four 13 wide.
        let units = plan.n * natural, chunks = winogradRuns(units: units, outputFrames: plan.window.output[0])
        if units * chunks >= workers || units * chunks >= plan.n * blocks {
            (forwardBlock, self.chunks) = ((tiles + natural - 1) / natural, chunks)
        } else {
            (forwardBlock, self.chunks) = (block, 1)
        }
    }

    /// U [16, Cout, kT·Cin] from W [Cout, Cin, kT, 3, 3].
    func transformedWeight(_ weight: UnsafePointer<Float>) -> Scratch {
        winogradWeights(plan, elements: 16, weight) { g, o, stride in
            // G·g: rows 0…3 of a 4×3, column by column.
            let a0 = g[0], a1 = g[1], a2 = g[2]
            let c0 = g[6], c1 = g[7], c2 = g[8]
            let s0 = 0.5 * (a0 + g[3] + c0), s1 = 0.5 * (a1 + g[4] + c1), s2 = 0.5 * (a2 + g[5] + c2)
            let d0 = 0.5 * (a0 - g[3] + c0), d1 = 0.5 * (a1 - g[4] + c1), d2 = 0.5 * (a2 - g[5] + c2)
            // ·Gᵀ: each row (r0, r1, r2) → (r0, ½(r0 + r1 + r2), ½(r0 − r1 + r2), r2).
            @inline(__always) func row(_ i: Int, _ r0: Float, _ r1: Float, _ r2: Float) {
                let e = o + 4 * i * stride
                e[0] = r0
                e[stride] = 0.5 * (r0 + r1 + r2)
                e[2 * stride] = 0.5 * (r0 - r1 + r2)
                e[3 * stride] = r2
            }
            row(0, a0, a1, a2)
            row(1, s0, s1, s2)
            row(2, d0, d1, d2)
            row(3, c0, c1, c2)
        }
    }

    /// V [16, F, Cin, width] for the tiles `tiles` of the input frames `frames` (F of them; every
    /// frame by default), from one sample's input [Cin, T, H, W]. With `channelMajor` the layout
    /// is V [16, Cin, F, width] instead (the weight gradient's).
    ///
    /// Tiles go in groups of up to eight along a tile row, each group one vector pass
    /// (`transformEight`). A group inside the frame reads the input in place; one that touches the
    /// padding, or has fewer than eight tiles (a row's or the unit's end), is first staged as a
    /// zero-filled 4×18 window; a short group at the unit's end has its lanes copied out.
    func transformInput(_ x: UnsafePointer<Float>, frames: Range<Int>? = nil, tiles: Range<Int>, into v: UnsafeMutablePointer<Float>,
                        channelMajor: Bool = false) {
        let w = plan.window
        let (inT, inH, inW) = (w.input[0], w.input[1], w.input[2])
        let (padH, padW) = (w.padding[1], w.padding[2])
        let frames = frames ?? 0..<inT, count = frames.count
        let cin = plan.cin, width = tiles.count, plane = count * cin * width
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 4 * 18 + 16 * 8) { buffer in
            let window = buffer.baseAddress!, lanes = window + 4 * 18
            for t in frames {
                for ci in 0..<cin {
                    let f = t - frames.lowerBound
                    let o = v + (channelMajor ? ci * count + f : f * cin + ci) * width
                    let frame = x + (ci * inT + t) * inH * inW
                    var q = 0
                    while q < width {
                        let p = tiles.lowerBound + q
                        let column = p % tilesW, count = Swift.min(8, tilesW - column, width - q)
                        let h0 = 2 * (p / tilesW) - padH, w0 = 2 * column - padW
                        if count == 8 && h0 >= 0 && h0 + 4 <= inH && w0 >= 0 && w0 + 18 <= inW {
                            transformEight(frame + h0 * inW + w0, rowStride: inW, into: o + q, plane: plane)
                            q += 8
                            continue
                        }
                        // The window the group reads, zero outside the frame and past its last tile
                        // (an element loop: a copy call per row costs more than these few loads).
                        let lo = Swift.max(0, -w0), hi = Swift.min(2 * count + 2, inW - w0)
                        for i in 0..<4 {
                            let inside = h0 + i >= 0 && h0 + i < inH
                            let row = frame + (inside ? (h0 + i) * inW + w0 : 0), dst = window + i * 18
                            for j in 0..<18 { dst[j] = inside && j >= lo && j < hi ? row[j] : 0 }
                        }
                        if q + 8 <= width {
                            // A short group's spare lanes land on the next tiles, which are written after it.
                            transformEight(window, rowStride: 18, into: o + q, plane: plane)
                        } else {
                            transformEight(window, rowStride: 18, into: lanes, plane: 8)
                            for e in 0..<16 { (o + e * plane + q).update(from: lanes + e * 8, count: count) }
                        }
                        q += count
                    }
                }
            }
        }
    }

    /// Bᵀ·d·B for eight horizontally adjacent tiles whose 4×18 input block starts at `src`: lane t
    /// of each vector is tile t. Column j of tile t is input column 2t + j, so the even and odd
    /// lanes of two 16-wide loads give the four columns for all eight tiles.
    @inline(__always)
    func transformEight(_ src: UnsafePointer<Float>, rowStride: Int, into o: UnsafeMutablePointer<Float>, plane: Int) {
        @inline(__always) func load16(_ p: UnsafePointer<Float>) -> SIMD16<Float> {
            UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
        }
        @inline(__always) func columns(_ i: Int) -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
            let a = load16(src + i * rowStride), b = load16(src + i * rowStride + 2)
            return (a.evenHalf, a.oddHalf, b.evenHalf, b.oddHalf)
        }
        let d0 = columns(0), d1 = columns(1), d2 = columns(2), d3 = columns(3)
        // Bᵀ·d: rows r0 = d0 − d2, r1 = d1 + d2, r2 = d2 − d1, r3 = d1 − d3, column by column;
        // then ·B on each row's four columns (a, b, c, e): a − c, b + c, c − b, b − e.
        @inline(__always) func store(_ i: Int, _ a: SIMD8<Float>, _ b: SIMD8<Float>, _ c: SIMD8<Float>, _ e: SIMD8<Float>) {
            let base = o + 4 * i * plane
            UnsafeMutableRawPointer(base).storeBytes(of: a - c, as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(base + plane).storeBytes(of: b + c, as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(base + 2 * plane).storeBytes(of: c - b, as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(base + 3 * plane).storeBytes(of: b - e, as: SIMD8<Float>.self)
        }
        store(0, d0.0 - d2.0, d0.1 - d2.1, d0.2 - d2.2, d0.3 - d2.3)
        store(1, d1.0 + d2.0, d1.1 + d2.1, d1.2 + d2.2, d1.3 + d2.3)
        store(2, d2.0 - d1.0, d2.1 - d1.1, d2.2 - d1.2, d2.3 - d1.3)
        store(3, d1.0 - d3.0, d1.1 - d3.1, d1.2 - d3.2, d1.3 - d3.3)
    }

    /// Writes Aᵀ·M·A (+ bias) for each tile into one output frame of one sample, [Cout, oT, oH, oW] at `out`.
    func transformOutput(_ m: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?, tiles: Range<Int>,
                         into out: UnsafeMutablePointer<Float>, scale: UnsafePointer<Float>? = nil,
                         residual: UnsafePointer<Float>? = nil, relu: Bool = false, rowStride: Int? = nil) {
        let w = plan.window
        let (oT, oH, oW) = (w.output[0], w.output[1], w.output[2])
        let cout = plan.cout, width = tiles.count, rows = rowStride ?? width, plane = cout * rows
        for co in 0..<cout {
            let b = bias?[co] ?? 0, k = scale?[co] ?? 1
            var q = 0
            while q < width {
                let p = tiles.lowerBound + q
                let src = m + co * rows + q
                let h = 2 * (p / tilesW), c = 2 * (p % tilesW)
                // Eight tiles of one tile row, all inside the frame: one vector pass.
                if q + 8 <= width && p % tilesW + 8 <= tilesW && h + 2 <= oH && c + 16 <= oW {
                    let at = co * oT * oH * oW + h * oW + c
                    outputEight(src, plane: plane, scale: k, bias: b, into: out + at, rowStride: oW, residual: residual.map { $0 + at }, relu: relu)
                    q += 8
                    continue
                }
                @inline(__always) func row(_ i: Int) -> SIMD4<Float> {
                    SIMD4(src[4 * i * plane], src[(4 * i + 1) * plane], src[(4 * i + 2) * plane], src[(4 * i + 3) * plane])
                }
                // Aᵀ·M combines rows into two; ·A then combines each row's columns into two.
                let m1 = row(1), m2 = row(2)
                let s0 = row(0) + m1 + m2, s1 = m1 - m2 - row(3)
                let at = co * oT * oH * oW + h * oW + c
                let r = out + at, add = residual.map { $0 + at }
                @inline(__always) func put(_ i: Int, _ v: Float) {
                    var v = v * k + b
                    if let add { v += add[i] }
                    r[i] = relu ? Swift.max(v, 0) : v
                }
                let right = c + 1 < oW, below = h + 1 < oH
                put(0, s0[0] + s0[1] + s0[2])
                if right { put(1, s0[1] - s0[2] - s0[3]) }
                if below {
                    put(oW, s1[0] + s1[1] + s1[2])
                    if right { put(oW + 1, s1[1] - s1[2] - s1[3]) }
                }
                q += 1
            }
        }
    }

    /// Aᵀ·M·A for eight horizontally adjacent tiles (lanes), written as two output rows of 16.
    @inline(__always)
    func outputEight(_ src: UnsafePointer<Float>, plane: Int, scale: Float, bias: Float, into out: UnsafeMutablePointer<Float>, rowStride: Int,
                     residual: UnsafePointer<Float>?, relu: Bool) {
        @inline(__always) func m(_ e: Int) -> SIMD8<Float> { UnsafeRawPointer(src + e * plane).loadUnaligned(as: SIMD8<Float>.self) }
        // Aᵀ·M: s0 = m0 + m1 + m2, s1 = m1 − m2 − m3 (rows), column by column.
        @inline(__always) func s0(_ j: Int) -> SIMD8<Float> { m(j) + m(4 + j) + m(8 + j) }
        @inline(__always) func s1(_ j: Int) -> SIMD8<Float> { m(4 + j) - m(8 + j) - m(12 + j) }
        let a0 = s0(0), a1 = s0(1), a2 = s0(2), a3 = s0(3)
        let b0 = s1(0), b1 = s1(1), b2 = s1(2), b3 = s1(3)
        @inline(__always) func write(_ row: Int, _ left: SIMD8<Float>, _ right: SIMD8<Float>) {
            // Tile t's two outputs go to columns 2t and 2t + 1.
            var v = SIMD16<Float>()
            v.evenHalf = left
            v.oddHalf = right
            v = v * SIMD16(repeating: scale) + SIMD16(repeating: bias)
            if let residual { v += UnsafeRawPointer(residual + row * rowStride).loadUnaligned(as: SIMD16<Float>.self) }
            if relu { v = v.replacing(with: 0, where: v .< 0) }
            UnsafeMutableRawPointer(out + row * rowStride).storeBytes(of: v, as: SIMD16<Float>.self)
        }
        write(0, a0 + a1 + a2, a1 - a2 - a3)
        write(1, b0 + b1 + b2, b1 - b2 - b3)
    }

    /// The 3×3 kernel gradient Gᵀ·dU·G at dst from dU's 16 elements du[e·stride], with
    /// Gᵀ = [1 ½ ½ 0; 0 ½ −½ 0; 0 ½ ½ 1].
    static func kernelGradient(_ du: UnsafePointer<Float>, stride: Int, into dst: UnsafeMutablePointer<Float>) {
        // Gᵀ·dU: three rows of four, column by column.
        var t0 = SIMD4<Float>(), t1 = SIMD4<Float>(), t2 = SIMD4<Float>()
        for j in 0..<4 {
            let a = du[j * stride], b = du[(4 + j) * stride], c = du[(8 + j) * stride], d = du[(12 + j) * stride]
            t0[j] = a + 0.5 * (b + c)
            t1[j] = 0.5 * (b - c)
            t2[j] = 0.5 * (b + c) + d
        }
        // ·G: each row (r0, r1, r2, r3) → (r0 + ½(r1 + r2), ½(r1 − r2), ½(r1 + r2) + r3).
        @inline(__always) func put(_ i: Int, _ r: SIMD4<Float>) {
            dst[3 * i] = r[0] + 0.5 * (r[1] + r[2])
            dst[3 * i + 1] = 0.5 * (r[1] - r[2])
            dst[3 * i + 2] = 0.5 * (r[1] + r[2]) + r[3]
        }
        put(0, t0); put(1, t1); put(2, t2)
    }

    /// dM [16, Cout, ·] = A·dY·Aᵀ for the tiles `tiles` of one output frame of one sample, with
    /// A = [1 0; 1 1; 1 −1; 0 −1] (`winogradGradientTiles`).
    func transformGradient(_ dy: UnsafePointer<Float>, tiles: Range<Int>, into m: UnsafeMutablePointer<Float>, rowStride: Int) {
        winogradGradientTiles(plan, side: 2, tilesW: tilesW, dy, tiles: tiles, into: m, rowStride: rowStride) { src, stride, o, plane in
            gradientEight(src, rowStride: stride, into: o, plane: plane)
        }
    }

    /// A·dY·Aᵀ for eight horizontally adjacent 2×2 output tiles whose 2×16 block starts at `src`
    /// (lane t is tile t), with A = [1 0; 1 1; 1 −1; 0 −1]: element e of tile t goes to
    /// o[e·plane + t].
    @inline(__always)
    func gradientEight(_ src: UnsafePointer<Float>, rowStride: Int, into o: UnsafeMutablePointer<Float>, plane: Int) {
        let r0 = UnsafeRawPointer(src).loadUnaligned(as: SIMD16<Float>.self)
        let r1 = UnsafeRawPointer(src + rowStride).loadUnaligned(as: SIMD16<Float>.self)
        let (y00, y01, y10, y11) = (r0.evenHalf, r0.oddHalf, r1.evenHalf, r1.oddHalf)
        // Rows of A·dY (4×2), then each row times Aᵀ (2 → 4): (a, b) → (a, a + b, a − b, −b).
        @inline(__always) func row(_ i: Int, _ a: SIMD8<Float>, _ b: SIMD8<Float>) {
            @inline(__always) func put(_ e: Int, _ v: SIMD8<Float>) {
                UnsafeMutableRawPointer(o + e * plane).storeBytes(of: v, as: SIMD8<Float>.self)
            }
            put(4 * i, a)
            put(4 * i + 1, a + b)
            put(4 * i + 2, a - b)
            put(4 * i + 3, -b)
        }
        row(0, y00, y01)
        row(1, y00 + y10, y01 + y11)
        row(2, y00 - y10, y01 - y11)
        row(3, -y10, -y11)
    }
}

/// What a Winograd tiling (`WinogradPlan`'s F(2×2, 3×3), `WinogradF4Plan`'s F(4×4, 3×3)) gives
/// the walks both share: its transforms, and how it cuts the work into units.
protocol WinogradTiling {
    /// Transform elements per tile: 16 or 36.
    static var elements: Int { get }
    var plan: ConvPlan { get }
    var tiles: Int { get }
    /// The forward pass's tiles per unit and runs of output frames per (sample, block of tiles).
    var forwardBlock: Int { get }
    var chunks: Int { get }
    /// The weight gradient's tiles per unit.
    var gradientBlock: Int { get }
    /// U [elements, Cout, kT·Cin] from W [Cout, Cin, kT, 3, 3].
    func transformedWeight(_ weight: UnsafePointer<Float>) -> Scratch
    /// V [elements, F, Cin, width] (or [elements, Cin, F, width] with `channelMajor`).
    func transformInput(_ x: UnsafePointer<Float>, frames: Range<Int>?, tiles: Range<Int>, into v: UnsafeMutablePointer<Float>,
                        channelMajor: Bool)
    /// Aᵀ·M·A with the epilogue into one output frame.
    func transformOutput(_ m: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?, tiles: Range<Int>,
                         into out: UnsafeMutablePointer<Float>, scale: UnsafePointer<Float>?,
                         residual: UnsafePointer<Float>?, relu: Bool, rowStride: Int?)
    /// dM = A·dY·Aᵀ for one output frame.
    func transformGradient(_ dy: UnsafePointer<Float>, tiles: Range<Int>, into m: UnsafeMutablePointer<Float>, rowStride: Int)
    /// dW = Gᵀ·dU·G for one 3×3 kernel from dU's elements du[e·stride].
    static func kernelGradient(_ du: UnsafePointer<Float>, stride: Int, into dst: UnsafeMutablePointer<Float>)
}

extension WinogradTiling {
    /// The convolution into `out` [N, Cout, oT, oH, oW], with the epilogue fused into the output
    /// transform (`winogradForward`).
    func forward(_ x: UnsafePointer<Float>, _ weight: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?,
                 _ out: UnsafeMutablePointer<Float>, epilogue: ConvEpilogue = ConvEpilogue()) {
        let u = transformedWeight(weight)
        defer { u.free() }
        winogradForward(plan, elements: Self.elements, tiles: tiles, block: forwardBlock, chunks: chunks, weights: u.pointer, x: x,
                        input: { sample, frames, tiles, v, channelMajor in
                            transformInput(sample, frames: frames, tiles: tiles, into: v, channelMajor: channelMajor)
                        },
                        output: { m, rowStride, tiles, frame in
                            transformOutput(m, bias, tiles: tiles, into: out + frame, scale: epilogue.scale,
                                            residual: epilogue.residual.map { $0 + frame }, relu: epilogue.relu, rowStride: rowStride)
                        })
    }

    /// dW [Cout, Cin, kT, 3, 3], the adjoint of `forward` (`winogradWeightGradient`).
    func weightGradient(_ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, shape: [Int]) -> Tensor {
        winogradWeightGradient(plan, elements: Self.elements, tiles: tiles, block: gradientBlock, x: x, dy: dy, shape: shape,
                               input: { sample, tiles, v in transformInput(sample, frames: nil, tiles: tiles, into: v, channelMajor: true) },
                               gradient: { dy, tiles, m, rowStride in transformGradient(dy, tiles: tiles, into: m, rowStride: rowStride) },
                               kernel: { du, stride, dst in Self.kernelGradient(du, stride: stride, into: dst) })
    }
}

/// U [elements, Cout, kT·Cin] from W [Cout, Cin, kT, 3, 3], both Winograd tilings' weight
/// transform: `kernel(g, o, stride)` writes the transform of the 3×3 kernel at g, element e at
/// o[e·stride]. For each (co, kt) the elements' rows are written along ci, so the stores run as
/// `elements` sequential streams.
@inline(__always)
func winogradWeights(_ plan: ConvPlan, elements: Int, _ weight: UnsafePointer<Float>,
                     _ kernel: (_ g: UnsafePointer<Float>, _ o: UnsafeMutablePointer<Float>, _ stride: Int) -> Void) -> Scratch {
    let kT = plan.window.kernel[0], cin = plan.cin, cout = plan.cout, k = kT * cin
    let u = Scratch(elements * cout * k)
    let pu = u.pointer, stride = cout * k
    Parallel.forRanges(cout) { range in
        for co in range { for kt in 0..<kT {
            let dst = pu + co * k + kt * cin
            for ci in 0..<cin { kernel(weight + ((co * cin + ci) * kT + kt) * 9, dst + ci, stride) }
        } }
    }
    return u
}

/// Both tilings' gradient transform: dM [elements, Cout, ·] = A·dY·Aᵀ for the `side`×`side`
/// output tiles `tiles` (`tilesW` per tile row) of one output frame of one sample, dY [Cout, oT,
/// oH, oW] at `dy`; outputs past the frame's edge count as zero. Row `co` of dM_e starts at
/// m + (e·Cout + co)·rowStride, elements (side + 2)².
///
/// Tiles go in groups of up to eight along a tile row; `eight(src, rowStride, o, plane)`
/// transforms eight adjacent tiles whose side × 8·side block starts at src, element e of tile t
/// to o[e·plane + t]. A group at the frame's edge or shorter than eight is staged as a
/// zero-filled block first.
@inline(__always)
func winogradGradientTiles(_ plan: ConvPlan, side: Int, tilesW: Int, _ dy: UnsafePointer<Float>, tiles: Range<Int>,
                           into m: UnsafeMutablePointer<Float>, rowStride: Int,
                           _ eight: (_ src: UnsafePointer<Float>, _ rowStride: Int, _ o: UnsafeMutablePointer<Float>, _ plane: Int) -> Void) {
    let w = plan.window
    let (oT, oH, oW) = (w.output[0], w.output[1], w.output[2])
    let cout = plan.cout, plane = cout * rowStride, span = 8 * side, elements = (side + 2) * (side + 2)
    withUnsafeTemporaryAllocation(of: Float.self, capacity: side * span + elements * 8) { buffer in
        let window = buffer.baseAddress!, lanes = window + side * span
        for co in 0..<cout {
            let src = dy + co * oT * oH * oW
            var q = 0
            while q < tiles.count {
                let p = tiles.lowerBound + q
                let column = p % tilesW, count = Swift.min(8, tilesW - column, tiles.count - q)
                let h = side * (p / tilesW), c = side * column
                let o = m + co * rowStride + q
                if count == 8 && h + side <= oH && c + span <= oW {
                    eight(src + h * oW + c, oW, o, plane)
                } else {
                    let rows = Swift.min(side, oH - h), columns = Swift.min(side * count, oW - c)
                    for i in 0..<side {
                        let dst = window + i * span
                        guard i < rows else {
                            for j in 0..<span { dst[j] = 0 }
                            continue
                        }
                        let row = src + (h + i) * oW + c
                        for j in 0..<columns { dst[j] = row[j] }
                        for j in columns..<span { dst[j] = 0 }
                    }
                    if q + 8 <= tiles.count {
                        // A short group's spare lanes land on the next tiles, which are written after it.
                        eight(window, span, o, plane)
                    } else {
                        eight(window, span, lanes, 8)
                        for e in 0..<elements { (o + e * plane).update(from: lanes + e * 8, count: count) }
                    }
                }
                q += count
            }
        }
    }
}

/// The weight gradient both Winograd tilings share, the adjoint of `winogradForward` (whose
/// output is linear in U):
///
///     dM = A·dY·Aᵀ per output tile,   dU_e += dM_e [Cout, P] · V_e[frames]ᵀ [P, Cin] per tap,   dW = Gᵀ·dU·G
///
/// Units are (sample, block of `block` tiles), each worker summing its units into a private dU.
/// `input` writes one sample's V [elements, Cin, T, width] (channel-major, so that for each tap
/// the output frames that read a real input frame are one GEMM with K = frames × tiles when the
/// temporal stride is 1); `gradient` writes dM_e for one output frame of dY (rows `rowStride`
/// apart, elements Cout·rowStride apart); `kernel(du, stride, dst)` writes the 3×3 kernel gradient
/// at dst from the element values du[e·stride].
func winogradWeightGradient(_ plan: ConvPlan, elements: Int, tiles: Int, block: Int,
                            x: UnsafePointer<Float>, dy: UnsafePointer<Float>, shape: [Int],
                            input: (_ sample: UnsafePointer<Float>, _ tiles: Range<Int>, _ v: UnsafeMutablePointer<Float>) -> Void,
                            gradient: (_ dy: UnsafePointer<Float>, _ tiles: Range<Int>, _ m: UnsafeMutablePointer<Float>, _ rowStride: Int) -> Void,
                            kernel: (_ du: UnsafePointer<Float>, _ stride: Int, _ dst: UnsafeMutablePointer<Float>) -> Void) -> Tensor {
    let w = plan.window
    let (inT, oT, kT) = (w.input[0], w.output[0], w.kernel[0])
    let (st, pt, dt) = (w.stride[0], w.padding[0], w.dilation[0])
    let blocks = (tiles + block - 1) / block
    let units = plan.n * blocks
    let cin = plan.cin, cout = plan.cout, k = kT * cin
    let workers = Swift.max(1, Swift.min(Parallel.workers, units))
    let partial = (0..<workers).map { _ in Scratch(zeroed: elements * cout * k) }
    defer { partial.forEach { $0.free() } }
    Parallel.forTasks(workers) { worker in
        // V [elements, Cin, T, width] and dM [elements, Cout, oT, width].
        let v = Scratch(elements * inT * cin * block), m = Scratch(elements * cout * oT * block)
        defer { v.free(); m.free() }
        let du = partial[worker].pointer
        for unit in (units * worker / workers)..<(units * (worker + 1) / workers) {
            let s = unit / blocks, b = unit % blocks
            let p0 = b * block, width = Swift.min(tiles, p0 + block) - p0
            guard width > 0 else { continue }
            input(x + s * cin * w.inputPlane, p0..<(p0 + width), v.pointer)
            for ot in 0..<oT {
                gradient(dy + (s * cout * oT + ot) * w.output[1] * w.output[2], p0..<(p0 + width), m.pointer + ot * width, oT * width)
            }
            for kt in 0..<kT {
                let valid = winogradOutputsReading(tap: kt, of: 0..<oT, plan)
                guard !valid.isEmpty else { continue }
                for e in 0..<elements {
                    let dm = m.pointer + e * cout * oT * width, ve = v.pointer + e * cin * inT * width
                    let due = du + e * cout * k + kt * cin
                    if st == 1 {
                        // dU_e[:, kt] [Cout, Cin] += dM_e[:, frames valid] [Cout, n·width] · V_e[:, frames]ᵀ
                        let f0 = valid.lowerBound - pt + kt * dt
                        Gemm.run(transA: false, transB: true, m: cout, n: cin, k: valid.count * width,
                                 a: dm + valid.lowerBound * width, lda: oT * width, b: ve + f0 * width, ldb: inT * width,
                                 beta: 1, c: due, ldc: k, parallel: false)
                    } else {
                        for ot in valid {
                            let f = ot * st - pt + kt * dt
                            Gemm.run(transA: false, transB: true, m: cout, n: cin, k: width,
                                     a: dm + ot * width, lda: oT * width, b: ve + f * width, ldb: inT * width,
                                     beta: 1, c: due, ldc: k, parallel: false)
                        }
                    }
                }
            }
        }
    }
    for p in partial.dropFirst() { add(into: partial[0].pointer, p.pointer, count: elements * cout * k) }
    let gw = Tensor.empty(shape)
    let sum = UnsafePointer(partial[0].pointer), pw = gw.data, stride = cout * k
    Parallel.forRanges(cout) { range in
        for co in range { for ci in 0..<cin { for kt in 0..<kT {
            kernel(sum + co * k + kt * cin + ci, stride, pw + ((co * cin + ci) * kT + kt) * 9)
        } } }
    }
    return gw
}

/// The output frames among `outputs` whose temporal tap `kt` reads a real input frame, i.e.
/// ot·stride − padding + kt·dilation in [0, T): one range, since the frame read rises with ot.
func winogradOutputsReading(tap kt: Int, of outputs: Range<Int>, _ plan: ConvPlan) -> Range<Int> {
    let w = plan.window
    let st = w.stride[0], shift = w.padding[0] - kt * w.dilation[0]
    // The smallest ot with ot·st ≥ n, for n of either sign.
    func first(_ n: Int) -> Int { n > 0 ? (n + st - 1) / st : -(-n / st) }
    let lo = Swift.max(outputs.lowerBound, first(shift)), hi = Swift.min(outputs.upperBound, first(w.input[0] + shift))
    return lo < hi ? lo..<hi : outputs.lowerBound..<outputs.lowerBound
}

/// How many runs of output frames split each of `units` (sample, block of tiles) units of a
/// Winograd forward pass: the fewest that make the units a multiple of the workers, or four per
/// worker, and no more than the frames. Each run transforms the input frames its taps read.
func winogradRuns(units: Int, outputFrames: Int) -> Int {
    let workers = Parallel.workers
    var runs = 1
    while runs < outputFrames && units * runs % workers != 0 && units * runs < 4 * workers { runs += 1 }
    return runs
}

/// The forward pass both Winograd tilings share (`WinogradPlan`'s F(2×2, 3×3), 16 transform
/// elements; `WinogradF4Plan`'s F(4×4, 3×3), 36), given the transformed weights
/// U [elements, Cout, kT·Cin].
///
/// Units are (sample, block of `block` tiles, run of output frames; `chunks` runs per block).
/// A unit transforms the input frames its run reads (`input`: one sample's input, the frames,
/// the tiles, V, and whether V is channel-major). Then, per output frame or per group of them,
/// each element e's products are GEMMs into M, and `output` turns M (rows `rowStride` apart,
/// readable eight floats past its end) into the output frame at `frame`.
///
/// - Temporal stride 1: V is [elements, Cin, F, width], so for each tap the columns of a group of
///   consecutive output frames are one run of V_e's rows: per (e, tap) one GEMM
///   M_e[:, frames the tap reads] [Cout, g·width] += U_e[:, tap] [Cout, Cin] · V_e[:, frames] [Cin, g·width].
///   Groups span 256 columns or more where M stays within 1 MB, so frames of few tiles still make
///   wider GEMMs.
/// - Otherwise V is [elements, F, Cin, width], and per output frame each e is one GEMM
///   M_e [Cout, width] = U_e[:, taps] · V_e[frames] over the taps that read a real input frame
///   (consecutive rows of V_e when the temporal dilation is 1; one GEMM per tap otherwise).
func winogradForward(_ plan: ConvPlan, elements: Int, tiles: Int, block: Int, chunks: Int,
                     weights u: UnsafePointer<Float>, x: UnsafePointer<Float>,
                     input: (_ sample: UnsafePointer<Float>, _ frames: Range<Int>, _ tiles: Range<Int>, _ v: UnsafeMutablePointer<Float>,
                             _ channelMajor: Bool) -> Void,
                     output: (_ m: UnsafePointer<Float>, _ rowStride: Int, _ tiles: Range<Int>, _ frame: Int) -> Void) {
    let w = plan.window
    let (inT, oT, kT) = (w.input[0], w.output[0], w.kernel[0])
    let (st, pt, dt) = (w.stride[0], w.padding[0], w.dilation[0])
    let blocks = (tiles + block - 1) / block
    let units = plan.n * blocks * chunks
    let cin = plan.cin, cout = plan.cout, k = kT * cin
    let run = (oT + chunks - 1) / chunks
    let grouped = st == 1
    // Output frames per group: enough for 256 columns, within 1 MB of M (with 4 MB, R(2+1)D-18's
    // inference peak rose by 11 MB, 8% of it, for 2–3% of speed).
    let widest = Swift.min(tiles, block)
    let group = grouped ? Swift.max(1, Swift.min(run, (256 + widest - 1) / widest, (1 << 18) / (elements * cout * widest))) : 1
    Parallel.forRanges(units) { range in
        let framesRead = Swift.min(inT, (run - 1) * st + (kT - 1) * dt + 1)
        let v = Scratch(elements * framesRead * cin * block), m = Scratch(elements * cout * group * block + 8)
        defer { v.free(); m.free() }
        for unit in range {
            let s = unit / (blocks * chunks), b = unit / chunks % blocks, chunk = unit % chunks
            let p0 = b * block, width = Swift.min(tiles, p0 + block) - p0
            let o0 = chunk * run, o1 = Swift.min(oT, o0 + run)
            guard width > 0, o0 < o1 else { continue }
            // The input frames this run's taps read (none: every output frame is the epilogue of zeros).
            let f0 = Swift.max(0, Swift.min(inT, o0 * st - pt)), f1 = Swift.max(f0, Swift.min(inT, (o1 - 1) * st - pt + (kT - 1) * dt + 1))
            if f0 < f1 { input(x + s * cin * w.inputPlane, f0..<f1, p0..<(p0 + width), v.pointer, grouped) }
            let frameRows = cin * width, eStride = (f1 - f0) * frameRows
            if grouped {
                let frameStride = (f1 - f0) * width     // V_e's row stride: one channel's frames
                for g0 in stride(from: o0, to: o1, by: group) {
                    let g1 = Swift.min(o1, g0 + group), columns = (g1 - g0) * width
                    // Per tap, the output frames of the group that read a real input frame.
                    let reads = (0..<kT).compactMap { kt -> (kt: Int, frames: Range<Int>)? in
                        let frames = winogradOutputsReading(tap: kt, of: g0..<g1, plan)
                        return frames.isEmpty ? nil : (kt, frames)
                    }
                    // A tap that reads every frame of the group writes M first; otherwise M starts at zero.
                    let full = reads.firstIndex { $0.frames == g0..<g1 }
                    let order = full.map { f in [f] + reads.indices.filter { $0 != f } } ?? Array(reads.indices)
                    for e in 0..<elements {
                        let c = m.pointer + e * cout * columns, ue = u + e * cout * k, ve = v.pointer + e * eStride
                        if full == nil { c.update(repeating: 0, count: cout * columns) }
                        for i in order {
                            let tap = reads[i]
                            Gemm.run(transA: false, transB: false, m: cout, n: tap.frames.count * width, k: cin,
                                     a: ue + tap.kt * cin, lda: k, b: ve + (tap.frames.lowerBound - pt + tap.kt * dt - f0) * width,
                                     ldb: frameStride, beta: i == full ? 0 : 1, c: c + (tap.frames.lowerBound - g0) * width,
                                     ldc: columns, parallel: false)
                        }
                    }
                    for ot in g0..<g1 {
                        output(m.pointer + (ot - g0) * width, columns, p0..<(p0 + width), (s * cout * oT + ot) * w.output[1] * w.output[2])
                    }
                }
                continue
            }
            for ot in o0..<o1 {
                // Taps kt read input frame f(kt) = ot·stride − padding + kt·dilation; those inside [0, T) count.
                let first = ot * st - pt
                let taps = (0..<kT).filter { first + $0 * dt >= 0 && first + $0 * dt < inT }
                for e in 0..<elements {
                    let c = m.pointer + e * cout * width, ue = u + e * cout * k, ve = v.pointer + e * eStride
                    guard let lo = taps.first, let hi = taps.last else {
                        c.update(repeating: 0, count: cout * width)
                        continue
                    }
                    if dt == 1 {
                        // M_e [Cout, width] = U_e[:, taps] [Cout, n·Cin] · V_e[frames] [n·Cin, width]
                        Gemm.run(transA: false, transB: false, m: cout, n: width, k: (hi - lo + 1) * cin,
                                 a: ue + lo * cin, lda: k, b: ve + (first + lo - f0) * frameRows, ldb: width,
                                 c: c, ldc: width, parallel: false)
                    } else {
                        for (i, kt) in taps.enumerated() {
                            Gemm.run(transA: false, transB: false, m: cout, n: width, k: cin,
                                     a: ue + kt * cin, lda: k, b: ve + (first + kt * dt - f0) * frameRows, ldb: width,
                                     beta: i == 0 ? 0 : 1, c: c, ldc: width, parallel: false)
                        }
                    }
                }
                output(m.pointer, width, p0..<(p0 + width), (s * cout * oT + ot) * w.output[1] * w.output[2])
            }
        }
    }
}
