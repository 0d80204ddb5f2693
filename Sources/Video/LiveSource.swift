// Decoding a source that has no index and no end: a network stream, standard input, a named
// pipe, a growing file or a capture device. Where `VideoReader` indexes a whole file and seeks,
// a live source decodes forward on a thread of its own into a small ring of recent frames, from
// which one consumer takes what is new.
import CFFmpeg
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Where a live stream comes from, parsed from what a user types.
public enum LiveInput: Sendable, Equatable, CustomStringConvertible {
    /// A URL FFmpeg opens itself: rtsp, rtsps, rtmp, rtmps, http, https, udp, tcp, srt or rtp.
    case network(String)
    /// `-`: any container FFmpeg can read from a pipe (MPEG-TS, Matroska, raw H.264…).
    case standardInput
    /// A regular file (followed as it grows when `LiveOptions.follow`) or a named pipe.
    case file(String)
    /// A V4L2 capture device such as `/dev/video0`.
    case device(String)

    public static let networkSchemes: Set<String> = ["rtsp", "rtsps", "rtmp", "rtmps", "http", "https", "udp", "tcp", "srt", "rtp"]

    /// `-`, a `scheme://` URL, a `/dev/video…` device, or a file path.
    public init(_ text: String) throws(VideoError) {
        if text == "-" { self = .standardInput; return }
        if let range = text.range(of: "://") {
            let scheme = text[..<range.lowerBound].lowercased()
            guard Self.networkSchemes.contains(scheme) else {
                throw .unsupportedSource(path: text, reason: "scheme \(scheme) is not one of \(Self.networkSchemes.sorted().joined(separator: ", "))")
            }
            self = .network(text)
            return
        }
        guard !text.isEmpty else { throw .unsupportedSource(path: text, reason: "an empty source") }
        self = text.hasPrefix("/dev/video") ? .device(text) : .file(text)
    }

    public var description: String {
        switch self {
        case .network(let url): url
        case .standardInput: "<stdin>"
        case .file(let path), .device(let path): path
        }
    }

    /// A network source's host and port (the scheme's default port when the URL has none).
    public var endpoint: (host: String, port: Int?)? {
        guard case .network(let url) = self, let parts = URLComponents(string: url) else { return nil }
        let defaults = ["rtsp": 554, "rtsps": 322, "rtmp": 1935, "rtmps": 443, "http": 80, "https": 443]
        return ((parts.host ?? "").lowercased(), parts.port ?? parts.scheme.flatMap { defaults[$0.lowercased()] })
    }

    /// Network sources and devices run at their own pace; files and pipes can be read as fast as
    /// they are consumed.
    public var isLive: Bool {
        switch self {
        case .network, .device: true
        case .standardInput, .file: false
        }
    }
}

/// How a live source is read.
public struct LiveOptions: Sendable {
    /// Frames the ring holds; when the consumer falls behind, the oldest are dropped (or, for a
    /// source that does not drop, the decoder waits).
    public var capacity = 64
    /// Seconds a read may wait for data before the source fails with `.stalled`.
    public var stallTimeout = 10.0
    /// Reopen a network source that fails or ends, up to `maxReconnects` times in a row, waiting
    /// 0.5, 1, 2, 4, 8 … s (at most 8) before each attempt.
    public var reconnect = false
    public var maxReconnects = 5
    /// Deliver frames no faster than their timestamps: a file or pipe then behaves like a camera.
    public var realtime = false
    /// Drop the oldest frames when the ring is full (true), or make the decoder wait (false).
    /// nil: live sources and real-time reading drop, files and pipes wait.
    public var dropWhenBehind: Bool?
    /// A file: keep reading as it grows; it ends once it has not grown for `stallTimeout` seconds.
    public var follow = false
    /// Decoder threads: 1 keeps latency low and leaves the cores to inference; 0 lets FFmpeg choose.
    public var decoderThreads = 1
    /// Decode-bomb guard, as `ReaderOptions.maxPixels`.
    public var maxPixels = 8192 * 4320
    /// Bytes and microseconds FFmpeg may read while probing: small, so that opening a paced
    /// stream does not wait seconds for it.
    public var probeSize = 1_000_000
    public var analyzeDuration = 1_000_000

    public init() {}
}

/// One decoded frame of a live source.
public struct LiveFrame: Sendable {
    /// Frames decoded before this one (dropped ones included).
    public let sequence: Int
    /// Seconds from the first frame, from the stream's presentation timestamps.
    public let time: Double
    /// When it was decoded, in monotonic seconds (`LiveSource.now()`).
    public let arrival: Double
    /// height · width · 3 bytes of RGB.
    public let pixels: [UInt8]
}

