import Foundation
@testable import Flow

/// A smooth random texture that can be evaluated anywhere, so a frame moved by a known flow is
/// rendered exactly instead of interpolated: a few broad sinusoids for large-scale structure plus
/// many random-phase waves up to a cut-off frequency (low-pass noise), on the 0–255 scale.
struct SyntheticScene {
    private struct Wave {
        let kx, ky, phase, amplitude: Double
    }

    private let waves: [Wave]

    init(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        var waves: [Wave] = []
        // Broad structure: periods of 40–80 px.
        for _ in 0..<4 {
            let k = 2 * Double.pi / rng.uniform(40, 80), angle = rng.uniform(0, 2 * .pi)
            waves.append(Wave(kx: k * cos(angle), ky: k * sin(angle), phase: rng.uniform(0, 2 * .pi), amplitude: 18))
        }
        // Low-pass noise: periods down to 5 px, amplitude falling with frequency.
        for _ in 0..<60 {
            let period = rng.uniform(5, 30), k = 2 * Double.pi / period, angle = rng.uniform(0, 2 * .pi)
            waves.append(Wave(kx: k * cos(angle), ky: k * sin(angle), phase: rng.uniform(0, 2 * .pi),
                              amplitude: 1.2 * period / 5))
        }
        self.waves = waves
    }

    func value(_ x: Double, _ y: Double) -> Double {
        var s = 128.0
        for w in waves { s += w.amplitude * sin(w.kx * x + w.ky * y + w.phase) }
        return s
    }

    /// 8-bit frame whose pixel (x, y) shows the scene at `source(x, y)`.
    func render(width: Int, height: Int, source: (Double, Double) -> (Double, Double)) throws -> GrayImage {
        var bytes = [UInt8](repeating: 0, count: width * height)
        for y in 0..<height {
            for x in 0..<width {
                let (sx, sy) = source(Double(x), Double(y))
                bytes[y * width + x] = UInt8(clamping: Int(value(sx, sy).rounded()))
            }
        }
        return try GrayImage(width: width, height: height, gray: bytes)
    }

    /// A pair moved by the affine motion x ↦ c + A (x − c) + t, and that motion's true flow.
    /// The second frame shows at x what the first showed at A⁻¹(x − c − t) + c.
    func pair(width: Int, height: Int, a: (Double, Double, Double, Double), t: (Double, Double))
        throws -> (GrayImage, GrayImage, FlowField) {
        let cx = Double(width - 1) / 2, cy = Double(height - 1) / 2
        let det = a.0 * a.3 - a.1 * a.2
        let first = try render(width: width, height: height) { ($0, $1) }
        let second = try render(width: width, height: height) { x, y in
            let dx = x - cx - t.0, dy = y - cy - t.1
            return (cx + (a.3 * dx - a.1 * dy) / det, cy + (-a.2 * dx + a.0 * dy) / det)
        }
        var u = [Float](repeating: 0, count: width * height), v = u
        for y in 0..<height {
            for x in 0..<width {
                let dx = Double(x) - cx, dy = Double(y) - cy
                u[y * width + x] = Float(a.0 * dx + a.1 * dy + t.0 - dx)
                v[y * width + x] = Float(a.2 * dx + a.3 * dy + t.1 - dy)
            }
        }
        return (first, second, try FlowField(width: width, height: height, u: u, v: v))
    }
}

/// Small deterministic generator (SplitMix64), so fixtures do not depend on the platform's RNG.
struct SplitMix64 {
    private var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func uniform(_ lo: Double, _ hi: Double) -> Double {
        lo + (hi - lo) * Double(next() >> 11) / Double(1 << 53)
    }
}
