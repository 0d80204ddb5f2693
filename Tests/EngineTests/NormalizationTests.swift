import Foundation
import Testing
@testable import Engine

@Suite struct NormalizationTests {
    // N = 2, C = 2, S = 2. Channel 0 holds 1, 2, 5, 6 (mean 3.5, biased var 4.25); channel 1 holds 3, 4, 7, 8 (mean 5.5).
    let x = Tensor([1, 2, 3, 4, 5, 6, 7, 8], shape: [2, 2, 2])

    @Test func batchNormTrainingUsesBatchStatsAndUpdatesRunning() {
        let rm = Tensor.zeros([2]), rv = Tensor.ones([2])
        let w = Tensor([2, 1], shape: [2]), b = Tensor([0, 1], shape: [2])
        let y = batchNorm(x, runningMean: rm, runningVar: rv, weight: w, bias: b, training: true, momentum: 0.1, eps: 0)
        let s = Float(4.25).squareRoot()
        expectClose(y.scalars, [2 * -2.5 / s, 2 * -1.5 / s, -2.5 / s + 1, -1.5 / s + 1, 2 * 1.5 / s, 2 * 2.5 / s, 1.5 / s + 1, 2.5 / s + 1])
        // Running variance uses the unbiased estimate: 4.25 · 4/3.
        expectClose(rm.scalars, [0.35, 0.55])
        expectClose(rv.scalars, [0.9 + 0.1 * 4.25 * 4 / 3, 0.9 + 0.1 * 4.25 * 4 / 3])
    }

    @Test func batchNormEvalUsesRunningStats() {
        let rm = Tensor([1, 2], shape: [2]), rv = Tensor([4, 16], shape: [2])
        let y = batchNorm(x, runningMean: rm, runningVar: rv, weight: nil, bias: nil, training: false, eps: 0)
        expectClose(y.scalars, [0, 0.5, 0.25, 0.5, 2, 2.5, 1.25, 1.5])
        expectClose(rm.scalars, [1, 2])
    }

    @Test func batchNormGradients() {
        let t = randomTensor([3, 2, 2, 3], seed: 81), w = randomTensor([2], seed: 82), b = randomTensor([2], seed: 83)
        gradCheck([t, w, b], "batchNorm train") { batchNorm($0[0], runningMean: nil, runningVar: nil, weight: $0[1], bias: $0[2], training: true) }
        let rm = randomTensor([2], seed: 84), rv = randomTensor([2], seed: 85, low: 0.5, high: 2)
        gradCheck([t, w, b], "batchNorm eval") { batchNorm($0[0], runningMean: rm, runningVar: rv, weight: $0[1], bias: $0[2], training: false) }
    }

    /// One process's synchronised batch norm (its sums summed with nobody's) is the plain one:
    /// outputs, running statistics and every gradient; and its own gradients pass a finite-difference check.
    @Test func syncedBatchNormAloneIsThePlainOne() {
        final class Alone: BatchStatisticsSync, @unchecked Sendable { func sum(_ values: UnsafeMutableBufferPointer<Double>) {} }
        let x = randomTensor([3, 4, 2, 5], seed: 91), w = randomTensor([4], seed: 92), b = randomTensor([4], seed: 93)
        var results: [[[Float]]] = []
        for sync in [nil, Alone()] as [(any BatchStatisticsSync)?] {
            for t in [x, w, b] { t.requiresGrad = true; t.grad = nil }
            let rm = Tensor.zeros([4]), rv = Tensor.ones([4])
            let y = batchNorm(x, runningMean: rm, runningVar: rv, weight: w, bias: b, training: true, momentum: 0.1, sync: sync)
            (y * randomTensor(y.shape, seed: 94)).sum().backward()
            results.append([y.scalars, rm.scalars, rv.scalars, x.grad!.scalars, w.grad!.scalars, b.grad!.scalars])
        }
        for (i, name) in ["y", "running mean", "running var", "dx", "dγ", "dβ"].enumerated() {
            expectClose(results[1][i], results[0][i], abs: 1e-5, rel: 1e-5, name)
        }
        gradCheck([randomTensor([3, 2, 2, 3], seed: 81), w.sliced(axis: 0, start: 0, end: 2).detached(), b.sliced(axis: 0, start: 0, end: 2).detached()],
                  "synced batchNorm") {
            batchNorm($0[0], runningMean: nil, runningVar: nil, weight: $0[1], bias: $0[2], training: true, sync: Alone())
        }
    }