/// What the consumer takes at once: every frame that arrived since the last call.
public struct LiveBatch: Sendable {
    public let frames: [LiveFrame]
    /// Frames dropped so far, from the start of the stream.
    public let dropped: Int
}

/// A live source being decoded. `start()` starts the decoding thread; one consumer calls `next()`
/// until it returns nil (the end) or throws (a failure); `stop()`, from any thread, ends both.
/// Memory stays bounded however long the stream runs: the ring holds at most `capacity` frames.
public final class LiveSource: Sendable {
    private let decoder: LiveDecoder

    public var input: LiveInput { decoder.input }
    public var options: LiveOptions { decoder.options }
    /// The size frames have, after the display rotation. Frames of another size later in the
    /// stream are scaled to it.
    public var size: FrameSize { decoder.size }
    /// The stream's average frame rate, 0 when it does not say.
    public var frameRate: Double { decoder.frameRate }
    public var codec: String { decoder.codec }
    /// Whether a full ring drops its oldest frame (else the decoder waits).
    public var dropsFrames: Bool { decoder.dropsFrames }

    /// The current monotonic time in seconds, the clock of `LiveFrame.arrival`.
    public static func now() -> Double { monotonicSeconds() }

    /// Opens `input` and reads enough of it to know its video stream; fails with a typed error
    /// when it cannot be opened within the stall timeout.
    public init(_ input: LiveInput, options: LiveOptions = .init()) throws(VideoError) {
        decoder = try LiveDecoder(input, options: options)
    }

    /// Releasing a source stops it: the decoding thread holds only the decoder, never this handle.
    deinit { decoder.stop() }

    /// Starts decoding on a thread of its own (once; never after `stop()`).
    public func start() { decoder.start() }

    /// Waits for frames newer than those already taken and returns them all, oldest first; nil
    /// once the stream has ended (or was stopped) and every frame was taken. A failure is thrown
    /// after the frames decoded before it.
    public func next() throws(VideoError) -> LiveBatch? { try decoder.next() }

    /// Ends decoding (a blocked read returns at once) and waits for the thread to finish. `next()`
    /// then returns nil.
    public func stop() { decoder.stop() }

    /// Frames decoded and dropped, and reconnections, so far.
    public var counters: (decoded: Int, dropped: Int, reconnects: Int) { decoder.counters }
}

/// The state of a live source and its decoding thread, which holds it while it runs.
private final class LiveDecoder: @unchecked Sendable {
    let input: LiveInput
    let options: LiveOptions
    let size: FrameSize
    let frameRate: Double
    let codec: String
    let dropsFrames: Bool

    private let condition = NSCondition()
    private var ring: [LiveFrame] = []
    private var decodedCount = 0, droppedCount = 0, reconnectCount = 0
    private var outcome: Result<Void, VideoError>?
    private var stopped = false
    private let done = DispatchSemaphore(value: 0)
    /// No thread starts after this is set (by `start()` or `stop()`).
    private var started = false
    /// A decoding thread was started, so `stop()` waits for it.
    private var threadStarted = false

    /// Shared by every connection: `stop()` cancels it, which ends a blocked read at once.
    private let deadline = Deadline()
    // Owned by the decoding thread once it starts.
    private var connection: Connection
    private let scaler = Scaler()
    private let rotation: Int

    init(_ input: LiveInput, options: LiveOptions) throws(VideoError) {
        guard options.capacity >= 1, options.stallTimeout > 0, options.stallTimeout.isFinite else {
            throw .invalidArgument("a live source needs a ring of at least one frame and a finite, positive stall timeout")
        }
        self.input = input
        self.options = options
        connection = try Connection(input, options: options, deadline: deadline)
        let stream = connection.stream.pointee, parameters = stream.codecpar.pointee
        rotation = Video.rotation(of: connection.stream)
        let (w, h) = (Int(parameters.width), Int(parameters.height))
        size = rotation % 180 == 0 ? FrameSize(width: w, height: h) : FrameSize(width: h, height: w)
        frameRate = stream.avg_frame_rate.den == 0 ? 0 : av_q2d(stream.avg_frame_rate)
        codec = codecName(parameters.codec_id)
        dropsFrames = options.dropWhenBehind ?? (input.isLive || options.realtime)
    }

    // start, next, stop and counters: as `LiveSource` documents them.

    func start() {
        condition.lock()
        defer { condition.unlock() }
        guard !started, !stopped else { return }
        started = true
        threadStarted = true
        let thread = Thread { [self] in
            let result: Result<Void, VideoError>
            do throws(VideoError) { try decodeLoop(); result = .success(()) } catch { result = .failure(error) }
            condition.lock()
            if outcome == nil { outcome = result }
            condition.broadcast()
            condition.unlock()
            done.signal()
        }
        thread.name = "motive-live"
        thread.start()
    }

