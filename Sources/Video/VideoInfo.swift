/// A frame size in pixels.
public struct FrameSize: Sendable, Hashable, Codable {
    public var width: Int
    public var height: Int
    public init(width: Int, height: Int) {
        self.width = width
        self.height = height
    }

    public static func square(_ side: Int) -> FrameSize { FrameSize(width: side, height: side) }

    enum CodingKeys: String, CodingKey { case width, height }

    /// `224` (a square), `[320, 240]` (width, height) or `{width: 320, height: 240}`.
    public init(from decoder: any Swift.Decoder) throws {
        if let single = try? decoder.singleValueContainer() {
            if let side = try? single.decode(Int.self) {
                guard side > 0 else { throw DecodingError.dataCorruptedError(in: single, debugDescription: "a size must be positive, got \(side)") }
                self = .square(side)
                return
            }
            if let pair = try? single.decode([Int].self) {
                guard pair.count == 2, pair.allSatisfy({ $0 > 0 }) else {
                    throw DecodingError.dataCorruptedError(in: single, debugDescription: "a size is [width, height] with positive values, got \(pair)")
                }
                self.init(width: pair[0], height: pair[1])
                return
            }
        }
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(width: try c.decode(Int.self, forKey: .width), height: try c.decode(Int.self, forKey: .height))
        guard width > 0, height > 0 else {
            throw DecodingError.dataCorruptedError(forKey: .width, in: c, debugDescription: "a size must be positive, got \(width)×\(height)")
        }
    }
}

/// What a video file holds, as far as the reader is concerned: its first video stream.
public struct VideoInfo: Codable, Sendable, Equatable {
    /// FFmpeg's codec name, e.g. "h264", "vp9", "mjpeg".
    public var codec: String
    /// Coded size, before the display rotation is applied.
    public var width: Int
    public var height: Int
    /// The container's average frame rate and FFmpeg's guess of the base rate (0 when unknown).
    public var averageFrameRate: Double
    public var realFrameRate: Double
    /// Seconds: the container's duration, or the span of the frame timestamps when it has none.
    public var duration: Double
    /// Decoder output pixel format, e.g. "yuv420p".
    public var pixelFormat: String
    /// Clockwise degrees the frames must turn for display: 0, 90, 180 or 270.
    public var rotation: Int
    /// Exact number of frames, counted from the demuxed packets.
    public var frameCount: Int

    public init(codec: String, width: Int, height: Int, averageFrameRate: Double, realFrameRate: Double,
                duration: Double, pixelFormat: String, rotation: Int, frameCount: Int) {
        self.codec = codec
        self.width = width
        self.height = height
        self.averageFrameRate = averageFrameRate
        self.realFrameRate = realFrameRate
        self.duration = duration
        self.pixelFormat = pixelFormat
        self.rotation = rotation
        self.frameCount = frameCount
    }

    /// The size frames have after rotation: width and height swap for 90 and 270 degrees.
    public var displaySize: FrameSize {
        rotation % 180 == 0 ? FrameSize(width: width, height: height) : FrameSize(width: height, height: width)
    }
}

/// How a reader opens and decodes.
public struct ReaderOptions: Sendable {
    /// Decode-bomb guard: width · height above this is refused before any frame is decoded.
    public var maxPixels: Int
    /// Decoder threads; 0 lets FFmpeg choose. Frame and slice threading are both enabled.
    public var threads: Int
    /// Turn output frames by the display matrix (multiples of 90 degrees).
    public var autoRotate: Bool
    /// During random access, skip decoding non-reference frames that are not wanted.
    /// Nothing references them, so wanted frames stay bit-identical (tested for every codec).
    public var discardNonReference: Bool
    /// Seconds that opening (probing included) and each single packet read may take before the
    /// call fails with `.timedOut`: a watchdog against stalled or hostile input, not a budget for
    /// decoding a long video.
    public var timeout: Double
    /// Bytes FFmpeg may read while probing the container and streams.
    public var probeSize: Int
    /// Microseconds of stream FFmpeg may analyse when probing.
    public var analyzeDuration: Int

    public init(maxPixels: Int = 8192 * 4320, threads: Int = 0, autoRotate: Bool = true,
                discardNonReference: Bool = true, timeout: Double = 60,
                probeSize: Int = 5_000_000, analyzeDuration: Int = 5_000_000) {
        self.maxPixels = maxPixels
        self.threads = threads
        self.autoRotate = autoRotate
        self.discardNonReference = discardNonReference
        self.timeout = timeout
        self.probeSize = probeSize
        self.analyzeDuration = analyzeDuration
    }
}
