// Encoding RGB24 frames to a file: swscale converts to the encoder's YUV format, libavcodec
// encodes, libavformat muxes. The container comes from the path extension (.mp4 .mkv .webm .avi).
import CFFmpeg

/// Writes RGB24 frames of one size to a video file. Not thread-safe (not `Sendable`): one writer per thread.
public final class VideoWriter {
    public let path: String
    public let width: Int
    public let height: Int
    public let options: EncodeOptions
    /// The codec actually encoded: `options.codec`, or `.mpeg4` when that encoder is missing.
    public private(set) var codecUsed: VideoCodec
    public private(set) var framesWritten = 0

    private var format: UnsafeMutablePointer<AVFormatContext>?
    private var codec: UnsafeMutablePointer<AVCodecContext>?
    private var stream: UnsafeMutablePointer<AVStream>?
    private var frame: UnsafeMutablePointer<AVFrame>?
    private var packet: UnsafeMutablePointer<AVPacket>?
    private var converter: OpaquePointer?
    /// One RGB frame plus zeroed slack for swscale's over-reads.
    private lazy var paddedFrame = [UInt8](repeating: 0, count: width * height * 3 + 64)
    private var headerWritten = false
    private var finished = false
    private var lastPTS: Int64 = .min
    /// `options.timestamps` in milliseconds (the time base of variable-rate files).
    private let millis: [Int64]

    public init(path: String, width: Int, height: Int, options: EncodeOptions = .init()) throws(VideoError) {
        self.path = path
        self.width = width
        self.height = height
        self.options = options
        self.codecUsed = options.codec
        self.millis = (options.timestamps ?? []).map { Int64(($0 * 1000).rounded()) }
        guard width > 0, height > 0 else { throw .invalidArgument("frame size \(width)×\(height)") }
        guard options.fps > 0, options.gop > 0, options.bFrames >= 0, options.quality >= 0 else {
            throw .invalidArgument("fps \(options.fps), gop \(options.gop), bFrames \(options.bFrames), quality \(options.quality)")
        }
        guard options.rotation % 90 == 0 else { throw .invalidArgument("rotation \(options.rotation) is not a multiple of 90") }
        try open()
    }

    deinit {
        if headerWritten && !finished { try? finish() }
        sws_freeContext(converter)
        av_frame_free(&frame)
        av_packet_free(&packet)
        avcodec_free_context(&codec)
        if let format {
            if format.pointee.oformat.pointee.flags & AVFMT_NOFILE == 0 { avio_closep(&format.pointee.pb) }
            avformat_free_context(format)
        }
    }

    private func open() throws(VideoError) {
        var context: UnsafeMutablePointer<AVFormatContext>?
        guard avformat_alloc_output_context2(&context, nil, nil, path) >= 0, let context else {
            throw .unsupportedContainer(path: path, reason: "no muxer for this file extension")
        }
        format = context
        var encoder = avcodec_find_encoder_by_name(options.codec.encoderName)
        if encoder == nil {
            codecUsed = .mpeg4
            encoder = avcodec_find_encoder_by_name(VideoCodec.mpeg4.encoderName)
        }
        guard let encoder else { throw .encoderUnavailable(codec: options.codec.encoderName) }
        if avformat_query_codec(context.pointee.oformat, encoder.pointee.id, FF_COMPLIANCE_NORMAL) == 0 {
            throw .unsupportedContainer(path: path, reason: "\(String(cString: context.pointee.oformat.pointee.name)) cannot hold \(codecUsed.rawValue)")
        }
        guard let codec = avcodec_alloc_context3(encoder), let frame = av_frame_alloc(), let packet = av_packet_alloc() else {
            throw .encodeFailed(path: path, reason: "out of memory")
        }
        self.codec = codec
        self.frame = frame
        self.packet = packet
        let pixelFormat = chooseFormat(encoder)
        try configure(codec, pixelFormat: pixelFormat)
        if context.pointee.oformat.pointee.flags & AVFMT_GLOBALHEADER != 0 {
            codec.pointee.flags |= AV_CODEC_FLAG_GLOBAL_HEADER
        }
        var settings = encoderSettings()
        defer { av_dict_free(&settings) }
        var status = avcodec_open2(codec, encoder, &settings)
        if status < 0 { throw .encodeFailed(path: path, reason: "opening \(encoder.pointee.name.map { String(cString: $0) } ?? "encoder"): \(ffmpegErrorString(status))") }

        guard let stream = avformat_new_stream(context, nil) else { throw .encodeFailed(path: path, reason: "out of memory") }
        self.stream = stream
        avcodec_parameters_from_context(stream.pointee.codecpar, codec)
        stream.pointee.time_base = codec.pointee.time_base
        if options.timestamps == nil { stream.pointee.avg_frame_rate = AVRational(num: Int32(options.fps), den: 1) }
        if options.rotation % 360 != 0,
           let matrix = av_stream_new_side_data(stream, AV_PKT_DATA_DISPLAYMATRIX, 9 * MemoryLayout<Int32>.size) {
            // av_display_rotation_set takes a clockwise angle (av_display_rotation_get answers counter-clockwise).
            matrix.withMemoryRebound(to: Int32.self, capacity: 9) { av_display_rotation_set($0, Double(options.rotation)) }
        }
        if context.pointee.oformat.pointee.flags & AVFMT_NOFILE == 0 {
            status = avio_open(&context.pointee.pb, path, AVIO_FLAG_WRITE)
            if status < 0 { throw .writeFailed(path: path, reason: ffmpegErrorString(status)) }
        }
        status = avformat_write_header(context, nil)
        if status < 0 { throw .writeFailed(path: path, reason: "header: \(ffmpegErrorString(status))") }
        headerWritten = true

        frame.pointee.format = pixelFormat.rawValue
        frame.pointee.width = Int32(width)
        frame.pointee.height = Int32(height)
        frame.pointee.color_range = codec.pointee.color_range
        status = av_frame_get_buffer(frame, 0)
        if status < 0 { throw .encodeFailed(path: path, reason: ffmpegErrorString(status)) }
        converter = sws_getContext(Int32(width), Int32(height), AV_PIX_FMT_RGB24, Int32(width), Int32(height),
                                   pixelFormat, Scaler.flags | Int32(SWS_ACCURATE_RND | SWS_BITEXACT), nil, nil, nil)
        if converter == nil { throw .encodeFailed(path: path, reason: "no RGB → \(pixelFormatName(pixelFormat.rawValue)) conversion") }
    }

