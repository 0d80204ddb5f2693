/// One gray frame, H × W, row-major, on the 0–255 scale of 8-bit video (OpenCV's TV-L1 converts
/// 8-bit input to float without rescaling, and its λ is tuned for that range).
public struct GrayImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// [H, W], row-major.
    public let pixels: [Float]

    public init(width: Int, height: Int, pixels: [Float]) throws(FlowError) {
        try Self.check(width: width, height: height, count: pixels.count, perPixel: 1, what: "pixels")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// From 8-bit gray bytes [H, W].
    public init(width: Int, height: Int, gray: [UInt8]) throws(FlowError) {
        try Self.check(width: width, height: height, count: gray.count, perPixel: 1, what: "gray bytes")
        self.width = width
        self.height = height
        self.pixels = gray.map { Float($0) }
    }

    /// From packed RGB24 bytes [H, W, 3], converted as OpenCV's `COLOR_RGB2GRAY` does:
    /// 0.299 R + 0.587 G + 0.114 B in 14-bit fixed point, rounded to 8 bits.
    public init(width: Int, height: Int, rgb24: [UInt8]) throws(FlowError) {
        try Self.check(width: width, height: height, count: rgb24.count, perPixel: 3, what: "RGB24 bytes")
        self.width = width
        self.height = height
        let count = width * height
        self.pixels = [Float](unsafeUninitializedCapacity: count) { out, initialized in
            rgb24.withUnsafeBufferPointer { rgb in
                for i in 0..<count {
                    let r = Int(rgb[3 * i]), g = Int(rgb[3 * i + 1]), b = Int(rgb[3 * i + 2])
                    out[i] = Float((r * 4899 + g * 9617 + b * 1868 + 8192) >> 14)
                }
            }
            initialized = count
        }
    }

    /// Pixels rounded and clamped to bytes, for writing 8-bit files.
    public var bytes: [UInt8] {
        pixels.map { UInt8(clamping: Int(($0.isNaN ? 0 : min(max($0, 0), 255)).rounded())) }
    }

    private static func check(width: Int, height: Int, count: Int, perPixel: Int, what: String) throws(FlowError) {
        guard width > 0, height > 0 else { throw .invalidImage(reason: "size \(width)×\(height) must be positive") }
        let (area, o1) = width.multipliedReportingOverflow(by: height)
        let (n, o2) = area.multipliedReportingOverflow(by: perPixel)
        guard !o1, !o2, n == count else {
            throw .invalidImage(reason: "\(width)×\(height) needs \(perPixel) \(what) per pixel, got \(count) in all")
        }
    }
}
