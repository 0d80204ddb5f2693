/// Every buffer `TVL1` needs for one frame size, allocated once and reused by each call with that
/// size. Pyramid images have a plane per level; the solver's planes are full-size and each level
/// uses their first W·H floats, as OpenCV's tvl1 takes ROIs of its full-size buffers.
final class Workspace {
    /// Level 0 is the input size; each next level is `scaleStep` smaller, down to 16 px.
    let levels: [Size]
    /// down[s − 1] resamples level s − 1 to level s; up[s − 1] resamples level s to level s − 1.
    let down: [ResizePlan]
    let up: [ResizePlan]
    /// The two frames at each level [H_s, W_s].
    let i0: [Plane]
    let i1: [Plane]
    /// ∇I1 of the current level, and the linearisation of the current warp [H, W] each.
    let i1x: Plane, i1y: Plane
    let i1wx: Plane, i1wy: Plane, grad: Plane, rhoC: Plane
    /// Two sets of flow components, flow[set][component] [H, W]: a step reads one set and writes
    /// the other. Component 2 (u3) exists only when γ > 0.
    let flow: [[Plane]]
    /// Two sets of dual variables, dual[set][k] for (p11, p12, p21, p22, p31, p32) [H, W].
    let dual: [[Plane]]
    /// Halo rows, 3 per chunk [chunks, 3, W], and per-row errors [H].
    let halo: Plane
    let rowError: Plane

    init(size: Size, parameters: TVL1Parameters, threads: Int) {
        var levels = [size]
        var down: [ResizePlan] = []
        for _ in 1..<parameters.scales {
            let plan = ResizePlan.downscale(levels[levels.count - 1], step: parameters.scaleStep)
            // OpenCV resizes first, then stops when the new level has a side under 16.
            if plan.destination.width < 16 || plan.destination.height < 16 { break }
            levels.append(plan.destination)
            down.append(plan)
        }
        self.levels = levels
        self.down = down
        up = levels.indices.dropFirst().map { s in ResizePlan.resample(levels[s], to: levels[s - 1]) }
        i0 = levels.map { Plane($0.area) }
        i1 = levels.map { Plane($0.area) }
        let n = size.area
        (i1x, i1y, i1wx, i1wy, grad, rhoC) = (Plane(n), Plane(n), Plane(n), Plane(n), Plane(n), Plane(n))
        let components = parameters.gamma != 0 ? 3 : 2
        flow = (0..<2).map { _ in (0..<components).map { _ in Plane(n) } }
        dual = (0..<2).map { _ in (0..<2 * components).map { _ in Plane(n) } }
        halo = Plane(RowSplit.maxChunks(threads: threads) * 3 * size.width)
        rowError = Plane(size.height)
    }

    var size: Size { levels[0] }

    /// The flow components of one set; without γ, u3 aliases u1 and is never touched.
    func flowPlanes(_ set: [Int]) -> FlowPlanes {
        let c = flow[0].count
        return FlowPlanes(u1: flow[set[0]][0].base, u2: flow[set[1]][1].base,
                          u3: c == 3 ? flow[set[2]][2].base : flow[set[0]][0].base)
    }

    func dualPlanes(_ set: Int) -> DualPlanes {
        let p = dual[set]
        let third = p.count == 6
        return DualPlanes(p11: p[0].base, p12: p[1].base, p21: p[2].base, p22: p[3].base,
                          p31: third ? p[4].base : p[0].base, p32: third ? p[5].base : p[1].base)
    }

    var linearisation: Linearisation {
        Linearisation(i1wx: i1wx.base, i1wy: i1wy.base, grad: grad.base, rhoC: rhoC.base)
    }
}
