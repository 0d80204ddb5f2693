import Engine
import Foundation

/// Which fan scales a Kaiming initialisation: fan-in keeps forward activations' variance,
/// fan-out keeps backward gradients' variance.
public enum FanMode: String, Codable, Sendable { case fanIn, fanOut }

/// The nonlinearity after a layer, which sets the initialisation gain (torch.nn.init.calculate_gain).
public enum Nonlinearity: Equatable, Codable, Sendable {
    case linear, sigmoid, tanh, relu
    case leakyReLU(slope: Float)

    public var gain: Float {
        switch self {
        case .linear, .sigmoid: 1
        case .tanh: 5.0 / 3
        case .relu: Float(2).squareRoot()
        case .leakyReLU(let a): (2 / (1 + a * a)).squareRoot()
        }
    }
}

/// Weight initialisers with torch.nn.init's formulas. Each fills a tensor in place from `rng`,
/// so a seed fixes the result, and returns it for chaining.
///
/// Fans follow PyTorch for a weight [out, in, *K]: fan-in = in · ∏K, fan-out = out · ∏K.
public enum Init {
    public static func fans(_ shape: [Int]) -> (fanIn: Int, fanOut: Int) {
        ensure(shape.count >= 2, "Init.fans: need rank ≥ 2 for fans, got shape \(shape)")
        let receptive = shape.dropFirst(2).reduce(1, *)
        return (shape[1] * receptive, shape[0] * receptive)
    }

    /// N(0, std²) with std = gain / √fan.
    @discardableResult
    public static func kaimingNormal(_ t: Tensor, mode: FanMode = .fanIn, nonlinearity: Nonlinearity = .leakyReLU(slope: 0),
                                     using rng: inout Xoshiro) -> Tensor {
        normal(t, std: nonlinearity.gain / Float(fan(t, mode)).squareRoot(), using: &rng)
    }

    /// U(−b, b) with b = gain · √(3 / fan).
    @discardableResult
    public static func kaimingUniform(_ t: Tensor, mode: FanMode = .fanIn, nonlinearity: Nonlinearity = .leakyReLU(slope: 0),
                                      using rng: inout Xoshiro) -> Tensor {
        let bound = nonlinearity.gain * (3 / Float(fan(t, mode))).squareRoot()
        return uniform(t, low: -bound, high: bound, using: &rng)
    }

    /// N(0, std²) with std = gain · √(2 / (fan-in + fan-out)).
    @discardableResult
    public static func xavierNormal(_ t: Tensor, gain: Float = 1, using rng: inout Xoshiro) -> Tensor {
        let (fanIn, fanOut) = fans(t.shape)
        return normal(t, std: gain * (2 / Float(fanIn + fanOut)).squareRoot(), using: &rng)
    }

    /// U(−b, b) with b = gain · √(6 / (fan-in + fan-out)).
    @discardableResult
    public static func xavierUniform(_ t: Tensor, gain: Float = 1, using rng: inout Xoshiro) -> Tensor {
        let (fanIn, fanOut) = fans(t.shape)
        let bound = gain * (6 / Float(fanIn + fanOut)).squareRoot()
        return uniform(t, low: -bound, high: bound, using: &rng)
    }

    /// N(mean, std²) restricted to [a, b] (absolute bounds, not multiples of std), as trunc_normal_:
    /// a uniform draw between the bounds' CDF values is mapped through the inverse normal CDF,
    /// so every draw is used and none is rejected.
    @discardableResult
    public static func truncatedNormal(_ t: Tensor, mean: Float = 0, std: Float = 1, a: Float = -2, b: Float = 2,
                                       using rng: inout Xoshiro) -> Tensor {
        ensure(a < b && std > 0, "Init.truncatedNormal: need a < b and std > 0, got a \(a), b \(b), std \(std)")
        func cdf(_ x: Float) -> Double { (1 + erf(Double((x - mean) / std) / 2.0.squareRoot())) / 2 }
        let lo = 2 * cdf(a) - 1, hi = 2 * cdf(b) - 1
        let p = t.data
        for i in 0..<t.count {
            let u = lo + (hi - lo) * Double(rng.nextFloat())
            let x = Double(mean) + Double(std) * 2.0.squareRoot() * inverseErf(u)
            p[i] = Swift.min(Swift.max(Float(x), a), b)
        }
        return t
    }

    @discardableResult
    public static func uniform(_ t: Tensor, low: Float = 0, high: Float = 1, using rng: inout Xoshiro) -> Tensor {
        let p = t.data
        for i in 0..<t.count { p[i] = low + (high - low) * rng.nextFloat() }
        return t
    }

    @discardableResult
    public static func normal(_ t: Tensor, mean: Float = 0, std: Float = 1, using rng: inout Xoshiro) -> Tensor {
        let p = t.data
        for i in 0..<t.count { p[i] = mean + std * rng.nextNormal() }
        return t
    }

    @discardableResult
    public static func constant(_ t: Tensor, _ value: Float) -> Tensor {
        t.fill(value)
        return t
    }

    private static func fan(_ t: Tensor, _ mode: FanMode) -> Int {
        let (fanIn, fanOut) = fans(t.shape)
        let f = mode == .fanIn ? fanIn : fanOut
        ensure(f > 0, "Init: zero fan for shape \(t.shape)")
        return f
    }
}

/// erf⁻¹(y) for y in (−1, 1): Giles' single-precision approximation, polished by two Newton steps
/// on erf in Double. ±∞ at ±1.
func inverseErf(_ y: Double) -> Double {
    if y <= -1 { return -.infinity }
    if y >= 1 { return .infinity }
    var w = -log((1 - y) * (1 + y))
    var p: Double
    if w < 5 {
        w -= 2.5
        p = 2.81022636e-08
        for c in [3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087, -0.00125372503,
                  -0.00417768164, 0.246640727, 1.50140941] { p = c + p * w }
    } else {
        w = w.squareRoot() - 3
        p = -0.000200214257
        for c in [0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613,
                  0.00943887047, 1.00167406, 2.83297682] { p = c + p * w }
    }
    var x = p * y
    let twoOverSqrtPi = 2 / Double.pi.squareRoot()
    for _ in 0..<2 {
        let slope = twoOverSqrtPi * exp(-x * x)
        guard slope > 0 else { break }
        x -= (erf(x) - y) / slope
    }
    return x
}
