import Foundation
import Video

/// Where the camera looks on the texture plane at one frame: the plane point under the image
/// centre, the rotation of the image axes, and the zoom (plane pixels per image pixel).
struct CameraPose {
    var x: Float
    var y: Float
    var angle: Float
    var scale: Float
}

/// Renders views of a periodic texture by bilinear sampling.
enum Renderer {
    /// One H×W RGB24 frame per pose.
    static func render(_ texture: Texture, poses: [CameraPose], size: Int) -> FrameStack {
        let frameBytes = size * size * 3
        var out = [UInt8](repeating: 0, count: poses.count * frameBytes)
        let p = texture.size
        let period = Float(p)
        texture.pixels.withUnsafeBufferPointer { tex in
            out.withUnsafeMutableBufferPointer { dst in
                for (f, pose) in poses.enumerated() {
                    let c = cos(pose.angle) * pose.scale, s = sin(pose.angle) * pose.scale
                    let half = Float(size - 1) / 2
                    for j in 0..<size {
                        let v = Float(j) - half
                        for i in 0..<size {
                            let u = Float(i) - half
                            // Image → plane: rotate and scale about the image centre, then translate.
                            var px = pose.x + c * u - s * v
                            var py = pose.y + s * u + c * v
                            px -= period * (px / period).rounded(.down)
                            py -= period * (py / period).rounded(.down)
                            let x0 = Int(px), y0 = Int(py)
                            let fx = px - Float(x0), fy = py - Float(y0)
                            let x1 = (x0 + 1) % p, y1 = (y0 + 1) % p
                            let a = (y0 % p * p + x0 % p) * 3, b = (y0 % p * p + x1) * 3
                            let cc = (y1 * p + x0 % p) * 3, d = (y1 * p + x1) * 3
                            let o = f * frameBytes + (j * size + i) * 3
                            for ch in 0..<3 {
                                let top = tex[a + ch] + (tex[b + ch] - tex[a + ch]) * fx
                                let bottom = tex[cc + ch] + (tex[d + ch] - tex[cc + ch]) * fx
                                let value = top + (bottom - top) * fy
                                dst[o + ch] = UInt8(max(0, min(255, value.rounded())))
                            }
                        }
                    }
                }
            }
        }
        return FrameStack(count: poses.count, height: size, width: size, pixels: out)
    }
}
