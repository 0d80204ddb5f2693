import Foundation

/// Pointwise math and activations. Each backward rule is a binary kernel on (grad, saved value),
/// where the saved value is the input or, when cheaper, the result passed in by autograd.
extension Tensor {
    private func unary<K: UnaryKernel, G: BinaryKernel>(_ op: String, _ k: K.Type, grad: G.Type, fromOutput: Bool) -> Tensor {
        let x = self
        return traced(TracedOp.Unary(rawValue: op).map { .unary($0) } ?? .unsupported(op), [x]) {
            Tensor.result(mapUnaryTensor(k, x, op: op), op: op, inputs: [x]) { out, g in
                [mapBinary(G.self, g, fromOutput ? out : x, op: op)]
            }
        }
    }

    public func exp() -> Tensor { unary("exp", ExpK.self, grad: MulK.self, fromOutput: true) }
    public func log() -> Tensor { unary("log", LogK.self, grad: DivK.self, fromOutput: false) }
    public func sqrt() -> Tensor { unary("sqrt", SqrtK.self, grad: SqrtGradK.self, fromOutput: true) }
    public func abs() -> Tensor { unary("abs", AbsK.self, grad: AbsGradK.self, fromOutput: false) }
    public func relu() -> Tensor { unary("relu", ReluK.self, grad: ReluGradK.self, fromOutput: false) }
    public func sigmoid() -> Tensor { unary("sigmoid", SigmoidK.self, grad: SigmoidGradK.self, fromOutput: true) }
    public func tanh() -> Tensor { unary("tanh", TanhK.self, grad: TanhGradK.self, fromOutput: true) }

    public enum GELUApproximation: String, Codable, Sendable { case none, tanh }

    /// GELU: x·Φ(x) exactly (erf), or with the tanh approximation.
    public func gelu(approximate: GELUApproximation = .none) -> Tensor {
        switch approximate {
        case .none: return unary("gelu", GeluK.self, grad: GeluGradK.self, fromOutput: false)
        case .tanh: return unary("geluTanh", GeluTanhK.self, grad: GeluTanhGradK.self, fromOutput: false)
        }
    }
}

enum ExpK: UnaryKernel { @inline(__always) static func apply(_ x: Float) -> Float { Foundation.exp(x) } }
enum LogK: UnaryKernel { @inline(__always) static func apply(_ x: Float) -> Float { Foundation.log(x) } }
enum SqrtK: UnaryKernel { @inline(__always) static func apply(_ x: Float) -> Float { x.squareRoot() } }
enum SqrtGradK: BinaryKernel { @inline(__always) static func apply(_ g: Float, _ y: Float) -> Float { g * 0.5 / y } }
enum AbsK: UnaryKernel { @inline(__always) static func apply(_ x: Float) -> Float { Swift.abs(x) } }
enum AbsGradK: BinaryKernel {
    @inline(__always) static func apply(_ g: Float, _ x: Float) -> Float { x > 0 ? g : (x < 0 ? -g : 0) }
}
enum ReluK: UnaryKernel { @inline(__always) static func apply(_ x: Float) -> Float { x > 0 ? x : 0 } }
enum ReluGradK: BinaryKernel { @inline(__always) static func apply(_ g: Float, _ x: Float) -> Float { x > 0 ? g : 0 } }
enum SigmoidK: UnaryKernel {
    @inline(__always) static func apply(_ x: Float) -> Float {
        // Two branches keep exp from overflowing for large |x|.
        x >= 0 ? 1 / (1 + Foundation.exp(-x)) : Foundation.exp(x) / (1 + Foundation.exp(x))
    }
}
enum SigmoidGradK: BinaryKernel { @inline(__always) static func apply(_ g: Float, _ y: Float) -> Float { g * y * (1 - y) } }
enum TanhK: UnaryKernel { @inline(__always) static func apply(_ x: Float) -> Float { Foundation.tanh(x) } }
enum TanhGradK: BinaryKernel { @inline(__always) static func apply(_ g: Float, _ y: Float) -> Float { g * (1 - y * y) } }

