import Foundation

/// Batch norm and layer norm with hand-derived backward passes (one pass over the data each way).
///
/// With x̂ = (x − μ)·σ⁻¹ over M elements and y = γ·x̂ + β:
///   dβ = Σ dy,  dγ = Σ dy·x̂,  dx = γ·σ⁻¹/M · (M·dy − Σ dy − x̂·Σ dy·x̂)   (batch statistics)
///   dx = γ·σ⁻¹ · dy                                                      (fixed statistics)

/// Sums per-channel batch-norm sums over the processes of a distributed run, in place, so that
/// every process normalises with the statistics of the global batch (SyncBatchNorm). Every
/// process calls it the same number of times, in the same order.
public protocol BatchStatisticsSync: AnyObject, Sendable {
    func sum(_ values: UnsafeMutableBufferPointer<Double>)
}

/// x [N, C, *] normalised per channel C. In training the batch statistics are used and the running
/// statistics move by `momentum` (unbiased variance), as torch.nn.functional.batch_norm does;
/// otherwise the running statistics are used.
///
/// With `sync`, the batch statistics are those of every process's batch together: the forward
/// pass sums the per-channel sums and counts (for the mean), then the squared deviations from
/// that mean (for the variance); the backward pass sums Σdy and Σdy·x̂ for the input gradient.
/// dγ and dβ stay this process's own sums, which the gradient average then combines.
public func batchNorm(_ x: Tensor, runningMean: Tensor?, runningVar: Tensor?, weight: Tensor?, bias: Tensor?,
                      training: Bool, momentum: Float = 0.1, eps: Float = 1e-5, sync: (any BatchStatisticsSync)? = nil) -> Tensor {
    let op: TracedOp = !training && sync == nil && runningMean != nil && runningVar != nil
        ? .batchNorm(eps: eps, hasWeight: weight != nil, hasBias: bias != nil) : .unsupported("batchNorm with batch statistics")
    return traced(op, [x, runningMean, runningVar, weight, bias]) {
        normalizedChannels(x, runningMean: runningMean, runningVar: runningVar, weight: weight, bias: bias, training: training,
                           momentum: momentum, eps: eps, sync: sync)
    }
}

