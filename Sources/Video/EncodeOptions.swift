/// Video codecs the writer can produce and the reader is tested with.
public enum VideoCodec: String, Codable, Sendable, CaseIterable {
    case h264, hevc, vp9, mpeg4, mjpeg

    /// The FFmpeg encoder used for this codec.
    var encoderName: String {
        switch self {
        case .h264: "libx264"
        case .hevc: "libx265"
        case .vp9: "libvpx-vp9"
        case .mpeg4: "mpeg4"
        case .mjpeg: "mjpeg"
        }
    }

    /// Codecs whose writer emits B-frames when asked. MPEG-4 Part 2 is left out on purpose: its
    /// B-frames in AVI need "packed bitstream" placeholder packets, which break one-packet-per-frame.
    var usesBFrames: Bool { self == .h264 || self == .hevc }
}

/// How `VideoWriter` encodes.
public struct EncodeOptions: Sendable {
    /// Falls back to `.mpeg4` when the encoder is missing; `VideoWriter.codecUsed` tells which was used.
    public var codec: VideoCodec
    public var fps: Int
    /// Keyframe interval in frames.
    public var gop: Int
    /// Consecutive B-frames (H.264 and HEVC only).
    public var bFrames: Int
    /// Constant-quality level, lower is better: CRF for H.264/HEVC (0–51) and VP9 (0–63);
    /// for MPEG-4 and MJPEG it maps to a fixed quantiser, quality / 5 clamped to 2…31.
    public var quality: Int
    /// Clockwise degrees (multiple of 90) a player should turn the frames, stored as a display
    /// matrix. MP4 keeps it; FFmpeg 5.1's Matroska, WebM and AVI muxers drop it.
    public var rotation: Int
    /// Presentation time of each frame in seconds, strictly increasing, for variable frame rate.
    /// nil: frame i is shown at i / fps.
    public var timestamps: [Double]?
    /// x264/x265 preset ("ultrafast" … "veryslow"); nil keeps the encoder's default.
    public var preset: String?
    /// Encoder threads; 0 lets FFmpeg choose. With 1 the bytes never depend on thread timing.
    public var threads: Int = 0

    public init(codec: VideoCodec = .h264, fps: Int = 25, gop: Int = 12, bFrames: Int = 2, quality: Int = 23,
                rotation: Int = 0, timestamps: [Double]? = nil, preset: String? = nil) {
        self.codec = codec
        self.fps = fps
        self.gop = gop
        self.bFrames = bFrames
        self.quality = quality
        self.rotation = rotation
        self.timestamps = timestamps
        self.preset = preset
    }
}
