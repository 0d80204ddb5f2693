import Foundation
import Support

/// A seedable generator (xoshiro256**), so that initialisation, dropout and sampling are
/// reproducible from a seed.
public struct Xoshiro: RandomNumberGenerator, Sendable {
    private var s: (UInt64, UInt64, UInt64, UInt64)

    public init(seed: UInt64) {
        // SplitMix64 spreads the seed over the state.
        var x = seed
        func next() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s = (next(), next(), next(), next())
    }

    public mutating func next() -> UInt64 {
        let result = ((s.1 &* 5) << 7 | (s.1 &* 5) >> 57) &* 9
        let t = s.1 << 17
        s.2 ^= s.0
        s.3 ^= s.1
        s.1 ^= s.2
        s.0 ^= s.3
        s.2 ^= t
        s.3 = (s.3 << 45) | (s.3 >> 19)
        return result
    }

    /// Uniform in [0, 1).
    public mutating func nextFloat() -> Float {
        Float(next() >> 40) * (1.0 / Float(1 << 24))
    }

    /// Standard normal (Box–Muller).
    public mutating func nextNormal() -> Float {
        var u = nextFloat()
        while u <= 1e-12 { u = nextFloat() }
        let v = nextFloat()
        return sqrt(-2 * log(u)) * cos(2 * Float.pi * v)
    }
}

/// The process-wide generator used when no generator is passed explicitly.
public enum GlobalRandom {
    private static let state = Locked(Xoshiro(seed: 0x5EED))

    public static func seed(_ seed: UInt64) { state.withLock { $0 = Xoshiro(seed: seed) } }

    /// A generator that replaces the global one inside `withSeed`.
    final class Scoped: Sendable {
        let state: Locked<Xoshiro>
        init(seed: UInt64) { state = Locked(Xoshiro(seed: seed)) }
    }

    @TaskLocal static var scoped: Scoped?

    /// Runs `body` with its own generator seeded by `seed`, on this thread (and task) only: a
    /// training step seeded by (seed, step, replica) draws the same dropout masks however the
    /// threads interleave, and after a resume.
    public static func withSeed<R>(_ seed: UInt64, _ body: () throws -> R) rethrows -> R {
        try $scoped.withValue(Scoped(seed: seed)) { try body() }
    }

    /// Takes a generator forked from the global one (advancing it), for one op's use.
    public static func fork() -> Xoshiro {
        if let scoped { return scoped.state.withLock { Xoshiro(seed: $0.next()) } }
        return state.withLock { Xoshiro(seed: $0.next()) }
    }
}

extension Tensor {
    /// Uniform in [low, high).
    public static func uniform(_ shape: [Int], low: Float = 0, high: Float = 1,
                               using rng: inout Xoshiro, requiresGrad: Bool = false) -> Tensor {
        let t = Tensor.empty(shape)
        for i in 0..<t.count { t.data[i] = low + (high - low) * rng.nextFloat() }
        t.requiresGrad = requiresGrad
        return t
    }

    public static func normal(_ shape: [Int], mean: Float = 0, std: Float = 1,
                              using rng: inout Xoshiro, requiresGrad: Bool = false) -> Tensor {
        let t = Tensor.empty(shape)
        for i in 0..<t.count { t.data[i] = mean + std * rng.nextNormal() }
        t.requiresGrad = requiresGrad
        return t
    }

    public static func uniform(_ shape: [Int], low: Float = 0, high: Float = 1, requiresGrad: Bool = false) -> Tensor {
        var rng = GlobalRandom.fork()
        return uniform(shape, low: low, high: high, using: &rng, requiresGrad: requiresGrad)
    }

    public static func normal(_ shape: [Int], mean: Float = 0, std: Float = 1, requiresGrad: Bool = false) -> Tensor {
        var rng = GlobalRandom.fork()
        return normal(shape, mean: mean, std: std, using: &rng, requiresGrad: requiresGrad)
    }
}
