/// One inner iteration of the TV-L1 solver at one pyramid level, for every pixel:
///
///   primal:  ρ = rhoC + ∇I1w·u (+ γ u₃)
///            v = u + c ∇I1w, with c = λθ if ρ < −λθ|∇I1w|², −λθ if ρ > λθ|∇I1w|², else −ρ/|∇I1w|²
///            u' = v + θ div p                        (and the same for u₃ with γ in place of ∇I1w)
///   dual:    p' = (p + τ/θ ∇u') / (1 + τ/θ |∇u'|)    (per flow component)
///
/// div is the backward difference with p = 0 outside, ∇ the forward difference with 0 on the last
/// column and row, as in OpenCV's tvl1 `divergence` and `forwardGradient`. OpenCV runs five passes
/// (estimateV, divergence, estimateU, forwardGradient, estimateDualVariables); here they are two,
/// fused into one dispatch: each chunk runs the primal step on its rows plus the row below them
/// (into a private halo row, since that row belongs to the next chunk), then the dual step on its
/// rows. Old and new u and p live in separate buffers, so chunks never read what another writes.

/// The flow components [H, W] each; u3 is the illumination field, only used when γ > 0.
struct FlowPlanes {
    let u1, u2, u3: UnsafeMutablePointer<Float>
}

/// The dual variables [H, W] each: (p11, p12) for u1, (p21, p22) for u2, (p31, p32) for u3.
struct DualPlanes {
    let p11, p12, p21, p22, p31, p32: UnsafeMutablePointer<Float>
}

/// The data term linearised at the warp's starting flow (see `warpAndLinearise`).
struct Linearisation {
    let i1wx, i1wy, grad, rhoC: UnsafeMutablePointer<Float>
}

struct StepSizes {
    /// λθ, the threshold scale.
    let lt: Float
    let theta: Float
    /// τ/θ, the dual step.
    let taut: Float
    let gamma: Float
}

/// The inner iteration above over one level, with the buffers it keeps across iterations.
struct Iteration {
    let size: Size
    let data: Linearisation
    let steps: StepSizes
    let split: RowSplit
    /// One row per flow component per chunk: the primal result for the row below a chunk.
    let halo: UnsafeMutablePointer<Float>
    /// [H] squared change of the flow per row.
    let rowError: UnsafeMutablePointer<Float>

    /// Reads u, p; writes u', p'. Returns Σ |u' − u|² over the level.
    func run(u: FlowPlanes, p: DualPlanes, into next: FlowPlanes, _ nextP: DualPlanes) -> Double {
        let w = size.width, h = size.height
        let gamma = steps.gamma != 0
        split.run { chunk, rows in
            let scratch = halo + chunk * 3 * w
            let haloRow = FlowPlanes(u1: scratch, u2: scratch + w, u3: scratch + 2 * w)
            let last = rows.upperBound - 1
            for y in rows.lowerBound...min(last + 1, h - 1) {
                let target = y <= last ? next.offset(y * w) : haloRow
                let e = gamma ? primalRow(y, u, p, target, gamma: true) : primalRow(y, u, p, target, gamma: false)
                if y <= last { rowError[y] = e }
                guard y > rows.lowerBound else { continue }
                // The row above now has its row below: run its dual step.
                dualRows(y - 1, next.offset((y - 1) * w), below: target, p, nextP, gamma: gamma)
            }
            if last == h - 1 { dualRows(last, next.offset(last * w), below: nil, p, nextP, gamma: gamma) }
        }
        var total = 0.0
        for y in 0..<h { total += Double(rowError[y]) }
        return total
    }

    @inline(__always)
    private func dualRows(_ y: Int, _ row: FlowPlanes, below: FlowPlanes?, _ p: DualPlanes, _ q: DualPlanes,
                          gamma: Bool) {
        let o = y * size.width
        dualRow(row.u1, below?.u1, p.p11 + o, p.p12 + o, q.p11 + o, q.p12 + o)
        dualRow(row.u2, below?.u2, p.p21 + o, p.p22 + o, q.p21 + o, q.p22 + o)
        if gamma { dualRow(row.u3, below?.u3, p.p31 + o, p.p32 + o, q.p31 + o, q.p32 + o) }
    }

    /// Primal step of row y into the rows `out`; returns the row's Σ |u' − u|².
    @inline(__always)
    private func primalRow(_ y: Int, _ u: FlowPlanes, _ p: DualPlanes, _ out: FlowPlanes, gamma: Bool) -> Float {
        let w = size.width, row = RowOffsets(o: y * w, up: y > 0 ? y * w - w : -1)
        var error = Lanes()
        var x = 0
        while x + 8 <= w {
            error += primalBlock(WholeBlock(), x, row, u, p, out, gamma: gamma)
            x += 8
        }
        if x < w { error += primalBlock(PartialBlock(n: w - x), x, row, u, p, out, gamma: gamma) }
        return error.sum()
    }

