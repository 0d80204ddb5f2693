// Owns the AVFormatContext (and, for memory input, its AVIOContext) of one reader. Opening is
// bounded twice: probing reads at most `probeSize` bytes / `analyzeDuration` µs, and a deadline
// interrupt stops FFmpeg if input stalls. Everything allocated is freed in deinit, also when
// opening fails halfway.
import CFFmpeg

/// `AVERROR_INVALIDDATA`, another FFERRTAG macro.
let averrorINVALIDDATA: Int32 = -Int32(bitPattern: UInt32(0x49) | UInt32(0x4E) << 8 | UInt32(0x44) << 16 | UInt32(0x41) << 24)

final class Demuxer {
    let label: String
    let deadline: Deadline
    private(set) var format: UnsafeMutablePointer<AVFormatContext>?
    private var custom: (any CustomInput)?
    private(set) var streamIndex: Int32 = -1
    /// The input's bytes, to tell a cut-off file from a damaged one (nil for frame folders).
    private let window: ByteWindow?

    init(label: String, window: ByteWindow? = nil, deadline: Deadline = Deadline()) {
        self.label = label
        self.deadline = deadline
        self.window = window
    }

    /// The error for data that stops making sense: truncated when the container's own sizes say
    /// the file ends early, damaged when its structure is whole, and `otherwise` when the
    /// container's sizes cannot tell.
    func dataError(_ reason: String, otherwise: VideoError) -> VideoError {
        switch window.map(ContainerExtent.of) ?? .unknown {
        case .short(let declaredEnd, let size):
            .truncated(path: label, reason: "\(reason); the data ends at byte \(size) of \(declaredEnd)")
        case .complete: .damaged(path: label, reason: reason)
        case .unknown: otherwise
        }
    }

    deinit {
        avformat_close_input(&format)  // leaves a custom pb alone; its owner frees it
        custom?.close()
    }

    /// Opens `url` (or the custom input when given) and reads enough to know the streams.
    func open(url: String?, inputFormat: UnsafePointer<AVInputFormat>? = nil, settings: [String: String] = [:],
              custom: (any CustomInput)? = nil, head: [UInt8] = [], options: ReaderOptions) throws(VideoError) {
        guard var context = avformat_alloc_context() else { throw .readFailed(path: label, reason: "out of memory") }
        context.pointee.interrupt_callback = deadline.callback
        context.pointee.probesize = Int64(options.probeSize)
        context.pointee.max_analyze_duration = Int64(options.analyzeDuration)
        context.pointee.format_probesize = Int32(clamping: options.probeSize)
        if let custom {
            self.custom = custom
            context.pointee.pb = custom.context
            context.pointee.flags |= AVFMT_FLAG_CUSTOM_IO
        }
        var dictionary: OpaquePointer?
        for (key, value) in settings { av_dict_set(&dictionary, key, value, 0) }
        defer { av_dict_free(&dictionary) }
        deadline.start(seconds: options.timeout)
        defer { deadline.clear() }
        var opened: UnsafeMutablePointer<AVFormatContext>? = context
        let status = avformat_open_input(&opened, url, inputFormat, &dictionary)  // frees the context on failure
        guard status >= 0, let opened else { throw openError(status, during: "opening", head: head) }
        format = opened
        context = opened
        let found = avformat_find_stream_info(context, nil)
        if found < 0 { throw openError(found, during: "probing streams", head: head) }
    }

    /// Garbage and a damaged file both fail with "invalid data"; a file whose first bytes are
    /// unmistakably a known container (probe score above what an extension alone earns) is damaged.
    private func openError(_ status: Int32, during operation: String, head: [UInt8]) -> VideoError {
        if status == averrorEXIT || deadline.expired { return .timedOut(path: label, operation: operation) }
        if status == averrorENOENT { return .fileNotFound(path: label) }
        if status == averrorEOF {
            let reason = "\(operation) reached the end of the data"
            return dataError(reason, otherwise: .truncated(path: label, reason: reason))
        }
        if status == averrorINVALIDDATA {
            if let container = recognisedContainer(head) {
                let reason = "\(container) data does not parse: \(ffmpegErrorString(status))"
                return dataError(reason, otherwise: .damaged(path: label, reason: reason))
            }
            return .unrecognizedFormat(path: label, reason: ffmpegErrorString(status))
        }
        return .readFailed(path: label, reason: "\(operation): \(ffmpegErrorString(status))")
    }

    private func recognisedContainer(_ head: [UInt8]) -> String? {
        guard !head.isEmpty else { return nil }
        var padded = head + [UInt8](repeating: 0, count: Int(AVPROBE_PADDING_SIZE))
        var score: Int32 = 0
        let found = padded.withUnsafeMutableBufferPointer { buffer in
            "".withCString { name in
                var probe = AVProbeData(filename: name, buf: buffer.baseAddress, buf_size: Int32(head.count), mime_type: nil)
                return av_probe_input_format3(&probe, 1, &score)
            }
        }
        guard let found, score > AVPROBE_SCORE_EXTENSION else { return nil }
        return String(cString: found.pointee.name)
    }

    /// Picks the best video stream, makes the demuxer drop every other stream, and checks that it
    /// is decodable and not too large.
    func selectVideoStream(maxPixels: Int) throws(VideoError) -> UnsafeMutablePointer<AVStream> {
        guard let format else { throw .readFailed(path: label, reason: "not open") }
        let best = av_find_best_stream(format, AVMEDIA_TYPE_VIDEO, -1, -1, nil, 0)
        guard best >= 0, let stream = format.pointee.streams[Int(best)] else { throw .noVideoStream(path: label) }
        for i in 0..<Int(format.pointee.nb_streams) where i != Int(best) {
            format.pointee.streams[i]?.pointee.discard = AVDISCARD_ALL
        }
        streamIndex = best
        let parameters = stream.pointee.codecpar.pointee
        guard parameters.codec_id != AV_CODEC_ID_NONE, avcodec_find_decoder(parameters.codec_id) != nil else {
            let tag = withUnsafeBytes(of: parameters.codec_tag.littleEndian) { String(decoding: $0, as: UTF8.self) }
            throw .unsupportedCodec(path: label, codec: parameters.codec_id == AV_CODEC_ID_NONE
                                    ? "unknown (tag \(tag.debugDescription))" : codecName(parameters.codec_id))
        }
        let (w, h) = (Int(parameters.width), Int(parameters.height))
        if w <= 0 || h <= 0 { throw .unrecognizedFormat(path: label, reason: "video stream has no size") }
        if w * h > maxPixels { throw .tooLarge(path: label, width: w, height: h, maxPixels: maxPixels) }
        return stream
    }

    /// Repositions at the last keyframe whose timestamp is at or before `timestamp`.
    func seek(to timestamp: Int64) -> Int32 {
        av_seek_frame(format, streamIndex, timestamp, AVSEEK_FLAG_BACKWARD)
    }
}