private func normalizedChannels(_ x: Tensor, runningMean: Tensor?, runningVar: Tensor?, weight: Tensor?, bias: Tensor?,
                                training: Bool, momentum: Float, eps: Float, sync: (any BatchStatisticsSync)?) -> Tensor {
    if let sync, training || runningMean == nil || runningVar == nil {
        return syncedBatchNorm(x, runningMean: runningMean, runningVar: runningVar, weight: weight, bias: bias, training: training,
                               momentum: momentum, eps: eps, sync: sync)
    }
    return 
Profiler.span(.norm, name: "batchNorm") {
        ensure(x.rank >= 2, "batchNorm: input \(x.shape) must be [N, C, …]")
        let n = x.shape[0], c = x.shape[1], s = x.shape.dropFirst(2).reduce(1, *)
        let planes = ChannelPlanes(n: n, c: c, s: s)
        for (name, t) in [("runningMean", runningMean), ("runningVar", runningVar), ("weight", weight), ("bias", bias)] {
            if let t { ensure(t.count == c, "batchNorm: \(name) \(t.shape) does not match \(c) channels of input \(x.shape)") }
        }
        let useBatch = training || runningMean == nil || runningVar == nil
        let m = n * s
        ensure(!useBatch || m > 1 || !training, "batchNorm: training needs more than one value per channel, got input \(x.shape)")
        let mean = UnsafeMutablePointer<Float>.allocate(capacity: c), invStd = UnsafeMutablePointer<Float>.allocate(capacity: c)
        let stats = Saved(mean, invStd)
        let out = Tensor.empty(x.shape)
        FLOPs.record("batch_norm", x.count * (weight == nil ? 1 : 2))
        let px = UnsafePointer(x.data), po = out.data
        let pw = weight.map { UnsafePointer($0.data) }, pb = bias.map { UnsafePointer($0.data) }
        Parallel.forRanges(c) { range in
            for ch in range {
                var mu: Float, variance: Float
                if useBatch {
                    let mean = planes.sum(px, ch) / Double(m)
                    let sq = planes.squaredDeviation(px, ch, from: Float(mean))
                    mu = Float(mean); variance = Float(sq / Double(m))
                    if training, let rm = runningMean, let rv = runningVar {
                        rm.data[ch] = (1 - momentum) * rm.data[ch] + momentum * mu
                        rv.data[ch] = (1 - momentum) * rv.data[ch] + momentum * Float(sq / Double(Swift.max(m - 1, 1)))
                    }
                } else {
                    mu = runningMean!.data[ch]; variance = runningVar!.data[ch]
                }
                let inv = 1 / (variance + eps).squareRoot()
                mean[ch] = mu; invStd[ch] = inv
                let scale = (pw?[ch] ?? 1) * inv
                planes.affine(px, into: po, ch, scale: scale, shift: (pb?[ch] ?? 0) - mu * scale)
            }
        }
        let inputs = [x] + [weight, bias].compactMap { $0 }
        return Tensor.result(out, op: "batchNorm", inputs: inputs) { _, g in
            let gx = x.requiresGrad ? Tensor.empty(x.shape) : nil
            let gw = weight.flatMap { $0.requiresGrad ? Tensor.empty([c]) : nil }
            let gb = bias.flatMap { $0.requiresGrad ? Tensor.empty([c]) : nil }
            let pg = UnsafePointer(g.data), mean = stats.a, invStd = stats.b
            Parallel.forRanges(c) { range in
                for ch in range {
                    let mu = mean[ch], inv = invStd[ch]
                    let sums = planes.gradientSums(pg, px, ch, from: mu)
                    let sumG = Float(sums.g), sumGX = Float(sums.gx) * inv
                    gw?.data[ch] = sumGX
                    gb?.data[ch] = sumG
                    guard let gx else { continue }
                    let gamma = pw?[ch] ?? 1
                    if useBatch {
                        planes.inputGradient(pg, px, into: gx.data, ch, mean: mu, invStd: inv, gamma: gamma, count: Float(m), sumG: sumG, sumGX: sumGX)
                    } else {
                        let k = gamma * inv
                        for i in 0..<n {
                            let q = pg + (i * c + ch) * s, d = gx.data + (i * c + ch) * s
                            for j in 0..<s { d[j] = k * q[j] }
                        }
                    }
                }
            }
            return [gx] + (weight == nil ? [] : [gw]) + (bias == nil ? [] : [gb])
        }
    }
}