    /// Two "processes" (threads) each normalising half a batch with synchronised statistics
    /// compute what one process computes on the whole batch: their outputs and input gradients
    /// are its rows, and their dγ, dβ add up to its.
    @Test func syncedBatchNormOverTwoHalvesIsTheWholeBatch() {
        /// Sums two callers' buffers, each call waiting for the other's.
        final class Pair: BatchStatisticsSync, @unchecked Sendable {
            let condition = NSCondition()
            var waiting: UnsafeMutableBufferPointer<Double>?
            var generation = 0
            func sum(_ values: UnsafeMutableBufferPointer<Double>) {
                condition.lock()
                defer { condition.unlock() }
                if let other = waiting {
                    for i in values.indices { let t = values[i] + other[i]; values[i] = t; other[i] = t }
                    waiting = nil
                    generation += 1
                    condition.broadcast()
                } else {
                    waiting = values
                    let mine = generation
                    while generation == mine { condition.wait() }
                }
            }
        }
        let x = randomTensor([4, 3, 2, 5], seed: 95), w = randomTensor([3], seed: 96), b = randomTensor([3], seed: 97)
        let r = randomTensor([4, 3, 2, 5], seed: 98)
        for t in [x, w, b] { t.requiresGrad = true }
        let rm = Tensor.zeros([3]), rv = Tensor.ones([3])
        let whole = batchNorm(x, runningMean: rm, runningVar: rv, weight: w, bias: b, training: true, momentum: 0.1)
        (whole * r).sum().backward()

        let pair = Pair()
        var halves: [[[Float]]] = [[], []]
        let runningMeans = [Tensor.zeros([3]), Tensor.zeros([3])], runningVars = [Tensor.ones([3]), Tensor.ones([3])]
        halves.withUnsafeMutableBufferPointer { out in
            let box = UnsafeSendable(out)
            DispatchQueue.concurrentPerform(iterations: 2) { k in
                Parallel.serially {
                    let part = x.detached().sliced(axis: 0, start: 2 * k, end: 2 * k + 2).detached()
                    let wk = w.detached(), bk = b.detached()
                    for t in [part, wk, bk] { t.requiresGrad = true }
                    let y = batchNorm(part, runningMean: runningMeans[k], runningVar: runningVars[k], weight: wk, bias: bk,
                                      training: true, momentum: 0.1, sync: pair)
                    (y * r.sliced(axis: 0, start: 2 * k, end: 2 * k + 2)).sum().backward()
                    box.value[k] = [y.scalars, part.grad!.scalars, wk.grad!.scalars, bk.grad!.scalars]
                }
            }
        }
        expectClose(halves[0][0] + halves[1][0], whole.scalars, abs: 1e-5, rel: 1e-4, "y")
        expectClose(halves[0][1] + halves[1][1], x.grad!.scalars, abs: 1e-5, rel: 1e-4, "dx")
        expectClose(zip(halves[0][2], halves[1][2]).map { $0 + $1 }, w.grad!.scalars, abs: 1e-5, rel: 1e-4, "dγ")
        expectClose(zip(halves[0][3], halves[1][3]).map { $0 + $1 }, b.grad!.scalars, abs: 1e-5, rel: 1e-4, "dβ")
        for k in 0..<2 {
            expectClose(runningMeans[k].scalars, rm.scalars, abs: 1e-6, rel: 1e-5, "running mean \(k)")
            expectClose(runningVars[k].scalars, rv.scalars, abs: 1e-6, rel: 1e-5, "running var \(k)")
        }
    }

    @Test func layerNormValuesAndGradients() {
        let t = Tensor([1, 2, 3, 4, 2, 2, 2, 6], shape: [2, 4])
        let y = layerNorm(t, normalizedShape: [4], weight: nil, bias: nil, eps: 0)
        let s = Float(1.25).squareRoot()
        expectClose(Array(y.scalars.prefix(4)), [-1.5 / s, -0.5 / s, 0.5 / s, 1.5 / s])
        expectClose(Array(y.scalars.suffix(4)), [-1 / Float(3).squareRoot(), -1 / Float(3).squareRoot(), -1 / Float(3).squareRoot(), Float(3).squareRoot()])
        let r = randomTensor([3, 2, 5], seed: 86), w = randomTensor([2, 5], seed: 87), b = randomTensor([2, 5], seed: 88)
        gradCheck([r, w, b], "layerNorm") { layerNorm($0[0], normalizedShape: [2, 5], weight: $0[1], bias: $0[2]) }
        gradCheck([randomTensor([2, 11], seed: 89)], "layerNorm without γ, β") {
            layerNorm($0[0], normalizedShape: [11], weight: nil, bias: nil)
        }
    }

    /// Many rows (several workers' partial sums for dγ and dβ) of a width with a vector tail, each
    /// value and gradient against the formulas in Double.
    @Test func layerNormMatchesDoublePrecisionOnManyRows() {
        let rows = 64, d = 19
        let x = randomTensor([rows, d], seed: 90, low: -3, high: 5, requiresGrad: true)
        let w = randomTensor([d], seed: 91, requiresGrad: true), b = randomTensor([d], seed: 92, requiresGrad: true)
        let g = randomTensor([rows, d], seed: 93)
        let y = layerNorm(x, normalizedShape: [d], weight: w, bias: b, eps: 1e-5)
        (y * g).sum().backward()
        var ey = [Float](), egx = [Float](), egw = [Double](repeating: 0, count: d), egb = [Double](repeating: 0, count: d)
        for r in 0..<rows {
            let xs = (0..<d).map { Double(x.data[r * d + $0]) }, gs = (0..<d).map { Double(g.data[r * d + $0]) }
            let mu = xs.reduce(0, +) / Double(d)
            let inv = 1 / ((xs.map { ($0 - mu) * ($0 - mu) }.reduce(0, +) / Double(d)) + 1e-5).squareRoot()
            let xhat = xs.map { ($0 - mu) * inv }
            let gh = (0..<d).map { gs[$0] * Double(w.data[$0]) }
            let sumG = gh.reduce(0, +), sumGX = zip(gh, xhat).map { $0 * $1 }.reduce(0, +)
            for j in 0..<d {
                ey.append(Float(xhat[j] * Double(w.data[j]) + Double(b.data[j])))
                egx.append(Float(inv / Double(d) * (Double(d) * gh[j] - sumG - xhat[j] * sumGX)))
                egw[j] += gs[j] * xhat[j]; egb[j] += gs[j]
            }
        }
        expectClose(y.scalars, ey, abs: 1e-5, rel: 1e-5, "y")
        expectClose(x.grad?.scalars ?? [], egx, abs: 1e-5, rel: 1e-4, "dx")
        expectClose(w.grad?.scalars ?? [], egw.map { Float($0) }, abs: 1e-4, rel: 1e-5, "dγ")
        expectClose(b.grad?.scalars ?? [], egb.map { Float($0) }, abs: 1e-4, rel: 1e-5, "dβ")
    }
}