    /// 4:2:0 unless a dimension is odd (x264 refuses odd 4:2:0), then 4:4:4 where the encoder has it;
    /// always in the encoder's own order of preference, so MJPEG gets its full-range "yuvj" formats.
    private func chooseFormat(_ encoder: UnsafePointer<AVCodec>) -> AVPixelFormat {
        var supported: [AVPixelFormat] = []
        if var p = encoder.pointee.pix_fmts {
            while p.pointee != AV_PIX_FMT_NONE { supported.append(p.pointee); p += 1 }
        }
        let odd = width % 2 == 1 || height % 2 == 1
        let preferences = odd ? [[AV_PIX_FMT_YUV444P, AV_PIX_FMT_YUVJ444P], [AV_PIX_FMT_YUV420P, AV_PIX_FMT_YUVJ420P]]
                              : [[AV_PIX_FMT_YUV420P, AV_PIX_FMT_YUVJ420P]]
        for wanted in preferences {
            if let match = supported.first(where: wanted.contains) { return match }
        }
        return supported.first ?? AV_PIX_FMT_YUV420P
    }

    private func configure(_ codec: UnsafeMutablePointer<AVCodecContext>, pixelFormat: AVPixelFormat) throws(VideoError) {
        let c = codec
        c.pointee.width = Int32(width)
        c.pointee.height = Int32(height)
        c.pointee.pix_fmt = pixelFormat
        if pixelFormat == AV_PIX_FMT_YUVJ420P || pixelFormat == AV_PIX_FMT_YUVJ444P { c.pointee.color_range = AVCOL_RANGE_JPEG }
        c.pointee.framerate = AVRational(num: Int32(options.fps), den: 1)
        c.pointee.time_base = options.timestamps == nil ? AVRational(num: 1, den: Int32(options.fps))
                                                        : AVRational(num: 1, den: 1000)
        c.pointee.gop_size = Int32(options.gop)
        c.pointee.thread_count = Int32(max(0, options.threads))
        c.pointee.max_b_frames = codecUsed.usesBFrames ? Int32(options.bFrames) : 0
        switch codecUsed {
        case .mpeg4, .mjpeg:
            c.pointee.flags |= AV_CODEC_FLAG_QSCALE
            c.pointee.global_quality = FF_QP2LAMBDA * Int32(min(31, max(2, options.quality / 5)))
        case .vp9:
            c.pointee.bit_rate = 0  // with "crf": constant quality
        case .h264, .hevc:
            break
        }
    }

    /// Encoder-private options: quality, preset, speed and quiet logs.
    private func encoderSettings() -> OpaquePointer? {
        var settings: OpaquePointer?
        switch codecUsed {
        case .h264, .hevc:
            av_dict_set(&settings, "crf", String(options.quality), 0)
            if let preset = options.preset { av_dict_set(&settings, "preset", preset, 0) }
            if codecUsed == .hevc { av_dict_set(&settings, "x265-params", "log-level=error", 0) }
        case .vp9:
            av_dict_set(&settings, "crf", String(min(63, options.quality)), 0)
            av_dict_set(&settings, "deadline", "good", 0)
            av_dict_set(&settings, "cpu-used", "5", 0)
        case .mpeg4, .mjpeg:
            break
        }
        return settings
    }

