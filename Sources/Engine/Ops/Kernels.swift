/// Elementwise kernels. A kernel is a type with a static `apply`, so the generic loops below
/// specialise to straight-line code: no per-element closure or dynamic dispatch.
protocol BinaryKernel { static func apply(_ a: Float, _ b: Float) -> Float }
protocol UnaryKernel { static func apply(_ x: Float) -> Float }

/// Elements per parallel task for cheap elementwise work.
let elementwiseGrain = 1 << 15

/// out[i] = K(x[i]).
func mapUnary<K: UnaryKernel>(_: K.Type, _ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, _ n: Int) {
    Parallel.forRanges(n, grain: elementwiseGrain) { r in
        for i in r { out[i] = K.apply(x[i]) }
    }
}

/// x[i] = K(x[i]). Its own loop: with one pointer the compiler vectorises without the overlap
/// check that sends `mapUnary(k, x, x, n)` down its scalar path.
func mapUnaryInPlace<K: UnaryKernel>(_: K.Type, _ x: UnsafeMutablePointer<Float>, _ n: Int) {
    Parallel.forRanges(n, grain: elementwiseGrain) { r in
        for i in r { x[i] = K.apply(x[i]) }
    }
}

/// A broadcast of two operands to an output shape, with adjacent dimensions merged where the
/// strides allow, so most cases run as a few long contiguous loops.
struct BroadcastPlan {
    var shape: [Int] = []    // merged output dimensions
    var sa: [Int] = []       // element strides of a per merged dim (0 = broadcast)
    var sb: [Int] = []

    init(out: [Int], a: [Int], b: [Int]) {
        func stridesIn(_ s: [Int]) -> [Int] {
            let pad = out.count - s.count
            let full = [Int](repeating: 1, count: pad) + s
            let st = Shape.strides(full)
            return (0..<out.count).map { full[$0] == 1 && out[$0] != 1 ? 0 : st[$0] }
        }
        self.init(out: out, stridesA: stridesIn(a), stridesB: stridesIn(b))
    }

    /// Any strided walk: element (i₀, i₁, …) of the output reads a at Σ iₖ·stridesA[k].
    init(out: [Int], stridesA fa: [Int], stridesB fb: [Int]) {
        for i in 0..<out.count where out[i] != 1 {
            if let last = shape.indices.last,
               sa[last] == fa[i] * out[i], sb[last] == fb[i] * out[i] {
                shape[last] *= out[i]
                sa[last] = fa[i]
                sb[last] = fb[i]
            } else {
                shape.append(out[i]); sa.append(fa[i]); sb.append(fb[i])
            }
        }
        if shape.isEmpty { shape = [1]; sa = [0]; sb = [0] }
    }

    var rows: Int { shape.dropLast().reduce(1, *) }
    var inner: Int { shape.last! }

    /// Calls `body(offsetA, offsetB, outRow)` for each output row in `range`.
    @inline(__always)
    func forRows(_ range: Range<Int>, _ body: (Int, Int, Int) -> Void) {
        let d = shape.count - 1
        var idx = [Int](repeating: 0, count: max(d, 1))
        var rem = range.lowerBound
        var oa = 0, ob = 0
        for k in stride(from: d - 1, through: 0, by: -1) {
            idx[k] = rem % shape[k]
            rem /= shape[k]
            oa += idx[k] * sa[k]
            ob += idx[k] * sb[k]
        }
        for row in range {
            body(oa, ob, row)
            var k = d - 1
            while k >= 0 {
                idx[k] += 1
                oa += sa[k]; ob += sb[k]
                if idx[k] < shape[k] { break }
                oa -= sa[k] * shape[k]; ob -= sb[k] * shape[k]
                idx[k] = 0
                k -= 1
            }
        }
    }
}

/// out = K(a, b) with NumPy broadcasting; returns the output shape's tensor.
func mapBinary<K: BinaryKernel>(_ k: K.Type, _ a: Tensor, _ b: Tensor, op: String) -> Tensor {
    Profiler.span(.elementwise, name: op) { broadcastBinary(k, a, b, op: op) }
}

private func broadcastBinary<K: BinaryKernel>(_: K.Type, _ a: Tensor, _ b: Tensor, op: String) -> Tensor {
    let pa = UnsafePointer(a.data), pb = UnsafePointer(b.data)
    if a.shape == b.shape {
        let out = Tensor.empty(a.shape)
        let po = out.data
        Parallel.forRanges(a.count, grain: elementwiseGrain) { r in
            for i in r { po[i] = K.apply(pa[i], pb[i]) }
        }
        return out
    }
    let shape = Shape.broadcast(a.shape, b.shape, op: op)
    let out = Tensor.empty(shape)
    let po = out.data
    if b.count == 1 && a.count == out.count {
        let s = pb[0]
        Parallel.forRanges(a.count, grain: elementwiseGrain) { r in
            for i in r { po[i] = K.apply(pa[i], s) }
        }
        return out
    }
    if a.count == 1 && b.count == out.count {
        let s = pa[0]
        Parallel.forRanges(b.count, grain: elementwiseGrain) { r in
            for i in r { po[i] = K.apply(s, pb[i]) }
        }
        return out
    }
    let plan = BroadcastPlan(out: shape, a: a.shape, b: b.shape)
    let inner = plan.inner, ia = plan.sa.last!, ib = plan.sb.last!
    Parallel.forRanges(plan.rows, grain: Swift.max(1, elementwiseGrain / inner)) { range in
        plan.forRows(range) { oa, ob, row in
            let o = po + row * inner
            if ia == 1 && ib == 1 {
                for j in 0..<inner { o[j] = K.apply(pa[oa + j], pb[ob + j]) }
            } else if ia == 1 {
                let s = pb[ob]
                for j in 0..<inner { o[j] = K.apply(pa[oa + j], s) }
            } else if ib == 1 {
                let s = pa[oa]
                for j in 0..<inner { o[j] = K.apply(s, pb[ob + j]) }
            } else {
                for j in 0..<inner { o[j] = K.apply(pa[oa + j * ia], pb[ob + j * ib]) }
            }
        }
    }
    return out
}

