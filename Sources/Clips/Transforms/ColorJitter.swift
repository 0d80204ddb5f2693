import Engine
import Video

/// torchvision's `ColorJitter` on 8-bit frames: brightness, contrast and saturation factors drawn
/// from [max(0, 1 − v), 1 + v], a hue shift from [−v, v] (v ≤ 0.5), applied in a random order.
/// A strength of 0 turns its step off. Arithmetic is Float32 and every step truncates back to
/// bytes, as torchvision does on uint8 tensors.
public struct ColorJitter: Codable, Sendable, Equatable {
    public var brightness: Double
    public var contrast: Double
    public var saturation: Double
    public var hue: Double

    public init(brightness: Double = 0, contrast: Double = 0, saturation: Double = 0, hue: Double = 0) {
        precondition([brightness, contrast, saturation].allSatisfy { $0 >= 0 } && (0...0.5).contains(hue),
                     "ColorJitter: strengths must be ≥ 0 and hue in 0…0.5")
        (self.brightness, self.contrast, self.saturation, self.hue) = (brightness, contrast, saturation, hue)
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func value(_ key: CodingKeys, _ range: ClosedRange<Double>) throws -> Double {
            let v = try c.decodeIfPresent(Double.self, forKey: key) ?? 0
            guard range.contains(v) else { throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: "must be in \(range)") }
            return v
        }
        self.init(brightness: try value(.brightness, 0...1e9), contrast: try value(.contrast, 0...1e9),
                  saturation: try value(.saturation, 0...1e9), hue: try value(.hue, 0...0.5))
    }

    public enum Step: Sendable, Equatable {
        case brightness(Float), contrast(Float), saturation(Float), hue(Float)
    }

    /// One draw: the enabled steps, in the order they run.
    public func draw(using rng: inout Xoshiro) -> [Step] {
        var order = [0, 1, 2, 3]
        for i in stride(from: 3, to: 0, by: -1) { order.swapAt(i, Int(rng.nextUnit() * Double(i + 1))) }
        func factor(_ v: Double) -> Float? {
            v == 0 ? nil : Float(max(0, 1 - v) + (1 + v - max(0, 1 - v)) * rng.nextUnit())
        }
        let b = factor(brightness), c = factor(contrast), s = factor(saturation)
        let h = hue == 0 ? nil : Float(-hue + 2 * hue * rng.nextUnit())
        return order.compactMap { i in
            switch i {
            case 0: b.map(Step.brightness)
            case 1: c.map(Step.contrast)
            case 2: s.map(Step.saturation)
            default: h.map(Step.hue)
            }
        }
    }
}

extension FrameStack {
    /// The steps applied in order to every frame (contrast uses each frame's own mean grey).
    public func jittered(_ steps: [ColorJitter.Step]) -> FrameStack {
        var out = self
        let n = height * width
        out.pixels.withUnsafeMutableBufferPointer { buffer in
            let base = UnsafeSendable(buffer.baseAddress!)
            Parallel.forRanges(count) { frames in
                for t in frames {
                    let p = base.value + t * n * 3
                    for step in steps { Jitter.apply(step, to: p, pixels: n) }
                }
            }
        }
        return out
    }
}

enum Jitter {
    /// torchvision `_blend`: clamp(f·a + (1 − f)·b, 0, 255), truncated.
    @inline(__always) static func blend(_ a: UInt8, _ b: Float, _ f: Float) -> UInt8 {
        UInt8(min(max(f * Float(a) + (1 - f) * b, 0), 255))
    }

    /// torchvision `rgb_to_grayscale` on uint8: 0.2989 R + 0.587 G + 0.114 B, truncated.
    @inline(__always) static func grey(_ p: UnsafeMutablePointer<UInt8>) -> UInt8 {
        let r: Float = 0.2989 * Float(p[0]), g: Float = 0.587 * Float(p[1]), b: Float = 0.114 * Float(p[2])
        return UInt8(r + g + b)
    }

    static func apply(_ step: ColorJitter.Step, to p: UnsafeMutablePointer<UInt8>, pixels n: Int) {
        switch step {
        case .brightness(let f):
            for i in 0..<(n * 3) { p[i] = blend(p[i], 0, f) }
        case .contrast(let f):
            var sum = 0.0
            for i in 0..<n { sum += Double(grey(p + i * 3)) }
            let mean = Float(sum / Double(n))
            for i in 0..<(n * 3) { p[i] = blend(p[i], mean, f) }
        case .saturation(let f):
            for i in 0..<n {
                let q = p + i * 3, g = Float(grey(q))
                for c in 0..<3 { q[c] = blend(q[c], g, f) }
            }
        case .hue(let shift):
            for i in 0..<n { shiftHue(p + i * 3, by: shift) }
        }
    }

    /// torchvision `adjust_hue`: bytes / 255 → HSV, h ← (h + shift) mod 1, back to RGB, × 255.999 truncated.
    static func shiftHue(_ q: UnsafeMutablePointer<UInt8>, by shift: Float) {
        let r = Float(q[0]) / 255, g = Float(q[1]) / 255, b = Float(q[2]) / 255
        let maxc = max(r, g, b), minc = min(r, g, b)
        let equal = maxc == minc
        let cr = maxc - minc
        let s = cr / (equal ? 1 : maxc)
        let d = equal ? 1 : cr
        let rc = (maxc - r) / d, gc = (maxc - g) / d, bc = (maxc - b) / d
        var h: Float
        if maxc == r { h = bc - gc } else if maxc == g { h = 2 + rc - bc } else { h = 4 + gc - rc }
        h = fmodf(h / 6 + 1, 1)
        h = fmodf(h + shift, 1)
        if h < 0 { h += 1 }  // Python's % keeps the divisor's sign
        let v = maxc
        let i6 = (h * 6).rounded(.down), f = h * 6 - i6
        let pp = min(max(v * (1 - s), 0), 1)
        let qq = min(max(v * (1 - s * f), 0), 1)
        let tt = min(max(v * (1 - s * (1 - f)), 0), 1)
        let rgb: (Float, Float, Float)
        switch ((Int(i6) % 6) + 6) % 6 {
        case 0: rgb = (v, tt, pp)
        case 1: rgb = (qq, v, pp)
        case 2: rgb = (pp, v, tt)
        case 3: rgb = (pp, qq, v)
        case 4: rgb = (tt, pp, v)
        default: rgb = (v, pp, qq)
        }
        q[0] = UInt8(rgb.0 * 255.999)
        q[1] = UInt8(rgb.1 * 255.999)
        q[2] = UInt8(rgb.2 * 255.999)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
