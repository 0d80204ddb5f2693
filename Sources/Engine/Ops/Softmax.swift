import Foundation

/// Softmax and log-softmax along one axis, viewed as [outer, D, inner]; the row maximum is
/// subtracted first so large logits cannot overflow.
extension Tensor {
    public func softmax(axis: Int) -> Tensor { softmaxFamily(axis: axis, log: false) }
    public func logSoftmax(axis: Int) -> Tensor { softmaxFamily(axis: axis, log: true) }

    private func softmaxFamily(axis: Int, log: Bool) -> Tensor {
        traced(.softmax(axis: Shape.axis(axis, rank: rank, op: log ? "logSoftmax" : "softmax"), log: log), [self]) {
            softmaxRows(axis: axis, log: log)
        }
    }

    private func softmaxRows(axis: Int, log: Bool) -> Tensor {
        Profiler.span(.elementwise, name: log ? "logSoftmax" : "softmax") {
            let op = log ? "logSoftmax" : "softmax"
            let a = Shape.axis(axis, rank: rank, op: op)
            let d = shape[a], outer = shape[..<a].reduce(1, *), inner = shape[(a + 1)...].reduce(1, *)
            let out = Tensor.empty(shape)
            let px = UnsafePointer(data), po = out.data
            Parallel.forRanges(outer * inner, grain: Swift.max(1, 2048 / Swift.max(d, 1))) { range in
                for r in range {
                    if inner == 1 && !log { softmaxRow(px + r * d, po + r * d, d); continue }
                    let o = r / inner, i = r % inner
                    let src = px + o * d * inner + i, dst = po + o * d * inner + i
                    var m = -Float.infinity
                    for j in 0..<d { m = Swift.max(m, src[j * inner]) }
                    var z: Float = 0
                    for j in 0..<d { z += Foundation.exp(src[j * inner] - m) }
                    if log {
                        let lz = m + Foundation.log(z)
                        for j in 0..<d { dst[j * inner] = src[j * inner] - lz }
                    } else {
                        let inv = 1 / z
                        for j in 0..<d { dst[j * inner] = Foundation.exp(src[j * inner] - m) * inv }
                    }
                }
            }
            return Tensor.result(out, op: op, inputs: [self]) { y, g in
                // softmax: dx = y·(g − Σ g·y);  log-softmax: dx = g − eʸ·Σ g
                let gx = Tensor.empty(y.shape)
                let py = UnsafePointer(y.data), pg = UnsafePointer(g.data), pgx = gx.data
                Parallel.forRanges(outer * inner, grain: Swift.max(1, 2048 / Swift.max(d, 1))) { range in
                    for r in range {
                        let base = (r / inner) * d * inner + r % inner
                        var acc: Float = 0
                        if log {
                            for j in 0..<d { acc += pg[base + j * inner] }
                            for j in 0..<d { let k = base + j * inner; pgx[k] = pg[k] - Foundation.exp(py[k]) * acc }
                        } else {
                            for j in 0..<d { let k = base + j * inner; acc += pg[k] * py[k] }
                            for j in 0..<d { let k = base + j * inner; pgx[k] = py[k] * (pg[k] - acc) }
                        }
                    }
                }
                return [gx]
            }
        }
    }

    /// Zeroes each element with probability p and scales the rest by 1/(1−p) in training; identity otherwise.
    public func dropout(p: Float, training: Bool, using rng: inout Xoshiro) -> Tensor {
        ensure(p >= 0 && p < 1 || p == 1, "dropout: probability \(p) outside [0, 1]")
        guard training && p > 0 else { return self }
        let mask = Tensor.empty(shape)
        let keep = 1 / (1 - p)
        for i in 0..<count { mask.data[i] = rng.nextFloat() < p ? 0 : (p == 1 ? 0 : keep) }
        let dropped = mapBinary(MulK.self, self, mask, op: "dropout")
        return Tensor.result(dropped, op: "dropout", inputs: [self]) { _, g in [mapBinary(MulK.self, g, mask, op: "dropout")] }
    }

    public func dropout(p: Float, training: Bool) -> Tensor {
        guard training && p > 0 else { return self }
        var rng = GlobalRandom.fork()
        return dropout(p: p, training: training, using: &rng)
    }
}
