import Engine
import Video

/// How optical flow is stored in a `FrameStack`, so that a mirror can negate its x component.
/// Flow bytes encode 128 + k·u, so negating u is 255 − byte.
public enum FlowLayout: String, Codable, Sendable {
    /// x in R, y in G of every frame.
    case channels
    /// MMAction2's flow folders: frames alternate x, y, x, y…, each a grey image.
    case alternatingFrames = "alternating_frames"
}

extension FrameStack {
    /// Every frame mirrored left–right; for flow, the x component is inverted as well.
    public func flippedHorizontally(flow: FlowLayout? = nil) -> FrameStack {
        var out = self
        let (h, w) = (height, width)
        out.pixels.withUnsafeMutableBufferPointer { buffer in
            let base = UnsafeSendable(buffer.baseAddress!)
            Parallel.forRanges(count * h, grain: 16) { rows in
                for row in rows {
                    let p = base.value + row * w * 3
                    var (l, r) = (0, w - 1)
                    while l < r {
                        for c in 0..<3 { swap(&p[l * 3 + c], &p[r * 3 + c]) }
                        l += 1
                        r -= 1
                    }
                    switch flow {
                    case nil: break
                    case .channels:
                        for x in 0..<w { p[x * 3] = 255 - p[x * 3] }
                    case .alternatingFrames where (row / h) % 2 == 0:
                        for i in 0..<(w * 3) { p[i] = 255 - p[i] }
                    case .alternatingFrames: break
                    }
                }
            }
        }
        return out
    }
}
