/// Bilinear resampling as OpenCV's `resize(..., INTER_LINEAR)` does it on float images: the
/// destination pixel d samples the source at (d + ½)·scale − ½, computed in double and rounded to
/// float, and coordinates past an edge clamp to the edge pixel. The pyramid passes OpenCV's
/// `fx = fy = scaleStep` (so scale = 1 / scaleStep exactly, whatever the rounded size); flow
/// upsampling passes the two sizes (scale = source / destination size).
struct ResizePlan {
    /// The two source pixels a destination column (or row) blends, and the weight of the second.
    struct Tap {
        let first: Int32
        let second: Int32
        let weight: Float
    }

    let source: Size
    let destination: Size
    private let columns: [Tap]  // [W']
    private let rows: [Tap]     // [H']

    /// Pyramid step: destination size round(source · step), both scales exactly 1 / step.
    static func downscale(_ source: Size, step: Double) -> ResizePlan {
        let destination = Size(width: Int((Double(source.width) * step).rounded(.toNearestOrEven)),
                               height: Int((Double(source.height) * step).rounded(.toNearestOrEven)))
        return ResizePlan(source, destination, scaleX: 1 / step, scaleY: 1 / step)
    }

    /// To a given size, as `resize(src, dst, dst.size())` does.
    static func resample(_ source: Size, to destination: Size) -> ResizePlan {
        ResizePlan(source, destination,
                   scaleX: 1 / (Double(destination.width) / Double(source.width)),
                   scaleY: 1 / (Double(destination.height) / Double(source.height)))
    }

    private init(_ source: Size, _ destination: Size, scaleX: Double, scaleY: Double) {
        self.source = source
        self.destination = destination
        columns = Self.taps(count: destination.width, sourceCount: source.width, scale: scaleX)
        rows = Self.taps(count: destination.height, sourceCount: source.height, scale: scaleY)
    }

    private static func taps(count: Int, sourceCount: Int, scale: Double) -> [Tap] {
        (0..<count).map { d in
            let f = Float((Double(d) + 0.5) * scale - 0.5)
            var s = Int(f.rounded(.down)), w = f - Float(s)
            if s < 0 { (s, w) = (0, 0) }
            if s >= sourceCount - 1 { (s, w) = (sourceCount - 1, 0) }
            return Tap(first: Int32(s), second: Int32(min(s + 1, sourceCount - 1)), weight: w)
        }
    }

    /// dst [H', W'] = resize(src [H, W]) · factor. The factor rescales a flow with its image.
    func apply(_ src: UnsafeMutablePointer<Float>, into dst: UnsafeMutablePointer<Float>, factor: Float = 1,
               threads: Int) {
        let sw = source.width, dw = destination.width
        columns.withUnsafeBufferPointer { columns in
            rows.withUnsafeBufferPointer { rowTaps in
                RowSplit(rows: destination.height, width: dw, threads: threads).run { _, range in
                    for y in range {
                        let t = rowTaps[y]
                        let top = src + Int(t.first) * sw, bottom = src + Int(t.second) * sw, out = dst + y * dw
                        let b = t.weight, b0 = 1 - b
                        for x in 0..<dw {
                            let c = columns[x], i = Int(c.first), j = Int(c.second), a = c.weight, a0 = 1 - a
                            let upper = top[i] * a0 + top[j] * a
                            let lower = bottom[i] * a0 + bottom[j] * a
                            out[x] = (upper * b0 + lower * b) * factor
                        }
                    }
                }
            }
        }
    }
}