/// Batch norm with batch statistics summed over the processes (`batchNorm(…, sync:)`).
func syncedBatchNorm(_ x: Tensor, runningMean: Tensor?, runningVar: Tensor?, weight: Tensor?, bias: Tensor?,
                     training: Bool, momentum: Float, eps: Float, sync: any BatchStatisticsSync) -> Tensor {
    Profiler.span(.norm, name: "batchNorm") {
        ensure(x.rank >= 2, "batchNorm: input \(x.shape) must be [N, C, …]")
        let n = x.shape[0], c = x.shape[1], s = x.shape.dropFirst(2).reduce(1, *)
        let planes = ChannelPlanes(n: n, c: c, s: s)
        for (name, t) in [("runningMean", runningMean), ("runningVar", runningVar), ("weight", weight), ("bias", bias)] {
            if let t { ensure(t.count == c, "batchNorm: \(name) \(t.shape) does not match \(c) channels of input \(x.shape)") }
        }
        FLOPs.record("batch_norm", x.count * (weight == nil ? 1 : 2))
        let px = UnsafePointer(x.data)
        // [Σx per channel…, count], then [Σ(x − μ)² per channel…]: sums over every process.
        let totals = UnsafeMutableBufferPointer<Double>.allocate(capacity: c + 1)
        defer { totals.deallocate() }
        Parallel.forRanges(c) { range in
            for ch in range {
                totals[ch] = planes.sum(px, ch)
            }
        }
        totals[c] = Double(n * s)
        sync.sum(totals)
        let m = totals[c]
        ensure(m > 1, "batchNorm: training needs more than one value per channel over all processes, got \(m)")
        let mean = UnsafeMutablePointer<Float>.allocate(capacity: c), invStd = UnsafeMutablePointer<Float>.allocate(capacity: c)
        let stats = Saved(mean, invStd)
        for ch in 0..<c { mean[ch] = Float(totals[ch] / m) }
        Parallel.forRanges(c) { range in
            for ch in range {
                totals[ch] = planes.squaredDeviation(px, ch, from: mean[ch])
            }
        }
        totals[c] = 0
        sync.sum(totals)
        let out = Tensor.empty(x.shape)
        let po = out.data
        let pw = weight.map { UnsafePointer($0.data) }, pb = bias.map { UnsafePointer($0.data) }
        Parallel.forRanges(c) { range in
            for ch in range {
                let mu = mean[ch], variance = Float(totals[ch] / m)
                if training, let rm = runningMean, let rv = runningVar {
                    rm.data[ch] = (1 - momentum) * rm.data[ch] + momentum * mu
                    rv.data[ch] = (1 - momentum) * rv.data[ch] + momentum * Float(totals[ch] / Swift.max(m - 1, 1))
                }
                let inv = 1 / (variance + eps).squareRoot()
                invStd[ch] = inv
                let scale = (pw?[ch] ?? 1) * inv
                planes.affine(px, into: po, ch, scale: scale, shift: (pb?[ch] ?? 0) - mu * scale)
            }
        }
        let inputs = [x] + [weight, bias].compactMap { $0 }
        return Tensor.result(out, op: "batchNorm", inputs: inputs) { _, g in
            let gx = x.requiresGrad ? Tensor.empty(x.shape) : nil
            let gw = weight.flatMap { $0.requiresGrad ? Tensor.empty([c]) : nil }
            let gb = bias.flatMap { $0.requiresGrad ? Tensor.empty([c]) : nil }
            let pg = UnsafePointer(g.data), mean = stats.a, invStd = stats.b
            // [Σdy per channel…, Σdy·(x − μ) per channel…], this process's, then everyone's.
            let sums = UnsafeMutableBufferPointer<Double>.allocate(capacity: 2 * c)
            defer { sums.deallocate() }
            Parallel.forRanges(c) { range in
                for ch in range {
                    let local = planes.gradientSums(pg, px, ch, from: mean[ch])
                    sums[ch] = local.g; sums[c + ch] = local.gx
                    gw?.data[ch] = Float(local.gx) * invStd[ch]
                    gb?.data[ch] = Float(local.g)
                }
            }
            sync.sum(sums)
            if let gx {
                Parallel.forRanges(c) { range in
                    for ch in range {
                        planes.inputGradient(pg, px, into: gx.data, ch, mean: mean[ch], invStd: invStd[ch], gamma: pw?[ch] ?? 1,
                                             count: Float(m), sumG: Float(sums[ch]), sumGX: Float(sums[c + ch]) * invStd[ch])
                    }
                }
            }
            return [gx] + (weight == nil ? [] : [gw]) + (bias == nil ? [] : [gb])
        }
    }
}

/// x [..., *normalizedShape] normalised over its trailing `normalizedShape` elements.
public func layerNorm(_ x: Tensor, normalizedShape: [Int], weight: Tensor?, bias: Tensor?, eps: Float = 1e-5) -> Tensor {
    traced(.layerNorm(axes: normalizedShape.count, eps: eps, hasWeight: weight != nil, hasBias: bias != nil), [x, weight, bias]) {
        normalizedRows(x, normalizedShape: normalizedShape, weight: weight, bias: bias, eps: eps)
    }
}