/// dst[i] += src[i].
func add(into dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, count n: Int) {
    Parallel.forRanges(n, grain: elementwiseGrain) { r in
        for i in r { dst[i] += src[i] }
    }
}
func add(into dst: UnsafeMutablePointer<Float>, _ src: UnsafeMutablePointer<Float>, count n: Int) {
    add(into: dst, UnsafePointer(src), count: n)
}

enum AddK: BinaryKernel { @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a + b } }
enum SubK: BinaryKernel { @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a - b } }
enum MulK: BinaryKernel { @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a * b } }
enum DivK: BinaryKernel { @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a / b } }
enum EqualK: BinaryKernel { @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a == b ? 1 : 0 } }

/// Vectorised reductions for the norms. Eight float lanes accumulate runs of up to 4096 elements,
/// and each run's total is added in Double, so long channels keep their precision.
enum LaneSums {
    static let run = 4096

    @inline(__always)
    static func reduce(_ n: Int, _ body: (_ start: Int, _ acc: inout SIMD8<Float>) -> Void, tail: (Int) -> Float) -> Double {
        var total = 0.0
        var start = 0
        while start < n {
            let end = Swift.min(n, start + run), vectorEnd = start + (end - start) / 8 * 8
            var acc = SIMD8<Float>()
            var i = start
            while i < vectorEnd { body(i, &acc); i += 8 }
            var rest: Float = 0
            while i < end { rest += tail(i); i += 1 }
            total += Double(acc.sum()) + Double(rest)
            start = end
        }
        return total
    }

    @inline(__always)
    static func load(_ p: UnsafePointer<Float>, _ i: Int) -> SIMD8<Float> {
        UnsafeRawPointer(p + i).loadUnaligned(as: SIMD8<Float>.self)
    }

    /// Σ x.
    static func sum(_ x: UnsafePointer<Float>, _ n: Int) -> Double {
        reduce(n, { i, acc in acc += load(x, i) }, tail: { x[$0] })
    }

    /// Σ (x − c)².
    static func squaredDeviation(_ x: UnsafePointer<Float>, _ n: Int, from c: Float) -> Double {
        let cv = SIMD8<Float>(repeating: c)
        return reduce(n, { i, acc in let d = load(x, i) - cv; acc += d * d }, tail: { let d = x[$0] - c; return d * d })
    }

    /// Σ g·(x − c).
    static func dotDeviation(_ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ n: Int, from c: Float) -> Double {
        let cv = SIMD8<Float>(repeating: c)
        return reduce(n, { i, acc in acc += load(g, i) * (load(x, i) - cv) }, tail: { g[$0] * (x[$0] - c) })
    }

    /// Σ a·b.
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Double {
        reduce(n, { i, acc in acc += load(a, i) * load(b, i) }, tail: { a[$0] * b[$0] })
    }

    /// Σ g·w·(x − c).
    static func weightedDeviation(_ g: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ x: UnsafePointer<Float>,
                                  _ n: Int, from c: Float) -> Double {
        let cv = SIMD8<Float>(repeating: c)
        return reduce(n, { i, acc in acc += load(g, i) * load(w, i) * (load(x, i) - cv) },
                      tail: { g[$0] * w[$0] * (x[$0] - c) })
    }

    /// max x (−∞ for n = 0). A NaN element may or may not be returned; callers that subtract the
    /// maximum from every element carry the NaN on either way.
    static func maximum(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
        var m = SIMD8<Float>(repeating: -.infinity)
        var i = 0
        while i + 8 <= n { m = pointwiseMax(m, load(x, i)); i += 8 }
        var r = m.max()
        while i < n { r = Swift.max(r, x[i]); i += 1 }
        return r
    }
}

/// One softmax row, dst[j] = e^(src[j] − max) / Σ e^(src[k] − max), in vectorised passes (the
/// exponent is never positive, so `expOfNonPositive` serves). src and dst may be the same row.
/// Shared by `softmax` and `fusedAttention`.
@inline(__always)
func softmaxRow(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, _ n: Int) {
    let m = LaneSums.maximum(src, n)
    for j in 0..<n { dst[j] = expOfNonPositive(src[j] - m) }
    let inv = Float(1 / LaneSums.sum(dst, n))
    for j in 0..<n { dst[j] *= inv }
}
