import Engine
import Foundation

/// A seamless (periodic) RGB texture: a sum of random plane waves with whole-number
/// frequencies on a P×P torus, plus random soft discs drawn with wrap-around. Any real
/// coordinate can be sampled, so moving, rotating or zooming the plane never reaches an edge.
struct Texture {
    let size: Int                 // P: the period in pixels
    private(set) var pixels: [Float]   // P·P·3, row-major, RGB in 0…255

    init(size: Int, rng: inout Xoshiro) {
        self.size = size
        var px = [Float](repeating: 0, count: size * size * 3)
        // A random base colour per channel, then waves and discs on top.
        let base = (0..<3).map { _ in 60 + 120 * rng.nextFloat() }
        struct Wave { var fx: Float; var fy: Float; var phase: Float; var amp: (Float, Float, Float) }
        let waves = (0..<14).map { _ -> Wave in
            let maxF = 6
            let fx = Float(Int(rng.next() % UInt64(2 * maxF + 1)) - maxF)
            var fy = Float(Int(rng.next() % UInt64(2 * maxF + 1)) - maxF)
            if fx == 0 && fy == 0 { fy = 1 }
            let a = 18 / (1 + (fx * fx + fy * fy).squareRoot() / 3)
            return Wave(fx: fx, fy: fy, phase: 2 * .pi * rng.nextFloat(),
                        amp: (a * (2 * rng.nextFloat() - 1), a * (2 * rng.nextFloat() - 1), a * (2 * rng.nextFloat() - 1)))
        }
        let p = Float(size)
        px.withUnsafeMutableBufferPointer { out in
            for y in 0..<size {
                for x in 0..<size {
                    var r = base[0], g = base[1], b = base[2]
                    for w in waves {
                        let v = cos(2 * .pi * (w.fx * Float(x) + w.fy * Float(y)) / p + w.phase)
                        r += w.amp.0 * v; g += w.amp.1 * v; b += w.amp.2 * v
                    }
                    let i = (y * size + x) * 3
                    out[i] = r; out[i + 1] = g; out[i + 2] = b
                }
            }
            // Discs with soft edges give the plane distinct, trackable features.
            for _ in 0..<(size * size / 900) {
                let cx = Float(size) * rng.nextFloat(), cy = Float(size) * rng.nextFloat()
                let radius = 3 + Float(size) / 16 * rng.nextFloat()
                let colour = (0..<3).map { _ in 255 * rng.nextFloat() }
                let reach = Int(radius) + 2
                for dy in -reach...reach {
                    for dx in -reach...reach {
                        let d = (Float(dx * dx + dy * dy)).squareRoot()
                        let alpha = min(1, max(0, radius - d))
                        guard alpha > 0 else { continue }
                        let x = ((Int(cx) + dx) % size + size) % size, y = ((Int(cy) + dy) % size + size) % size
                        let i = (y * size + x) * 3
                        for c in 0..<3 { out[i + c] = out[i + c] * (1 - alpha) + colour[c] * alpha }
                    }
                }
            }
        }
        pixels = px
    }

    /// A texture made from one real frame, mirrored at its edges so that it tiles seamlessly.
    init(frame: FrameStackView) {
        let side = min(frame.width, frame.height)
        size = 2 * side
        var px = [Float](repeating: 0, count: size * size * 3)
        let x0 = (frame.width - side) / 2, y0 = (frame.height - side) / 2
        for y in 0..<size {
            let sy = y < side ? y : 2 * side - 1 - y
            for x in 0..<size {
                let sx = x < side ? x : 2 * side - 1 - x
                for c in 0..<3 { px[(y * size + x) * 3 + c] = Float(frame.pixel(x0 + sx, y0 + sy, c)) }
            }
        }
        pixels = px
    }
}

/// Read access to one RGB24 frame.
struct FrameStackView {
    let width: Int, height: Int
    let bytes: ArraySlice<UInt8>
    func pixel(_ x: Int, _ y: Int, _ c: Int) -> UInt8 { bytes[bytes.startIndex + (y * width + x) * 3 + c] }
}