private func normalizedRows(_ x: Tensor, normalizedShape: [Int], weight: Tensor?, bias: Tensor?, eps: Float) -> Tensor {
    Profiler.span(.norm, name: "layerNorm") {
        ensure(normalizedShape.count <= x.rank && Array(x.shape.suffix(normalizedShape.count)) == normalizedShape,
                     "layerNorm: normalized shape \(normalizedShape) is not the tail of input \(x.shape)")
        let d = normalizedShape.reduce(1, *), rows = x.count / Swift.max(d, 1)
        for (name, t) in [("weight", weight), ("bias", bias)] {
            if let t { ensure(t.shape == normalizedShape, "layerNorm: \(name) \(t.shape) differs from normalized shape \(normalizedShape)") }
        }
        let mean = UnsafeMutablePointer<Float>.allocate(capacity: rows), invStd = UnsafeMutablePointer<Float>.allocate(capacity: rows)
        let stats = Saved(mean, invStd)
        let out = Tensor.empty(x.shape)
        FLOPs.record("layer_norm", x.count * (weight == nil ? 4 : 5))  // fvcore's estimate for layer norm
        // γ = 1 and β = 0 stand in for absent parameters, so each row is one vectorised pass.
        let gamma = weight ?? Tensor.ones([d]), beta = bias ?? Tensor.zeros([d])
        let px = UnsafePointer(x.data), po = out.data, pw = UnsafePointer(gamma.data), pb = UnsafePointer(beta.data)
        let grain = Swift.max(1, 4096 / Swift.max(d, 1))
        Parallel.forRanges(rows, grain: grain) { range in
            for r in range {
                let p = px + r * d, q = po + r * d
                let mu = Float(LaneSums.sum(p, d) / Double(d))
                let inv = 1 / (Float(LaneSums.squaredDeviation(p, d, from: mu) / Double(d)) + eps).squareRoot()
                mean[r] = mu; invStd[r] = inv
                for j in 0..<d { q[j] = (p[j] - mu) * inv * pw[j] + pb[j] }
            }
        }
        let inputs = [x] + [weight, bias].compactMap { $0 }
        return Tensor.result(out, op: "layerNorm", inputs: inputs) { _, g in
            let pg = UnsafePointer(g.data), mean = stats.a, invStd = stats.b, pw = UnsafePointer(gamma.data)
            let gx = x.requiresGrad ? Tensor.empty(x.shape) : nil
            if let pgx = gx?.data {
                Parallel.forRanges(rows, grain: grain) { range in
                    for r in range {
                        let p = px + r * d, q = pg + r * d, o = pgx + r * d
                        let mu = mean[r], inv = invStd[r], n = Float(d)
                        // With ĝ = g·γ and x̂ = (x − μ)·inv: dx = inv/d · (d·ĝ − Σĝ − x̂·Σ ĝ·x̂).
                        let sumG = Float(LaneSums.dot(q, pw, d))
                        let sumGX = Float(LaneSums.weightedDeviation(q, pw, p, d, from: mu)) * inv
                        let a = inv / n
                        for j in 0..<d { o[j] = a * (n * q[j] * pw[j] - sumG - (p[j] - mu) * inv * sumGX) }
                    }
                }
            }
            return [gx] + parameterGradients(pg, px, mean: mean, invStd: invStd, rows: rows, d: d,
                                             weight: weight, bias: bias, normalizedShape: normalizedShape)
        }
    }
}

