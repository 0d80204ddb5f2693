import Engine
import Foundation
import Video

/// The `playback` family: windows of real footage, played forward or reversed, at normal or
/// double speed. The same frames appear in every class, so only their order and pace differ.
public enum PlaybackClass: String, CaseIterable, Sendable, Codable {
    case forward = "forward"
    case reversed = "reversed"
    case forwardDouble = "forward_2x"
    case reversedDouble = "reversed_2x"

    func frames(from source: SourceVideo, count: Int, size: Int, rng: inout Xoshiro) throws -> FrameStack {
        let step = self == .forwardDouble || self == .reversedDouble ? 2 : 1
        let span = (count - 1) * step + 1
        let start = source.frameCount > span ? Int(rng.next() % UInt64(source.frameCount - span + 1)) : 0
        var indices = (0..<count).map { min(source.frameCount - 1, start + $0 * step) }
        if self == .reversed || self == .reversedDouble { indices.reverse() }
        return try source.squareFrames(indices, size: size)
    }
}

/// A real video used as texture or footage. One decoder per call keeps workers independent.
struct SourceVideo: Sendable {
    let path: String
    let frameCount: Int
    let width: Int, height: Int

    init(path: String) throws {
        do {
            let reader = try VideoReader(path: path)
            frameCount = reader.frameCount
            let probe = try reader.frames(at: [0])
            width = probe.width; height = probe.height
        } catch {
            throw SynthError.sourceUnreadable(path: path, reason: "\(error)")
        }
        guard frameCount > 0 else { throw SynthError.sourceUnreadable(path: path, reason: "no frames") }
        self.path = path
    }

    func texture(frame: Int) throws -> Texture {
        let stack = try decode([frame])
        return Texture(frame: FrameStackView(width: stack.width, height: stack.height, bytes: stack.pixels[...]))
    }

    /// The centred square of each frame, resized to size×size.
    func squareFrames(_ indices: [Int], size: Int) throws -> FrameStack {
        let stack = try decode(indices)
        let side = min(stack.width, stack.height)
        let x0 = Float(stack.width - side) / 2, y0 = Float(stack.height - side) / 2
        let scale = Float(side) / Float(size)
        var out = [UInt8](repeating: 0, count: stack.count * size * size * 3)
        for f in 0..<stack.count {
            let base = f * stack.frameBytes
            for j in 0..<size {
                let sy = min(Float(stack.height - 1), max(0, y0 + (Float(j) + 0.5) * scale - 0.5))
                let ya = Int(sy), yb = min(stack.height - 1, ya + 1), fy = sy - Float(ya)
                for i in 0..<size {
                    let sx = min(Float(stack.width - 1), max(0, x0 + (Float(i) + 0.5) * scale - 0.5))
                    let xa = Int(sx), xb = min(stack.width - 1, xa + 1), fx = sx - Float(xa)
                    for c in 0..<3 {
                        func at(_ x: Int, _ y: Int) -> Float { Float(stack.pixels[base + (y * stack.width + x) * 3 + c]) }
                        let top = at(xa, ya) + (at(xb, ya) - at(xa, ya)) * fx
                        let bottom = at(xa, yb) + (at(xb, yb) - at(xa, yb)) * fx
                        out[((f * size + j) * size + i) * 3 + c] = UInt8(max(0, min(255, (top + (bottom - top) * fy).rounded())))
                    }
                }
            }
        }
        return FrameStack(count: stack.count, height: size, width: size, pixels: out)
    }

    private func decode(_ indices: [Int]) throws -> FrameStack {
        do { return try VideoReader(path: path).frames(at: indices) } catch {
            throw SynthError.sourceUnreadable(path: path, reason: "\(error)")
        }
    }
}
