import Engine
import Video


extension FrameStack {
    /// mmcv's `rescale_size` with scale (∞, side): the short side becomes `side`, the long side
    /// `Int(long · side / short + 0.5)`.
    public static func shortSideSize(height: Int, width: Int, side: Int) -> FrameSize {
        let factor = Double(side) / Double(min(height, width))
        return FrameSize(width: Int(Double(width) * factor + 0.5), height: Int(Double(height) * factor + 0.5))
    }

    /// Every frame resized bilinearly, bit-exact with OpenCV's `cv2.resize(..., INTER_LINEAR)` on
    /// 8-bit images (what mmcv's `imresize` calls):
    ///
    /// - pixel centres are aligned (half-pixel): source x = (dx + 0.5) · (src / dst) − 0.5, in Float;
    /// - weights are fixed point, round((1 − f) · 2048) and round(f · 2048), half to even;
    /// - columns are clamped to the image (edge weight 1), rows are clamped but keep their weights;
    /// - a row is Σ w·S at 11 bits, the rows are then mixed as
    ///   `((w0·(R0 >> 4)) >> 16 + (w1·(R1 >> 4)) >> 16 + 2) >> 2`.
    ///
    /// An exact halving is OpenCV's INTER_AREA, which these weights reproduce. Frames run in parallel.
    public func resized(to size: FrameSize) -> FrameStack {
        let (dw, dh) = (size.width, size.height)
        precondition(dw > 0 && dh > 0 && width > 0 && height > 0,
                     "FrameStack.resized: cannot resize \(width)×\(height) to \(dw)×\(dh)")
        if dw == width && dh == height { return self }
        let cols = LinearTaps(source: width, destination: dw, clampWeights: true)
        let rows = LinearTaps(source: height, destination: dh, clampWeights: false)
        let (sw, sh, count) = (width, height, count)
        var out = [UInt8](repeating: 0, count: count * dh * dw * 3)
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                let src = UnsafeSendable(src.baseAddress!), dst = UnsafeSendable(dst.baseAddress!)
                // Work unit: one output row of one frame.
                Parallel.forRanges(count * dh, grain: max(1, 8192 / (dw * 3))) { range in
                    let r0 = UnsafeMutablePointer<Int32>.allocate(capacity: dw * 3)
                    let r1 = UnsafeMutablePointer<Int32>.allocate(capacity: dw * 3)
                    defer { r0.deallocate(); r1.deallocate() }
                    for job in range {
                        let (t, dy) = job.quotientAndRemainder(dividingBy: dh)
                        let frame = src.value + t * sh * sw * 3
                        let y0 = min(max(rows.index[dy], 0), sh - 1), y1 = min(max(rows.index[dy] + 1, 0), sh - 1)
                        cols.interpolate(row: frame + y0 * sw * 3, into: r0)
                        cols.interpolate(row: frame + y1 * sw * 3, into: r1)
                        let w0 = rows.weight0[dy], w1 = rows.weight1[dy]
                        let o = dst.value + (t * dh + dy) * dw * 3
                        for i in 0..<(dw * 3) {
                            let v = ((w0 &* (r0[i] >> 4)) >> 16) &+ ((w1 &* (r1[i] >> 4)) >> 16) &+ 2
                            o[i] = UInt8(truncatingIfNeeded: v >> 2)
                        }
                    }
                }
            }
        }
        return FrameStack(count: count, height: dh, width: dw, pixels: out)
    }

    /// Short side resized to `side`, aspect ratio kept (MMAction2's `Resize(scale=(-1, side))`).
    public func resized(shortSide side: Int) -> FrameStack {
        resized(to: Self.shortSideSize(height: height, width: width, side: side))
    }
}

/// OpenCV's linear taps along one axis: source index and 11-bit weights per destination index.
struct LinearTaps: Sendable {
    var index: [Int] = []
    var weight0: [Int32] = []
    var weight1: [Int32] = []

    init(source: Int, destination: Int, clampWeights: Bool) {
        // OpenCV stores the inverse scale and inverts it again; keep both roundings.
        let scale = 1.0 / (Double(destination) / Double(source))
        for d in 0..<destination {
            var f = Float((Double(d) + 0.5) * scale - 0.5)
            var s = Int(f.rounded(.down))
            f -= Float(s)
            if clampWeights {
                if s < 0 { (s, f) = (0, 0) }
                if s >= source - 1 { (s, f) = (source - 1, 0) }
            }
            index.append(s)
            weight0.append(Int32(((1 - f) * 2048).rounded(.toNearestOrEven)))
            weight1.append(Int32((f * 2048).rounded(.toNearestOrEven)))
        }
    }

    /// One RGB row, horizontally interpolated at 11 bits: out[3·dx + c] = w0·S[sx] + w1·S[sx+1].
    func interpolate(row: UnsafePointer<UInt8>, into out: UnsafeMutablePointer<Int32>) {
        index.withUnsafeBufferPointer { index in
            weight0.withUnsafeBufferPointer { w0 in
                weight1.withUnsafeBufferPointer { w1 in
                    for dx in 0..<index.count {
                        let s = row + index[dx] * 3, a = w0[dx], b = w1[dx], o = out + dx * 3
                        if b == 0 {  // an edge tap, possibly on the last column
                            for c in 0..<3 { o[c] = Int32(s[c]) &* a }
                        } else {
                            for c in 0..<3 { o[c] = Int32(s[c]) &* a &+ Int32(s[c + 3]) &* b }
                        }
                    }
                }
            }
        }
    }
}
