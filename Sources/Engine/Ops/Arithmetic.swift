import Foundation

/// Broadcasting arithmetic. Backward undoes broadcasting in one place: `unbroadcast(_:toShape:)`.
extension Tensor {
    /// Sums a broadcast gradient back down to `shape` (the inverse of broadcasting).
    public static func unbroadcast(_ g: Tensor, toShape shape: [Int]) -> Tensor {
        if g.shape == shape { return g }
        let pad = g.rank - shape.count
        ensure(pad >= 0, "unbroadcast: gradient shape \(g.shape) has lower rank than \(shape)")
        var axes: [Int] = []
        for i in 0..<g.rank where i < pad || (shape[i - pad] == 1 && g.shape[i] != 1) { axes.append(i) }
        let summed = axes.isEmpty ? g : g.sum(axes: axes, keepDims: true)
        return summed.reshaped(shape)
    }

    public static func + (a: Tensor, b: Tensor) -> Tensor {
        traced(.binary(.add), [a, b]) { binaryAdd(a, b) }
    }

    private static func binaryAdd(_ a: Tensor, _ b: Tensor) -> Tensor {
        result(mapBinary(AddK.self, a, b, op: "add"), op: "add", inputs: [a, b]) { _, g in
            [Tensor.unbroadcast(g, toShape: a.shape), Tensor.unbroadcast(g, toShape: b.shape)]
        }
    }

    public static func - (a: Tensor, b: Tensor) -> Tensor {
        traced(.binary(.sub), [a, b]) { binarySub(a, b) }
    }

    private static func binarySub(_ a: Tensor, _ b: Tensor) -> Tensor {
        result(mapBinary(SubK.self, a, b, op: "sub"), op: "sub", inputs: [a, b]) { _, g in
            [Tensor.unbroadcast(g, toShape: a.shape), b.requiresGrad ? Tensor.unbroadcast(-g, toShape: b.shape) : nil]
        }
    }

    public static func * (a: Tensor, b: Tensor) -> Tensor {
        traced(.binary(.mul), [a, b]) { binaryMul(a, b) }
    }

    private static func binaryMul(_ a: Tensor, _ b: Tensor) -> Tensor {
        result(mapBinary(MulK.self, a, b, op: "mul"), op: "mul", inputs: [a, b]) { _, g in
            [a.requiresGrad ? Tensor.unbroadcast(g * b, toShape: a.shape) : nil,
             b.requiresGrad ? Tensor.unbroadcast(g * a, toShape: b.shape) : nil]
        }
    }

    public static func / (a: Tensor, b: Tensor) -> Tensor {
        traced(.binary(.div), [a, b]) { binaryDiv(a, b) }
    }

    private static func binaryDiv(_ a: Tensor, _ b: Tensor) -> Tensor {
        result(mapBinary(DivK.self, a, b, op: "div"), op: "div", inputs: [a, b]) { out, g in
            [a.requiresGrad ? Tensor.unbroadcast(g / b, toShape: a.shape) : nil,
             b.requiresGrad ? Tensor.unbroadcast(-(g * out.detached()) / b, toShape: b.shape) : nil]
        }
    }

    public static prefix func - (a: Tensor) -> Tensor {
        traced(.unary(.neg), [a]) { negated(a) }
    }

    private static func negated(_ a: Tensor) -> Tensor {
        result(mapUnaryTensor(NegK.self, a, op: "neg"), op: "neg", inputs: [a]) { _, g in [-g] }
    }

    /// aᵇ elementwise with broadcasting; the gradient for b needs a > 0.
    public func pow(_ b: Tensor) -> Tensor {
        let a = self
        return traced(.binary(.pow), [a, b]) {
            Tensor.result(mapBinary(PowK.self, a, b, op: "pow"), op: "pow", inputs: [a, b]) { out, g in
                [a.requiresGrad ? Tensor.unbroadcast(g * b * a.pow(b - Tensor(scalar: 1)), toShape: a.shape) : nil,
                 b.requiresGrad ? Tensor.unbroadcast(g * out.detached() * a.log(), toShape: b.shape) : nil]
            }
        }
    }

    public func pow(_ p: Float) -> Tensor {
        traced(.powScalar(p), [self]) { powScalar(p) }
    }

    private func powScalar(_ p: Float) -> Tensor {
        let x = self
        let out = Tensor.empty(shape)
        let px = UnsafePointer(data), po = out.data
        Parallel.forRanges(count, grain: elementwiseGrain) { r in
            for i in r { po[i] = Foundation.pow(px[i], p) }
        }
        return Tensor.result(out, op: "pow", inputs: [x]) { _, g in
            [g * x.pow(p - 1) * p]
        }
    }

    public static func + (a: Tensor, s: Float) -> Tensor { a + Tensor(scalar: s) }
    public static func + (s: Float, a: Tensor) -> Tensor { Tensor(scalar: s) + a }
    public static func - (a: Tensor, s: Float) -> Tensor { a - Tensor(scalar: s) }
    public static func - (s: Float, a: Tensor) -> Tensor { Tensor(scalar: s) - a }
    public static func * (a: Tensor, s: Float) -> Tensor { a * Tensor(scalar: s) }
    public static func * (s: Float, a: Tensor) -> Tensor { Tensor(scalar: s) * a }
    public static func / (a: Tensor, s: Float) -> Tensor { a * (1 / s) }
    public static func / (s: Float, a: Tensor) -> Tensor { Tensor(scalar: s) / a }

    /// 1 where a == b (broadcast), else 0. Not differentiable.
    public func equalMask(_ other: Tensor) -> Tensor { mapBinary(EqualK.self, self, other, op: "equal") }

    /// Copies this tensor broadcast to `shape` (NumPy rules).
    public func expanded(to shape: [Int]) -> Tensor {
        traced(.expand, [self]) { expandedCopy(to: shape) }
    }

    private func expandedCopy(to shape: [Int]) -> Tensor {
        Profiler.span(.copy) {
            if shape == self.shape { return self }
            let target = Shape.broadcast(self.shape, shape, op: "expand")
            ensure(target == shape, "expand: shape \(self.shape) cannot expand to \(shape)")
            let x = self
            let full = Tensor.empty(shape)
            let plan = BroadcastPlan(out: shape, a: self.shape, b: [])
            let inner = plan.inner, ia = plan.sa.last!
            let px = UnsafePointer(data), po = full.data
            Parallel.forRanges(plan.rows, grain: Swift.max(1, elementwiseGrain / inner)) { range in
                plan.forRows(range) { oa, _, row in
                    let o = po + row * inner
                    if ia == 0 {
                        o.update(repeating: px[oa], count: inner)
                    } else {
                        for j in 0..<inner { o[j] = px[oa + j * ia] }
                    }
                }
            }
            return Tensor.result(full, op: "expand", inputs: [x]) { _, g in [Tensor.unbroadcast(g, toShape: x.shape)] }
        }
    }
}

func mapUnaryTensor<K: UnaryKernel>(_ k: K.Type, _ x: Tensor, op: String) -> Tensor {
    Profiler.span(.elementwise, name: op) {
        let out = Tensor.empty(x.shape)
        mapUnary(k, x.data, out.data, x.count)
        return out
    }
}

enum NegK: UnaryKernel { @inline(__always) static func apply(_ x: Float) -> Float { -x } }
enum PowK: BinaryKernel { @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { Foundation.pow(a, b) } }
