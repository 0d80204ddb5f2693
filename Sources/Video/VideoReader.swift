// Opening a video for frame-exact reading: demux once to index every packet, then decode on demand.
import CFFmpeg
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads frames of the first video stream by presentation-order index.
///
/// Opening demuxes the whole stream once (no decoding) to count frames exactly and to map each
/// frame index to its timestamp; `frames(at:)` then seeks to keyframes and decodes forward.
/// A reader holds FFmpeg state that is not thread-safe, so it is not `Sendable`: use one reader
/// per thread (opening several readers of the same file is fine).
public final class VideoReader {
    public let info: VideoInfo
    /// Presentation time of each frame in seconds, in frame order.
    public let timestamps: [Double]
    public let options: ReaderOptions
    /// The file path (or `<memory>`, or the frame-folder pattern) named in errors.
    public var source: String { demuxer.label }
    public var frameCount: Int { index.count }

    let demuxer: Demuxer
    let decoder: Decoder
    let index: PacketIndex
    let scaler = Scaler()
    /// Pictures the decoder has returned so far (wanted or not), for measuring skipped work.
    var picturesDecoded = 0

    public convenience init(path: String, options: ReaderOptions = .init()) throws(VideoError) {
        var status = stat()
        guard stat(path, &status) == 0 else { throw .fileNotFound(path: path) }
        if status.st_size == 0 { throw .emptyInput(path: path) }
        let demuxer = Demuxer(label: path, window: ByteWindow(path: path, size: Int(status.st_size)))
        try demuxer.open(url: path, head: fileHead(path), options: options)
        try self.init(demuxer: demuxer, options: options)
    }

    /// Decodes from bytes in memory through a custom AVIOContext (read and seek callbacks).
    public convenience init(bytes: [UInt8], options: ReaderOptions = .init()) throws(VideoError) {
        let label = "<memory>"
        if bytes.isEmpty { throw .emptyInput(path: label) }
        let demuxer = Demuxer(label: label, window: ByteWindow(bytes: bytes))
        try demuxer.open(url: nil, custom: try MemorySource(bytes: bytes), head: Array(bytes.prefix(4096)), options: options)
        try self.init(demuxer: demuxer, options: options)
    }

    /// Reads numbered images (`template` is a printf pattern such as `img_%05d.jpg`) with the image2 demuxer.
    public convenience init(frameFolder: String, template: String = "img_%05d.jpg", startNumber: Int = 1,
                            options: ReaderOptions = .init()) throws(VideoError) {
        let pattern = frameFolder.hasSuffix("/") ? frameFolder + template : frameFolder + "/" + template
        let demuxer = Demuxer(label: pattern)
        do {
            try demuxer.open(url: pattern, inputFormat: av_find_input_format("image2"),
                             settings: ["start_number": String(startNumber), "pattern_type": "sequence",
                                        "framerate": "25"],
                             options: options)
        } catch .fileNotFound, .readFailed {
            throw .noFrames(path: pattern)
        }
        try self.init(demuxer: demuxer, options: options)
    }

    private init(demuxer: Demuxer, options: ReaderOptions) throws(VideoError) {
        let stream = try demuxer.selectVideoStream(maxPixels: options.maxPixels)
        let decoder = Decoder()
        try decoder.open(stream: stream, threads: options.threads, label: demuxer.label)
        defer { demuxer.deadline.clear() }
        let index: PacketIndex
        do {
            index = try PacketIndex(format: demuxer.format!, stream: demuxer.streamIndex,
                                    deadline: demuxer.deadline, timeout: options.timeout, path: demuxer.label)
        } catch .truncated(_, let reason) {
            throw demuxer.dataError(reason, otherwise: .truncated(path: demuxer.label, reason: reason))
        }
        let timeBase = av_q2d(stream.pointee.time_base)
        let timestamps = index.pts.map { Double($0) * timeBase }
        if let reason = VideoReader.truncation(index: index, timestamps: timestamps, stream: stream,
                                               format: demuxer.format!) {
            throw demuxer.dataError(reason, otherwise: .truncated(path: demuxer.label, reason: reason))
        }
        if index.count == 0 { throw .noFrames(path: demuxer.label) }
        self.demuxer = demuxer
        self.decoder = decoder
        self.index = index
        self.options = options
        self.timestamps = timestamps
        self.info = VideoReader.describe(stream: stream, format: demuxer.format!, timestamps: timestamps)
    }