    /// Encodes `frames`, RGB24 of exactly width × height.
    public func append(_ frames: FrameStack) throws(VideoError) {
        guard !finished else { throw .invalidArgument("\(path): append after finish") }
        guard frames.width == width, frames.height == height else {
            throw .invalidArgument("\(path): frames are \(frames.width)×\(frames.height), the writer \(width)×\(height)")
        }
        guard let frame, let codec else { throw .encodeFailed(path: path, reason: "writer not open") }
        for i in 0..<frames.count {
            let pts = try nextPTS()
            var status = av_frame_make_writable(frame)
            if status < 0 { throw .encodeFailed(path: path, reason: ffmpegErrorString(status)) }
            // swscale's SIMD loads read up to 16 bytes past the last row, so the frame goes through
            // a copy with zeroed padding: reading past the caller's array would make the output
            // depend on whatever lies there.
            frames.pixels.withUnsafeBufferPointer { rgb in
                paddedFrame.withUnsafeMutableBufferPointer {
                    $0.baseAddress!.update(from: rgb.baseAddress! + i * frames.frameBytes, count: frames.frameBytes)
                }
            }
            let rows = paddedFrame.withUnsafeBufferPointer { rgb in
                var source: UnsafePointer<UInt8>? = rgb.baseAddress!
                var stride = Int32(width * 3)
                return withUnsafeMutablePointer(to: &frame.pointee.data) { data in
                    withUnsafeMutablePointer(to: &frame.pointee.linesize) { linesize in
                        sws_scale(converter, &source, &stride, 0, Int32(height),
                                  UnsafeRawPointer(data).assumingMemoryBound(to: UnsafeMutablePointer<UInt8>?.self),
                                  UnsafeRawPointer(linesize).assumingMemoryBound(to: Int32.self))
                    }
                }
            }
            if rows != Int32(height) { throw .encodeFailed(path: path, reason: "colour conversion failed") }
            frame.pointee.pts = pts
            status = avcodec_send_frame(codec, frame)
            if status < 0 { throw .encodeFailed(path: path, reason: "frame \(framesWritten): \(ffmpegErrorString(status))") }
            framesWritten += 1
            try drain()
        }
    }

    private func nextPTS() throws(VideoError) -> Int64 {
        guard let times = options.timestamps else { return Int64(framesWritten) }
        guard framesWritten < times.count else {
            throw .invalidArgument("\(path): frame \(framesWritten) has no timestamp (\(times.count) given)")
        }
        let pts = millis[framesWritten]
        guard pts > lastPTS else {
            throw .invalidArgument("\(path): timestamp \(times[framesWritten]) of frame \(framesWritten) does not increase")
        }
        lastPTS = pts
        return pts
    }

    /// How long the frame at `pts` is shown, in codec time base. Encoders leave it unset for
    /// variable-rate input, and MP4's edit list would then cut the last frame.
    private func duration(ofFrameAt pts: Int64) -> Int64 {
        guard !millis.isEmpty else { return 1 }
        var lo = 0, hi = millis.count - 1
        while lo < hi { let mid = (lo + hi) / 2; if millis[mid] < pts { lo = mid + 1 } else { hi = mid } }
        if lo + 1 < millis.count && millis[lo] == pts { return millis[lo + 1] - pts }
        return max(1, Int64((1000 / Double(options.fps)).rounded()))
    }

    /// Moves every packet the encoder has ready into the file.
    private func drain() throws(VideoError) {
        guard let codec, let packet, let stream else { return }
        while true {
            var status = avcodec_receive_packet(codec, packet)
            if status == averrorEAGAIN || status == averrorEOF { return }
            if status < 0 { throw .encodeFailed(path: path, reason: ffmpegErrorString(status)) }
            if packet.pointee.duration <= 0 { packet.pointee.duration = duration(ofFrameAt: packet.pointee.pts) }
            av_packet_rescale_ts(packet, codec.pointee.time_base, stream.pointee.time_base)
            packet.pointee.stream_index = stream.pointee.index
            status = av_interleaved_write_frame(format, packet)  // takes the packet's data
            if status < 0 { throw .writeFailed(path: path, reason: ffmpegErrorString(status)) }
        }
    }

    /// Flushes the encoder and writes the trailer. Called (ignoring errors) on deinit if you do not.
    public func finish() throws(VideoError) {
        guard headerWritten, !finished else { return }
        finished = true
        avcodec_send_frame(codec, nil)
        try drain()
        let status = av_write_trailer(format)
        if status < 0 { throw .writeFailed(path: path, reason: "trailer: \(ffmpegErrorString(status))") }
        if let format, format.pointee.oformat.pointee.flags & AVFMT_NOFILE == 0 { avio_closep(&format.pointee.pb) }
    }
}