/// Layer norm's dγ = Σ_rows g·x̂ and dβ = Σ_rows g (entries only for the parameters given, nil
/// where one needs no gradient): each worker sums a block of rows into its own [2, d] partial,
/// then the partials are added.
private func parameterGradients(_ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>,
                                mean: UnsafePointer<Float>, invStd: UnsafePointer<Float>, rows: Int, d: Int,
                                weight: Tensor?, bias: Tensor?, normalizedShape: [Int]) -> [Tensor?] {
    let needW = weight?.requiresGrad ?? false, needB = bias?.requiresGrad ?? false
    guard needW || needB else { return (weight == nil ? [] : [nil]) + (bias == nil ? [] : [nil]) }
    let chunks = Swift.max(1, Swift.min(Parallel.workers, rows / 16))
    let partial = Tensor.zeros([chunks, 2, d])
    let pp = partial.data
    Parallel.forChunks(rows, chunks: chunks) { c, range in
        let gw = pp + c * 2 * d, gb = gw + d
        for r in range {
            let p = x + r * d, q = g + r * d, mu = mean[r], inv = invStd[r]
            if needW { for j in 0..<d { gw[j] += q[j] * (p[j] - mu) * inv } }
            if needB { for j in 0..<d { gb[j] += q[j] } }
        }
    }
    let total = partial.sum(axis: 0)  // [2, d]
    var result: [Tensor?] = []
    if weight != nil { result.append(needW ? total.sliced(axis: 0, start: 0, end: 1).reshaped(normalizedShape) : nil) }
    if bias != nil { result.append(needB ? total.sliced(axis: 0, start: 1, end: 2).reshaped(normalizedShape) : nil) }
    return result
}

/// Two per-row or per-channel statistics kept for a backward pass; freed with the graph.
/// The N planes of S values that one channel of an [N, C, S] tensor holds, and batch norm's
/// per-channel passes over them.
struct ChannelPlanes {
    let n: Int, c: Int, s: Int

    func sum(_ x: UnsafePointer<Float>, _ ch: Int) -> Double {
        (0..<n).reduce(0) { $0 + LaneSums.sum(x + ($1 * c + ch) * s, s) }
    }

    func squaredDeviation(_ x: UnsafePointer<Float>, _ ch: Int, from mean: Float) -> Double {
        (0..<n).reduce(0) { $0 + LaneSums.squaredDeviation(x + ($1 * c + ch) * s, s, from: mean) }
    }

    /// y = x·scale + shift over the channel.
    func affine(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, _ ch: Int, scale: Float, shift: Float) {
        for i in 0..<n {
            let p = x + (i * c + ch) * s, q = y + (i * c + ch) * s
            for j in 0..<s { q[j] = p[j] * scale + shift }
        }
    }

    /// Σdy and Σdy·(x − mean) over the channel.
    func gradientSums(_ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ ch: Int, from mean: Float) -> (g: Double, gx: Double) {
        var sumG: Double = 0, sumGX: Double = 0
        for i in 0..<n {
            let p = x + (i * c + ch) * s, q = g + (i * c + ch) * s
            sumG += LaneSums.sum(q, s); sumGX += LaneSums.dotDeviation(q, p, s, from: mean)
        }
        return (sumG, sumGX)
    }

    /// dx = γ·σ⁻¹/M · (M·dy − Σdy − x̂·Σdy·x̂) with batch statistics over M values; `sumGX` is
    /// Σdy·x̂ (already times σ⁻¹).
    func inputGradient(_ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, into dx: UnsafeMutablePointer<Float>, _ ch: Int,
                       mean: Float, invStd: Float, gamma: Float, count: Float, sumG: Float, sumGX: Float) {
        let k = gamma * invStd / count
        for i in 0..<n {
            let p = x + (i * c + ch) * s, q = g + (i * c + ch) * s, d = dx + (i * c + ch) * s
            for j in 0..<s { d[j] = k * (count * q[j] - sumG - (p[j] - mean) * invStd * sumGX) }
        }
    }
}

final class Saved: @unchecked Sendable {
    let a: UnsafeMutablePointer<Float>, b: UnsafeMutablePointer<Float>
    init(_ a: UnsafeMutablePointer<Float>, _ b: UnsafeMutablePointer<Float>) { self.a = a; self.b = b }
    deinit { a.deallocate(); b.deallocate() }
}