    func next() throws(VideoError) -> LiveBatch? {
        condition.lock()
        defer { condition.unlock() }
        while ring.isEmpty && outcome == nil && !stopped { condition.wait() }
        if !ring.isEmpty {
            let frames = ring
            ring.removeAll(keepingCapacity: true)
            condition.broadcast()                          // a waiting decoder may go on
            return LiveBatch(frames: frames, dropped: droppedCount)
        }
        if case .failure(let error) = outcome, !stopped { throw error }
        return nil
    }

    func stop() {
        deadline.cancel()
        condition.lock()
        stopped = true
        let running = threadStarted
        started = true                                     // no start after a stop
        condition.broadcast()
        condition.unlock()
        if running { done.wait(); done.signal() }          // leave it signalled for another stop()
    }

    var counters: (decoded: Int, dropped: Int, reconnects: Int) {
        condition.lock()
        defer { condition.unlock() }
        return (decodedCount, droppedCount, reconnectCount)
    }

    // MARK: - The decoding thread

    private var isStopped: Bool {
        condition.lock()
        defer { condition.unlock() }
        return stopped
    }

    private func decodeLoop() throws(VideoError) {
        var clock = Timeline(frameRate: frameRate)
        var failures = 0
        while !isStopped {
            do {
                try readConnection(&clock)
                guard canReconnect else { return }          // the end of the stream
            } catch {
                if isStopped { return }
                guard canReconnect else { throw error }
            }
            failures += 1
            guard failures <= options.maxReconnects else {
                throw .readFailed(path: input.description, reason: "gave up after \(options.maxReconnects) reconnections")
            }
            if !pause(seconds: min(8, 0.5 * pow(2, Double(failures - 1)))) { return }
            do {
                connection = try Connection(input, options: options, deadline: deadline)
                clock.reconnected()
                condition.lock(); reconnectCount += 1; condition.unlock()
                failures = 0
            } catch {
                if isStopped { return }
                continue                                      // counts as another failure
            }
        }
    }

    private var canReconnect: Bool {
        if case .network = input { return options.reconnect && !isStopped }
        return false
    }

    /// Reads packets until the connection ends (returns) or fails (throws).
    private func readConnection(_ clock: inout Timeline) throws(VideoError) {
        let c = connection
        guard let codec = c.decoder.context, let packet = c.decoder.packet, let picture = c.decoder.frame else {
            throw .decodeFailed(path: input.description, frame: clock.count, reason: "decoder not open")
        }
        let timeBase = av_q2d(c.stream.pointee.time_base)
        func receive() throws(VideoError) {
            while true {
                let status = avcodec_receive_frame(codec, picture)
                if status == averrorEAGAIN || status == averrorEOF { return }
                if status < 0 { throw .decodeFailed(path: input.description, frame: clock.count, reason: ffmpegErrorString(status)) }
                defer { av_frame_unref(picture) }
                try deliver(picture, time: clock.time(of: picture.pointee.best_effort_timestamp, timeBase: timeBase))
            }
        }
        while !isStopped {
            if options.follow, case .file = input { c.deadline.clear() } else { c.deadline.start(seconds: options.stallTimeout) }
            let status = av_read_frame(c.demuxer.format, packet)
            if status == averrorEOF {
                avcodec_send_packet(codec, nil)
                try receive()
                return
            }
            if status < 0 {
                if c.deadline.isCancelled { return }
                if status == averrorEXIT { throw .stalled(path: input.description, seconds: options.stallTimeout) }
                throw .readFailed(path: input.description, reason: ffmpegErrorString(status))
            }
            defer { av_packet_unref(packet) }
            guard packet.pointee.stream_index == c.demuxer.streamIndex else { continue }
            let sent = avcodec_send_packet(codec, packet)
            // A damaged packet in a live stream is skipped, as players do; the next keyframe recovers.
            if sent < 0 && sent != averrorEAGAIN && sent != averrorINVALIDDATA {
                throw .decodeFailed(path: input.description, frame: clock.count, reason: ffmpegErrorString(sent))
            }
            try receive()
        }
    }

