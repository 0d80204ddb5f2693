/// A dense flow from one frame to the next: pixel (x, y) of the first frame moves to
/// (x + u, y + v) in the second. Both components are [H, W], row-major, in pixels.
public struct FlowField: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// Horizontal displacement [H, W].
    public let u: [Float]
    /// Vertical displacement [H, W].
    public let v: [Float]

    public init(width: Int, height: Int, u: [Float], v: [Float]) throws(FlowError) {
        guard width > 0, height > 0 else { throw .invalidImage(reason: "flow size \(width)×\(height) must be positive") }
        let (area, overflow) = width.multipliedReportingOverflow(by: height)
        guard !overflow, u.count == area, v.count == area else {
            throw .invalidImage(reason: "a \(width)×\(height) flow needs \(width)·\(height) values per component, "
                                + "got \(u.count) and \(v.count)")
        }
        self.width = width
        self.height = height
        self.u = u
        self.v = v
    }

    /// Both components as bytes, the way denseflow writes flow images for MMAction2: each value
    /// clipped to ±`bound` and mapped linearly so −bound → 0, 0 → 128 (127.5 rounded half up), +bound → 255.
    /// `bound` must be positive and finite (denseflow's default is 20).
    public func quantized(bound: Float) -> (x: [UInt8], y: [UInt8]) {
        precondition(bound > 0 && bound.isFinite, "quantized(bound:) needs a positive finite bound, got \(bound)")
        func bytes(_ c: [Float]) -> [UInt8] {
            c.map { f in
                let clipped = f.isNaN ? 0 : min(max(f, -bound), bound)
                return UInt8(clamping: Int(((clipped + bound) / (2 * bound) * 255).rounded(.toNearestOrAwayFromZero)))
            }
        }
        return (bytes(u), bytes(v))
    }

    /// Mean Euclidean distance between the two flows' vectors (end-point error), over the pixels
    /// at least `margin` away from every edge.
    public func meanEndPointError(to other: FlowField, margin: Int = 0) -> Double {
        precondition(width == other.width && height == other.height,
                     "meanEndPointError: \(width)×\(height) vs \(other.width)×\(other.height)")
        let ys = margin..<max(margin, height - margin), xs = margin..<max(margin, width - margin)
        guard !ys.isEmpty, !xs.isEmpty else { return 0 }
        var sum = 0.0
        for y in ys {
            for x in xs {
                let i = y * width + x
                let du = Double(u[i] - other.u[i]), dv = Double(v[i] - other.v[i])
                sum += (du * du + dv * dv).squareRoot()
            }
        }
        return sum / Double(ys.count * xs.count)
    }
}