private let invSqrt2: Float = 0.70710678118654752
private let invSqrt2Pi: Float = 0.39894228040143268
private let sqrt2OverPi: Float = 0.79788456080286536
private let geluCubic: Float = 0.044715

/// e^y for y ≤ 0 in plain arithmetic, which the compiler vectorises where a libm call would stop
/// it: y = k·ln2 + r with |r| ≤ ln2/2 (ln2 split in two for exactness), e^r from its Taylor
/// series to r⁷, 2^k built in the exponent bits. Relative error below 1e-7; y below −87 gives
/// e^−87 (within 2e-38 of the true value); NaN gives NaN.
@inline(__always) func expOfNonPositive(_ y: Float) -> Float {
    let y = Swift.max(y, -87)
    // Adding 1.5·2²³ rounds y·log2(e) to the integer k, which then sits in the low mantissa bits
    // (no checked conversion, which would trap on NaN and stop the vectoriser).
    let shifted = y * 1.442695041 + 12_582_912
    let k = shifted - 12_582_912
    let r = (y - k * 0.693145751953125) - k * 1.428606765330187e-06
    var p: Float = 1.0 / 5040
    p = p * r + 1.0 / 720
    p = p * r + 1.0 / 120
    p = p * r + 1.0 / 24
    p = p * r + 1.0 / 6
    p = p * r + 0.5
    p = p * r + 1
    p = p * r + 1
    return p * Float(bitPattern: (shifted.bitPattern &- 0x4B40_0000 &+ 127) << 23)
}

/// erf(x) by Abramowitz and Stegun's 7.1.26 (1 − t·P(t)·e^(−x²), t = 1/(1 + 0.3275911·|x|)),
/// in vectorisable arithmetic: absolute error below 6e-7 in Float, so GELU's relative error stays
/// within 2e-7 of |x|. NaN stays NaN.
@inline(__always) func erfApproximation(_ x: Float) -> Float {
    let a = Swift.abs(x)
    let t = 1 / (1 + 0.3275911 * a)
    let poly = ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t
    let e = 1 - poly * expOfNonPositive(-a * a)
    return x < 0 ? -e : e
}

enum GeluK: UnaryKernel {
    @inline(__always) static func apply(_ x: Float) -> Float { 0.5 * x * (1 + erfApproximation(x * invSqrt2)) }
}
enum GeluGradK: BinaryKernel {
    @inline(__always) static func apply(_ g: Float, _ x: Float) -> Float {
        let cdf = 0.5 * (1 + erfApproximation(x * invSqrt2))
        let pdf = invSqrt2Pi * expOfNonPositive(-0.5 * x * x)
        return g * (cdf + x * pdf)
    }
}
enum GeluTanhK: UnaryKernel {
    @inline(__always) static func apply(_ x: Float) -> Float {
        0.5 * x * (1 + Foundation.tanh(sqrt2OverPi * (x + geluCubic * x * x * x)))
    }
}
enum GeluTanhGradK: BinaryKernel {
    @inline(__always) static func apply(_ g: Float, _ x: Float) -> Float {
        let t = Foundation.tanh(sqrt2OverPi * (x + geluCubic * x * x * x))
        let dt = (1 - t * t) * sqrt2OverPi * (1 + 3 * geluCubic * x * x)
        return g * (0.5 * (1 + t) + 0.5 * x * dt)
    }
}

extension Tensor {
    /// ReLU written over this tensor's own storage, for inference: no new activation is allocated.
    /// Only allowed where no graph is being recorded for it.
    @discardableResult
    public func reluInPlace() -> Tensor {
        traced(.unary(.relu), [self]) {
            Profiler.span(.elementwise) {
                ensure(!(GradMode.isEnabled && requiresGrad),
                       "reluInPlace: tensor of shape \(shape) takes part in a graph; use relu() or run under GradMode.noGrad")
                mapUnary(ReluK.self, data, data, count)
                return self
            }
        }
    }
}