    /// Converts one picture and puts it in the ring, pacing it first in real-time mode.
    private func deliver(_ picture: UnsafeMutablePointer<AVFrame>, time: Double) throws(VideoError) {
        let pixels = Int(picture.pointee.width) * Int(picture.pointee.height)
        if pixels > options.maxPixels {
            throw .tooLarge(path: input.description, width: Int(picture.pointee.width), height: Int(picture.pointee.height),
                            maxPixels: options.maxPixels)
        }
        if options.realtime && !pace(until: time) { return }
        var bytes = [UInt8](repeating: 0, count: size.width * size.height * 3)
        let converted = bytes.withUnsafeMutableBufferPointer { scaler.convert(picture, to: size, rotation: rotation, into: $0.baseAddress!) }
        guard converted else {
            throw .decodeFailed(path: input.description, frame: decodedCount,
                                reason: "cannot convert \(pixelFormatName(picture.pointee.format)) to RGB")
        }
        condition.lock()
        defer { condition.unlock() }
        while ring.count >= options.capacity && !stopped {
            if dropsFrames {
                ring.removeFirst()
                droppedCount += 1
            } else {
                condition.wait()
            }
        }
        guard !stopped else { return }
        ring.append(LiveFrame(sequence: decodedCount, time: time, arrival: monotonicSeconds(), pixels: bytes))
        decodedCount += 1
        condition.broadcast()
    }

    /// Real time: the wall clock of the first frame, against which later frames are paced.
    private var paceStart: (wall: Double, stream: Double)?

    /// Sleeps until `time` is due; false when stopped meanwhile.
    private func pace(until time: Double) -> Bool {
        let now = monotonicSeconds()
        guard let start = paceStart else { paceStart = (now, time); return true }
        return pause(seconds: start.wall + (time - start.stream) - now)
    }

    /// Waits `seconds` unless stopped first; false when stopped.
    private func pause(seconds: Double) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        let until = Date(timeIntervalSinceNow: max(0, seconds))
        while !stopped && Date() < until { _ = condition.wait(until: until) }
        return !stopped
    }
}

/// Frame times in seconds from the first frame: from presentation timestamps, continued across
/// reconnections (a new connection's first frame follows the last one by a frame interval).
private struct Timeline {
    let interval: Double
    private(set) var count = 0
    private var firstPTS: Int64?
    private var offset = 0.0
    private var last: Double?

    init(frameRate: Double) { interval = frameRate > 0 ? 1 / frameRate : 0.04 }

    mutating func time(of pts: Int64, timeBase: Double) -> Double {
        count += 1
        let t: Double
        if pts == noPTS {
            t = (last ?? -interval) + interval
        } else {
            if firstPTS == nil { firstPTS = pts; offset = last.map { $0 + interval } ?? 0 }
            t = offset + Double(pts - firstPTS!) * timeBase
        }
        last = t
        return t
    }

    mutating func reconnected() { firstPTS = nil }
}

/// One opened input: the demuxer with its stream, the decoder.
private final class Connection {
    let demuxer: Demuxer
    let decoder = Decoder()
    let stream: UnsafeMutablePointer<AVStream>
    var deadline: Deadline { demuxer.deadline }

    private static let devicesRegistered: Bool = { avdevice_register_all(); return true }()

    init(_ input: LiveInput, options: LiveOptions, deadline: Deadline) throws(VideoError) {
        let label = input.description
        demuxer = Demuxer(label: label, deadline: deadline)
        let reader = ReaderOptions(maxPixels: options.maxPixels, threads: options.decoderThreads, autoRotate: true,
                                   discardNonReference: false, timeout: options.stallTimeout,
                                   probeSize: options.probeSize, analyzeDuration: options.analyzeDuration)
        do {
            try Self.open(input, demuxer: demuxer, options: options, reader: reader)
        } catch .timedOut {
            throw .stalled(path: label, seconds: options.stallTimeout)
        }
        stream = try demuxer.selectVideoStream(maxPixels: options.maxPixels)
        try decoder.open(stream: stream, threads: options.decoderThreads, label: label)
        demuxer.deadline.clear()
    }

    private static func open(_ input: LiveInput, demuxer: Demuxer, options: LiveOptions, reader: ReaderOptions) throws(VideoError) {
        switch input {
        case .network(let url):
            try demuxer.open(url: url, options: reader)
        case .standardInput:
            try demuxer.open(url: nil, custom: try DescriptorInput.standardInput(deadline: demuxer.deadline), options: reader)
        case .file(let path):
            try demuxer.open(url: nil, custom: try DescriptorInput.open(path: path, followIdle: options.follow ? options.stallTimeout : nil,
                                                                         deadline: demuxer.deadline),
                             options: reader)
        case .device(let path):
            _ = Self.devicesRegistered
            guard let format = av_find_input_format("v4l2") else {
                throw .unsupportedSource(path: path, reason: "this FFmpeg build has no v4l2 input device")
            }
            try demuxer.open(url: path, inputFormat: format, options: reader)
        }
    }
}
