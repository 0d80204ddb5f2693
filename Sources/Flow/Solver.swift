/// One `TVL1.flow` call: builds the pyramid in the workspace, solves each level from the
/// coarsest, and carries the flow up.
struct Solver {
    let workspace: Workspace
    let parameters: TVL1Parameters
    let median: MedianFilter?
    let threads: Int

    /// Which of the two flow sets holds each component's current value.
    private final class Current {
        var flow = [0, 0, 0]
        var dual = 0
    }

    func run(_ a: GrayImage, _ b: GrayImage, initial: FlowField?) -> FlowField {
        let ws = workspace, levels = ws.levels, n = ws.size.area
        let components = ws.flow[0].count
        a.pixels.withUnsafeBufferPointer { ws.i0[0].base.update(from: $0.baseAddress!, count: n) }
        b.pixels.withUnsafeBufferPointer { ws.i1[0].base.update(from: $0.baseAddress!, count: n) }
        for s in levels.indices.dropFirst() {
            ws.down[s - 1].apply(ws.i0[s - 1].base, into: ws.i0[s].base, threads: threads)
            ws.down[s - 1].apply(ws.i1[s - 1].base, into: ws.i1[s].base, threads: threads)
        }

        let current = Current()
        let coarsest = levels.count - 1
        if let initial {
            initial.u.withUnsafeBufferPointer { ws.flow[0][0].base.update(from: $0.baseAddress!, count: n) }
            initial.v.withUnsafeBufferPointer { ws.flow[0][1].base.update(from: $0.baseAddress!, count: n) }
            for s in levels.indices.dropFirst() {
                for k in 0..<2 {
                    resample(ws.down[s - 1], k, current, factor: Float(parameters.scaleStep))
                }
            }
        } else {
            for k in 0..<2 { ws.flow[current.flow[k]][k].fill(0, count: levels[coarsest].area) }
        }
        if components == 3 { ws.flow[current.flow[2]][2].fill(0, count: levels[coarsest].area) }

        for s in levels.indices.reversed() {
            solve(level: s, current)
            if s == 0 { break }
            // u3 is a brightness offset, not a displacement: it is not rescaled.
            for k in 0..<components {
                resample(ws.up[s - 1], k, current, factor: k < 2 ? Float(1 / parameters.scaleStep) : 1)
            }
        }
        let u = Array(UnsafeBufferPointer(start: ws.flow[current.flow[0]][0].base, count: n))
        let v = Array(UnsafeBufferPointer(start: ws.flow[current.flow[1]][1].base, count: n))
        // Sizes come from a validated GrayImage, so this cannot fail.
        return try! FlowField(width: ws.size.width, height: ws.size.height, u: u, v: v)
    }

    private func resample(_ plan: ResizePlan, _ k: Int, _ current: Current, factor: Float) {
        let from = current.flow[k]
        plan.apply(workspace.flow[from][k].base, into: workspace.flow[1 - from][k].base, factor: factor,
                   threads: threads)
        current.flow[k] = 1 - from
    }

    /// OpenCV's `procOneScale`: the dual variables restart at 0, the flow carries over.
    private func solve(level s: Int, _ current: Current) {
        let ws = workspace, size = ws.levels[s], area = size.area
        centredGradient(ws.i1[s].base, size, dx: ws.i1x.base, dy: ws.i1y.base, threads: threads)
        for plane in ws.dual[current.dual] { plane.fill(0, count: area) }
        let p = parameters
        let steps = StepSizes(lt: Float(p.lambda * p.theta), theta: Float(p.theta), taut: Float(p.tau / p.theta),
                              gamma: Float(p.gamma))
        let iteration = Iteration(size: size, data: ws.linearisation, steps: steps,
                                  split: RowSplit(rows: size.height, width: size.width, threads: threads),
                                  halo: ws.halo.base, rowError: ws.rowError.base)
        let scaledEpsilon = Float(p.epsilon * p.epsilon * Double(area))
        let components = ws.flow[0].count
        for _ in 0..<p.warps {
            let flow = ws.flowPlanes(current.flow)
            warpAndLinearise(WarpInputs(i0: ws.i0[s].base, i1: ws.i1[s].base, i1x: ws.i1x.base, i1y: ws.i1y.base,
                                        u1: flow.u1, u2: flow.u2),
                             WarpOutputs(i1wx: ws.i1wx.base, i1wy: ws.i1wy.base, grad: ws.grad.base,
                                         rhoC: ws.rhoC.base),
                             size, threads: threads)
            var error = Float.greatestFiniteMagnitude
            var outer = 0
            while error > scaledEpsilon && outer < p.outerIterations {
                if let median {
                    // Only the displacement is filtered, not u3.
                    for k in 0..<2 {
                        let from = current.flow[k]
                        median.apply(ws.flow[from][k].base, into: ws.flow[1 - from][k].base, size, threads: threads)
                        current.flow[k] = 1 - from
                    }
                }
                var inner = 0
                while error > scaledEpsilon && inner < p.innerIterations {
                    let flow = ws.flowPlanes(current.flow), dual = ws.dualPlanes(current.dual)
                    for k in 0..<components { current.flow[k] = 1 - current.flow[k] }
                    current.dual = 1 - current.dual
                    let total = iteration.run(u: flow, p: dual, into: ws.flowPlanes(current.flow),
                                              ws.dualPlanes(current.dual))
                    error = Float(total)
                    inner += 1
                }
                outer += 1
            }
        }
    }
}