    /// Primal step of the pixels x ..< x + n of one row; returns their squared change. In a
    /// partial block the lanes past n load as 0 and come out as 0, so they add nothing.
    @inline(__always)
    private func primalBlock<B: BlockAccess>(_ b: B, _ x: Int, _ row: RowOffsets, _ u: FlowPlanes, _ p: DualPlanes,
                                             _ out: FlowPlanes, gamma: Bool) -> Lanes {
        let o = row.o
        let u1 = b.load(u.u1 + o, x), u2 = b.load(u.u2 + o, x)
        let gx = b.load(data.i1wx + o, x), gy = b.load(data.i1wy + o, x), g2 = b.load(data.grad + o, x)
        var rho = b.load(data.rhoC + o, x) + (gx * u1 + gy * u2)
        var u3 = Lanes()
        if gamma {
            u3 = b.load(u.u3 + o, x)
            rho += steps.gamma * u3
        }
        let lt = Lanes(repeating: steps.lt), bound = lt * g2
        var c = Lanes()
        c.replace(with: -rho / g2, where: g2 .> .ulpOfOne)
        c.replace(with: -lt, where: rho .> bound)
        c.replace(with: lt, where: rho .< -bound)
        let new1 = u1 + c * gx + steps.theta * divergence(b, p.p11, p.p12, row, x)
        let new2 = u2 + c * gy + steps.theta * divergence(b, p.p21, p.p22, row, x)
        b.store(new1, out.u1, x)
        b.store(new2, out.u2, x)
        let d1 = new1 - u1, d2 = new2 - u2
        var error = d1 * d1 + d2 * d2
        if gamma {
            let new3 = u3 + c * steps.gamma + steps.theta * divergence(b, p.p31, p.p32, row, x)
            b.store(new3, out.u3, x)
            error += (new3 - u3) * (new3 - u3)
        }
        return error
    }

    /// (q1[x] − q1[x−1]) + (q2[x] − q2 one row up), with q = 0 left of column 0 and above row 0.
    @inline(__always)
    private func divergence<B: BlockAccess>(_ b: B, _ q1: UnsafeMutablePointer<Float>,
                                            _ q2: UnsafeMutablePointer<Float>, _ row: RowOffsets, _ x: Int) -> Lanes {
        let row1 = q1 + row.o, row2 = q2 + row.o
        let left: Lanes
        if x > 0 {
            left = b.load(row1, x - 1)
        } else {
            var v = Lanes()
            for i in 1..<max(b.n, 1) { v[i] = row1[i - 1] }
            left = v
        }
        let above = row.up >= 0 ? b.load(q2 + row.up, x) : Lanes()
        return (b.load(row1, x) - left) + (b.load(row2, x) - above)
    }

    /// Dual step of one flow component's row: u is the new flow row, below the row under it
    /// (nil on the last row).
    @inline(__always)
    private func dualRow(_ u: UnsafeMutablePointer<Float>, _ below: UnsafeMutablePointer<Float>?,
                         _ p1: UnsafeMutablePointer<Float>, _ p2: UnsafeMutablePointer<Float>,
                         _ q1: UnsafeMutablePointer<Float>, _ q2: UnsafeMutablePointer<Float>) {
        let w = size.width
        var x = 0
        // Whole blocks while every right neighbour exists, then the rest (1 to 8 pixels).
        while x + 8 < w {
            let centre = u.lanes(x)
            dualBlock(WholeBlock(), x, centre, right: u.lanes(x + 1), below, p1, p2, q1, q2)
            x += 8
        }
        let tail = PartialBlock(n: w - x)
        var right = Lanes()
        // The last column's right neighbour is itself: ∂x u = 0 there.
        for i in 0..<tail.n { right[i] = u[min(x + i + 1, w - 1)] }
        dualBlock(tail, x, tail.load(u, x), right: right, below, p1, p2, q1, q2)
    }

    @inline(__always)
    private func dualBlock<B: BlockAccess>(_ b: B, _ x: Int, _ centre: Lanes, right: Lanes,
                                           _ below: UnsafeMutablePointer<Float>?,
                                           _ p1: UnsafeMutablePointer<Float>, _ p2: UnsafeMutablePointer<Float>,
                                           _ q1: UnsafeMutablePointer<Float>, _ q2: UnsafeMutablePointer<Float>) {
        let taut = steps.taut
        let ux = right - centre
        var uy = Lanes()
        if let below { uy = b.load(below, x) - centre }
        let norm = 1 + taut * (ux * ux + uy * uy).squareRoot()
        b.store((b.load(p1, x) + taut * ux) / norm, q1, x)
        b.store((b.load(p2, x) + taut * uy) / norm, q2, x)
    }
}

/// Offsets of a row and of the row above it (−1 for the first row).
struct RowOffsets {
    let o: Int
    let up: Int
}

extension FlowPlanes {
    func offset(_ o: Int) -> FlowPlanes { FlowPlanes(u1: u1 + o, u2: u2 + o, u3: u3 + o) }
}