    /// Evidence that the stream stops early: a short packet, fewer packets than the header
    /// declares, or (single-stream files) a declared duration well past the last frame. A file cut
    /// exactly between Matroska blocks of a multi-stream file leaves no evidence and reads as shorter.
    private static func truncation(index: PacketIndex, timestamps: [Double], stream: UnsafeMutablePointer<AVStream>,
                                   format: UnsafeMutablePointer<AVFormatContext>) -> String? {
        if index.sawCorruptPacket { return "a packet ends early after \(index.count) frames" }
        let declared = Int(stream.pointee.nb_frames)
        if declared > 0 && index.packetsRead < declared {
            return "\(index.packetsRead) of \(declared) declared packets present"
        }
        let duration = format.pointee.duration
        guard format.pointee.nb_streams == 1, duration != noPTS, duration > 0 else { return nil }
        let declaredSeconds = Double(duration) / Double(AV_TIME_BASE)
        let rate = av_q2d(stream.pointee.avg_frame_rate)
        let interval = rate > 0 ? 1 / rate : 0.04
        let end = (timestamps.last ?? 0) - (timestamps.first ?? 0) + interval
        if declaredSeconds - end > max(3 * interval, 0.02 * declaredSeconds) {
            func ms(_ t: Double) -> Double { (t * 1000).rounded() / 1000 }
            return "frames end at \(ms(end)) s of a declared \(ms(declaredSeconds)) s"
        }
        return nil
    }

    private static func describe(stream: UnsafeMutablePointer<AVStream>, format: UnsafeMutablePointer<AVFormatContext>,
                                 timestamps: [Double]) -> VideoInfo {
        let s = stream.pointee, parameters = s.codecpar.pointee
        func rate(_ q: AVRational) -> Double { q.den == 0 ? 0 : av_q2d(q) }
        var duration: Double
        if s.duration != noPTS && s.duration > 0 {
            duration = Double(s.duration) * av_q2d(s.time_base)
        } else if format.pointee.duration != noPTS && format.pointee.duration > 0 {
            duration = Double(format.pointee.duration) / Double(AV_TIME_BASE)
        } else {
            let step = timestamps.count > 1 ? (timestamps.last! - timestamps.first!) / Double(timestamps.count - 1) : 0
            duration = (timestamps.last ?? 0) - (timestamps.first ?? 0) + step
        }
        return VideoInfo(codec: codecName(parameters.codec_id), width: Int(parameters.width),
                         height: Int(parameters.height), averageFrameRate: rate(s.avg_frame_rate),
                         realFrameRate: rate(s.r_frame_rate), duration: duration,
                         pixelFormat: pixelFormatName(parameters.format), rotation: rotation(of: stream),
                         frameCount: timestamps.count)
    }
}

/// Up to the first 4 KiB of a file, for recognising damaged containers.
private func fileHead(_ path: String) -> [UInt8] {
    guard let file = fopen(path, "rb") else { return [] }
    defer { fclose(file) }
    var head = [UInt8](repeating: 0, count: 4096)
    let n = fread(&head, 1, head.count, file)
    return Array(head.prefix(n))
}

/// Clockwise display rotation from the stream's display matrix, snapped to 0, 90, 180 or 270.
/// (The matrix stores a counter-clockwise angle, hence the sign flip.)
func rotation(of stream: UnsafeMutablePointer<AVStream>) -> Int {
    var size: Int = 0
    guard let data = av_stream_get_side_data(stream, AV_PKT_DATA_DISPLAYMATRIX, &size), size >= 36 else { return 0 }
    let angle = data.withMemoryRebound(to: Int32.self, capacity: 9) { av_display_rotation_get($0) }
    guard angle.isFinite else { return 0 }
    let degrees = (Int((-angle).rounded()) % 360 + 360) % 360
    return (degrees + 45) / 90 * 90 % 360
}
