// Live sources against the file they stream: ffmpeg serves a synthetic clip over TCP and HTTP,
// the tests write it into named pipes and growing files, and every frame must come out as
// `VideoReader` decodes the file (count, times, pixels). Then the failure modes: stalls, a
// refused connection, a stop from another thread, a consumer too slow for its source.
// The ffmpeg command-line tool must be installed (`make deps`); without it these tests fail.
import Foundation
import Testing
@testable import Video
#if canImport(Glibc)
import Glibc
#endif

@Suite struct LiveSourceTests {
    init() { _ = quietFFmpeg }

    // MARK: - Network

    @Test func tcpStreamIsTheFile() throws {
        let clip = try LiveClip.shared()
        let port = try Listener().port                       // free once the listener is released
        let server = try Child(try requireFFmpeg(), ["-i", clip.mp4, "-c", "copy", "-f", "mpegts", "tcp://127.0.0.1:\(port)?listen=1"])
        let source = try openWhenListening("tcp://127.0.0.1:\(port)", LiveOptions(capacity: 1000))
        #expect(source.dropsFrames, "a network source drops when behind unless told otherwise")
        #expect(source.size == FrameSize(width: LiveClip.width, height: LiveClip.height) && abs(source.frameRate - 25) < 1e-9)
        let got = drain(source)
        #expect(got.ended && got.failure == nil, "\(String(describing: got.failure))")
        try expectFrames(got.frames, equal: clip.reference)
        #expect(source.counters.decoded == LiveClip.count && source.counters.dropped == 0)
        #expect(try source.next() == nil, "after the end, next() stays nil")
        #expect(server.wait(seconds: 10) == 0, "ffmpeg: \(server.log)")
    }

    /// Paced at the clip's own rate (`-re`), as a camera would send it.
    @Test func httpStreamIsTheFile() throws {
        let clip = try LiveClip.shared()
        let port = try Listener().port
        let server = try Child(try requireFFmpeg(), ["-re", "-i", clip.mp4, "-c", "copy", "-f", "mpegts", "-listen", "1",
                                                     "http://127.0.0.1:\(port)/live.ts"])
        let source = try openWhenListening("http://127.0.0.1:\(port)/live.ts", LiveOptions(capacity: 1000))
        let started = LiveSource.now()
        let got = drain(source)
        #expect(got.ended && got.failure == nil, "\(String(describing: got.failure))")
        try expectFrames(got.frames, equal: clip.reference)
        #expect(got.endTime - started < 10)
        #expect(server.wait(seconds: 10) == 0, "ffmpeg: \(server.log)")
    }

    /// With `reconnect`, a network stream that ends is opened again: two servers one after the
    /// other on the same port make one stream, its times continuing a frame after the first
    /// part's last. Once nobody listens, it gives up after `maxReconnects` attempts.
    @Test func reconnectJoinsTwoServersIntoOneStream() throws {
        let clip = try LiveClip.shared()
        let ffmpeg = try requireFFmpeg()
        let port = try Listener().port
        let serve = ["-i", clip.mp4, "-c", "copy", "-f", "mpegts", "tcp://127.0.0.1:\(port)?listen=1"]
        let first = try Child(ffmpeg, serve)
        var options = LiveOptions(capacity: 1000, stallTimeout: 5)
        (options.reconnect, options.maxReconnects) = (true, 2)
        let source = try openWhenListening("tcp://127.0.0.1:\(port)", options)
        source.start()
        // The first reconnection comes 0.5 s after the first server's end (a second attempt 1 s later).
        #expect(first.wait(seconds: 10) == 0, "ffmpeg: \(first.log)")
        let second = try Child(ffmpeg, serve)
        let got = drain(source)
        #expect(second.wait(seconds: 10) == 0, "ffmpeg: \(second.log)")
        guard case .readFailed(_, let reason)? = got.failure, reason.contains("gave up after 2") else {
            Issue.record("with nobody listening any more, the source should give up: \(String(describing: got.failure))"); return
        }
        #expect(source.counters.reconnects == 1 && source.counters.decoded == 2 * LiveClip.count)
        try #require(got.frames.count == 2 * LiveClip.count, "\(got.frames.count) frames from two servings of \(LiveClip.count)")
        try expectFrames(Array(got.frames.prefix(LiveClip.count)), equal: clip.reference)
        let offset = clip.reference.times.last! + 1.0 / 25
        let again = got.frames.suffix(LiveClip.count).map {
            LiveFrame(sequence: $0.sequence - LiveClip.count, time: $0.time - offset, arrival: $0.arrival, pixels: $0.pixels)
        }
        try expectFrames(again, equal: clip.reference)
    }

    // MARK: - Named pipes

    @Test func namedPipeIsTheFile() throws {
        let clip = try LiveClip.shared()
        let folder = TempFolder()
        let fifo = try makeFIFO(folder.file("in.ts"))
        let writer = try FIFOWriter(fifo, bytes: clip.tsBytes)
        let source = try LiveSource(.file(fifo), options: LiveOptions(stallTimeout: 5))
        #expect(!source.dropsFrames, "a pipe makes its writer wait rather than drop")
        #expect(writer.finish(within: 10), "the pipe's writer did not finish")   // the end of the stream, once read
        let got = drain(source)
        #expect(got.ended && got.failure == nil, "\(String(describing: got.failure))")
        try expectFrames(got.frames, equal: clip.reference)
    }

    /// `mkfifo p; motive predict --stream p & producer > p`: the reader opens the pipe before any
    /// writer has, and must wait for one (up to the stall timeout), as FFmpeg's own pipe protocol
    /// does by blocking in open(2).
    @Test func namedPipeOpenedBeforeItsWriterWaitsForIt() throws {
        let clip = try LiveClip.shared()
        let folder = TempFolder()
        let fifo = try makeFIFO(folder.file("late.ts"))
        // The writer opens the pipe 0.3 s from now (ffmpeg's open then blocks until a reader has it).
        let writer = try Child("/bin/sh", ["-c", "sleep 0.3 && exec \"$0\" \"$@\"", try requireFFmpeg(), "-v", "error", "-nostdin",
                                           "-i", clip.mp4, "-c", "copy", "-f", "mpegts", "-y", fifo])
        let source = try LiveSource(.file(fifo), options: LiveOptions(stallTimeout: 5))
        let got = drain(source)
        #expect(got.ended && got.failure == nil, "\(String(describing: got.failure))")
        try expectFrames(got.frames, equal: clip.reference)
        #expect(writer.wait(seconds: 10) == 0, "ffmpeg: \(writer.log)")
    }

    // MARK: - Stalls, ends, failures

    /// A server that accepts the connection and sends nothing: opening fails after the timeout.
    @Test func silentServerStalls() throws {
        let listener = try Listener()
        let url = "tcp://127.0.0.1:\(listener.port)"
        let started = LiveSource.now()
        let error = videoError { try LiveSource(LiveInput(url), options: LiveOptions(stallTimeout: 1)) }
        let took = LiveSource.now() - started
        #expect(error == .stalled(path: url, seconds: 1))
        #expect(took >= 0.9 && took < 5, "stalled after \(took) s")
    }

    /// A pipe whose writer sends a clip and then stays open, silent: the frames come, then `.stalled`.
    @Test func silentPipeStallsAfterItsFrames() throws {
        let clip = try LiveClip.shared()
        let folder = TempFolder()
        let fifo = try makeFIFO(folder.file("silent.ts"))
        let writer = try FIFOWriter(fifo, bytes: clip.tsBytes)
        let source = try LiveSource(.file(fifo), options: LiveOptions(stallTimeout: 1))
        let started = LiveSource.now()
        let got = drain(source)
        #expect(got.failure == .stalled(path: fifo, seconds: 1), "\(String(describing: got.failure))")
        #expect(!got.frames.isEmpty && got.frames.count <= LiveClip.count)
        // Frames still inside the decoder (reordering delay) may be lost; those that came are the file's.
        try expectFrames(got.frames, equal: clip.reference, prefixOnly: true)
        // Reading the clip takes milliseconds; then a second of silence. (The last frame may come
        // at the stall itself: the MPEG-TS demuxer hands over the packet it held when its read fails.)
        let took = got.endTime - started
        #expect(took >= 0.9 && took < 5, "stalled after \(took) s")
        #expect(videoError { try source.next() } == got.failure, "asked again, a failed source fails again")
        _ = writer
    }

    /// A pipe with a writer that never writes: opening stalls.
    @Test func silentPipeStallsWhenOpening() throws {
        let folder = TempFolder()
        let fifo = try makeFIFO(folder.file("empty.ts"))
        let writer = try FIFOWriter(fifo, bytes: [])
        let started = LiveSource.now()
        let error = videoError { try LiveSource(.file(fifo), options: LiveOptions(stallTimeout: 1)) }
        let took = LiveSource.now() - started
        #expect(error == .stalled(path: fifo, seconds: 1))
        #expect(took >= 0.9 && took < 5, "stalled after \(took) s")
        _ = writer
    }

    @Test func openingFailuresAreTyped() throws {
        let folder = TempFolder()
        let port = try Listener().port                         // nobody listens on it any more
        guard case .readFailed(let path, _) = videoError({ try LiveSource(.network("tcp://127.0.0.1:\(port)"), options: LiveOptions(stallTimeout: 2)) }) else {
            Issue.record("a refused connection did not fail with .readFailed"); return
        }
        #expect(path == "tcp://127.0.0.1:\(port)")
        let missing = folder.file("missing.ts")
        #expect(videoError { try LiveSource(.file(missing)) } == .fileNotFound(path: missing))
        guard case .readFailed(folder.path, _) = videoError({ try LiveSource(.file(folder.path)) }) else {
            Issue.record("a folder as a source did not fail with .readFailed"); return
        }
        guard case .unsupportedSource = videoError({ try LiveInput("ftp://example.com/live.ts") }) else {
            Issue.record("ftp:// was accepted"); return
        }
        let clip = try LiveClip.shared()
        for bad in [LiveOptions(capacity: 0), LiveOptions(stallTimeout: 0), LiveOptions(stallTimeout: .infinity), LiveOptions(stallTimeout: .nan)] {
            guard case .invalidArgument = videoError({ try LiveSource(.file(clip.ts), options: bad) }) else {
                Issue.record("capacity \(bad.capacity), stall timeout \(bad.stallTimeout) was accepted"); continue
            }
        }
    }

    @Test func dropsFramesByDefaultOnlyWhenLive() throws {
        let clip = try LiveClip.shared()
        #expect(try !LiveSource(.file(clip.ts)).dropsFrames)
        #expect(try LiveSource(.file(clip.ts), options: LiveOptions(realtime: true)).dropsFrames)
        #expect(try LiveSource(.file(clip.ts), options: LiveOptions(dropWhenBehind: true)).dropsFrames)
        #expect(LiveInput.network("tcp://h:1").isLive && LiveInput.device("/dev/video0").isLive)
    }

    // MARK: - Dropping, stopping, pacing, following

    /// A network source sending 250 frames a second to a consumer that takes a batch every 40 ms:
    /// the ring of 4 drops the oldest frames, every frame is counted once (taken or dropped), and
    /// memory does not grow with the stream.
    @Test func slowConsumerDropsWithFlatMemory() throws {
        let ffmpeg = try requireFFmpeg()
        let folder = TempFolder()
        let path = folder.file("long.ts")                    // 360 frames of 320×240: 83 MB of RGB in all
        try runToEnd(ffmpeg, ["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-frames:v", "360", "-c:v", "libx264",
                              "-preset", "ultrafast", "-g", "25", "-pix_fmt", "yuv420p", "-f", "mpegts", path])
        let frameCount = try VideoReader(path: path).frameCount
        let port = try Listener().port
        let server = try Child(ffmpeg, ["-readrate", "10", "-i", path, "-c", "copy", "-f", "mpegts", "tcp://127.0.0.1:\(port)?listen=1"])
        let source = try openWhenListening("tcp://127.0.0.1:\(port)", LiveOptions(capacity: 4))
        #expect(source.dropsFrames)
        var taken = 0, lastSequence = -1, lastDropped = 0, oversized = 0, disorder = 0
        var early: Int?, peak: Int?
        let got = drain(source, keepFrames: false) { batch in
            taken += batch.frames.count
            if batch.frames.count > 4 { oversized += 1 }
            for frame in batch.frames {
                if frame.sequence <= lastSequence { disorder += 1 }
                lastSequence = frame.sequence
            }
            if batch.dropped < lastDropped { disorder += 1 }
            lastDropped = batch.dropped
            // Resident memory once 50 frames are decoded, then its peak while the stream runs.
            let resident = LeakTests.residentBytes()
            if early == nil && lastSequence >= 50 { early = resident } else if early != nil { peak = max(peak ?? 0, resident ?? 0) }
            Thread.sleep(forTimeInterval: 0.04)                // the slow consumer
        }
        _ = server
        peak = max(peak ?? 0, LeakTests.residentBytes() ?? 0)
        #expect(got.ended && got.failure == nil, "\(String(describing: got.failure))")
        let counters = source.counters
        #expect(counters.decoded == frameCount, "decoded \(counters.decoded) of \(frameCount) frames")
        #expect(counters.dropped > 0 && taken + counters.dropped == counters.decoded,
                "taken \(taken) + dropped \(counters.dropped) ≠ decoded \(counters.decoded)")
        #expect(lastDropped == counters.dropped)
        #expect(oversized == 0 && disorder == 0)
        if let early, let peak {
            #expect(peak - early < 16 << 20, "resident memory grew by \(peak - early) bytes over the stream")
        } else {
            Issue.record("no resident memory figures (/proc/self/statm)")
        }
    }

    @Test func stopEndsABlockedPipeRead() throws {
        let clip = try LiveClip.shared()
        let folder = TempFolder()
        let fifo = try makeFIFO(folder.file("held.ts"))
        let writer = try FIFOWriter(fifo, bytes: clip.tsBytes)         // then silent, never closed
        try expectStopEndsABlockedRead(try LiveSource(.file(fifo), options: LiveOptions(stallTimeout: 30)))
        _ = writer
    }

    @Test func stopEndsABlockedNetworkRead() throws {
        let clip = try LiveClip.shared()
        let port = try Listener().port
        let server = try Child(try requireFFmpeg(), ["-re", "-i", clip.mp4, "-c", "copy", "-f", "mpegts", "tcp://127.0.0.1:\(port)?listen=1"])
        try expectStopEndsABlockedRead(try openWhenListening("tcp://127.0.0.1:\(port)", LiveOptions(stallTimeout: 30)))
        _ = server
    }

    @Test func stopBeforeStartEndsTheSource() throws {
        let clip = try LiveClip.shared()
        let source = try LiveSource(.file(clip.ts))
        source.stop()
        source.start()                                         // no start after a stop
        #expect(try source.next() == nil)
        #expect(source.counters.decoded == 0)
        // Stopping again, as deinit does, must return too. It runs on a thread of its own that
        // holds the source, so that a hang stays there (and deinit never runs on this one).
        let again = StopRecord()
        Thread.detachNewThread {
            let start = LiveSource.now()
            source.stop()
            again.set(start: start, end: LiveSource.now())
        }
        #expect(again.wait(seconds: 2) != nil, "a second stop() had not returned after 2 s")
    }

    /// A source released while it runs (its consumer gone without `stop()`): `deinit` stops it,
    /// so that its thread, connection and ring go too.
    @Test func releasingARunningSourceStopsIt() throws {
        let clip = try LiveClip.shared()
        let folder = TempFolder()
        let fifo = try makeFIFO(folder.file("released.ts"))
        let writer = try FIFOWriter(fifo, bytes: clip.tsBytes)         // then silent, never closed
        weak var released: LiveSource?
        do {
            let source = try LiveSource(.file(fifo), options: LiveOptions(capacity: 2, stallTimeout: 30))
            source.start()
            _ = try source.next()
            released = source
        }
        let deadline = Date().addingTimeInterval(2)
        while released != nil && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        #expect(released == nil, "the source is still alive 2 s after its last reference went")
        released?.stop()                                       // what deinit does, should the check fail
        _ = writer
    }

    /// `stop()` from another thread while the consumer waits in `next()` and the decoder in a read:
    /// both return within 2 s, and `next()` then returns nil (a stop is not a failure).
    private func expectStopEndsABlockedRead(_ source: LiveSource, sourceLocation: SourceLocation = #_sourceLocation) throws {
        source.start()
        _ = try #require(try source.next(), "no frames before the stop", sourceLocation: sourceLocation)
        let stopper = StopRecord()
        Thread.detachNewThread {
            Thread.sleep(forTimeInterval: 0.3)
            let start = LiveSource.now()
            source.stop()
            stopper.set(start: start, end: LiveSource.now())
        }
        let got = drain(source)
        let (stopStart, stopEnd) = try #require(stopper.wait(seconds: 10), "stop() did not return", sourceLocation: sourceLocation)
        #expect(got.ended && got.failure == nil, "\(String(describing: got.failure))", sourceLocation: sourceLocation)
        #expect(stopEnd - stopStart < 2, "stop() took \(stopEnd - stopStart) s", sourceLocation: sourceLocation)
        #expect(got.endTime - stopStart < 2, "next() returned \(got.endTime - stopStart) s after stop()", sourceLocation: sourceLocation)
        #expect(try source.next() == nil, sourceLocation: sourceLocation)
    }

    /// A 25 fps file read in real time takes as long as it plays.
    @Test func realtimePacesAFile() throws {
        let clip = try LiveClip.shared()
        let source = try LiveSource(.file(clip.ts), options: LiveOptions(realtime: true))
        let started = LiveSource.now()
        let got = drain(source)
        let took = got.endTime - started, plays = Double(LiveClip.count) / 25
        #expect(got.ended && got.failure == nil)
        try expectFrames(got.frames, equal: clip.reference)
        #expect(took >= 0.8 * plays && took < 2 * plays + 1, "\(LiveClip.count) frames at 25 fps took \(took) s")
        if let first = got.frames.first, let last = got.frames.last {
            #expect(last.arrival - first.arrival >= 0.8 * last.time, "frames arrived faster than they play")
        }
    }

    /// A file written as it is read (a recorder's output): followed to its last frame, it ends
    /// once it has not grown for the stall timeout.
    @Test func followedFileIsReadAsItGrows() throws {
        let clip = try LiveClip.shared()
        let folder = TempFolder()
        let path = folder.file("growing.ts")
        let bytes = clip.tsBytes, third = bytes.count / 3
        try Data(bytes[..<third]).write(to: URL(fileURLWithPath: path))
        let appender = Appender(path: path, chunks: [Array(bytes[third..<(2 * third)]), Array(bytes[(2 * third)...])], every: 0.3)
        let source = try LiveSource(.file(path), options: LiveOptions(stallTimeout: 1, follow: true))
        let got = drain(source)
        let lastWrite = try #require(appender.wait(seconds: 10), "the appender did not finish")
        #expect(got.ended && got.failure == nil, "\(String(describing: got.failure))")
        try expectFrames(got.frames, equal: clip.reference)
        let idle = got.endTime - lastWrite
        #expect(idle >= 0.9 && idle < 5, "ended \(idle) s after the file last grew")
    }
}

@Suite struct LiveInputTests {
    @Test func standardInputDevicesAndFiles() throws {
        #expect(try LiveInput("-") == .standardInput)
        #expect(try LiveInput("/dev/video0") == .device("/dev/video0"))
        #expect(try LiveInput("/dev/null") == .file("/dev/null"))
        #expect(try LiveInput("clip.ts") == .file("clip.ts"))
        #expect(try LiveInput("./-") == .file("./-"))
        #expect(try LiveInput("/data/a:b.ts") == .file("/data/a:b.ts"))
        #expect(LiveInput.standardInput.description == "<stdin>" && !LiveInput.standardInput.isLive)
        #expect(!LiveInput.file("x.ts").isLive && LiveInput.device("/dev/video1").isLive)
        #expect(LiveInput.standardInput.endpoint == nil && LiveInput.file("x.ts").endpoint == nil)
        guard case .unsupportedSource = videoError({ try LiveInput("") }) else { Issue.record("an empty source was accepted"); return }
    }

    @Test func networkSchemes() throws {
        #expect(LiveInput.networkSchemes == ["rtsp", "rtsps", "rtmp", "rtmps", "http", "https", "udp", "tcp", "srt", "rtp"])
        for scheme in LiveInput.networkSchemes {
            let url = "\(scheme)://127.0.0.1:5000/live"
            #expect(try LiveInput(url) == .network(url))
            #expect(try LiveInput(url).isLive && LiveInput.network(url).description == url)
        }
        #expect(try LiveInput("RTSP://Camera.local/stream") == .network("RTSP://Camera.local/stream"))
        for refused in ["ftp://host/x.ts", "file:///tmp/x.ts", "unix:///tmp/socket", "concat://a|b", "://host", "data://x"] {
            guard case .unsupportedSource(let path, _) = videoError({ try LiveInput(refused) }) else {
                Issue.record("\(refused) was accepted"); continue
            }
            #expect(path == refused)
        }
    }

    @Test func endpointsTakeTheSchemesDefaultPorts() throws {
        func endpoint(_ url: String) throws -> (String, Int?)? { try LiveInput(url).endpoint.map { ($0.host, $0.port) } }
        let cases: [(String, String, Int?)] = [
            ("rtsp://cam.local/stream", "cam.local", 554), ("rtsps://cam.local/s", "cam.local", 322),
            ("rtmp://live.example.com/app/key", "live.example.com", 1935), ("rtmps://live.example.com/app", "live.example.com", 443),
            ("http://127.0.0.1/live.ts", "127.0.0.1", 80), ("https://example.com/live.m3u8", "example.com", 443),
            ("rtsp://cam.local:8554/stream", "cam.local", 8554), ("tcp://127.0.0.1:9000", "127.0.0.1", 9000),
            ("udp://239.0.0.1:1234", "239.0.0.1", 1234), ("srt://example.com", "example.com", nil),
            ("RTSP://Cam.Local/x", "cam.local", 554), ("rtsp://user:secret@10.0.0.5/x", "10.0.0.5", 554),
        ]
        for (url, host, port) in cases {
            let got = try #require(try endpoint(url), "\(url) has no endpoint")
            #expect(got.0 == host && got.1 == port, "\(url): \(got)")
        }
    }
}

// MARK: - The clip, and reading a source

/// The clip every stream test serves: 40 frames of 96×64 H.264 (with B-frames) at 25 fps, as an
/// MP4 and remuxed (no re-encoding) into MPEG-TS, made once per test process.
private struct LiveClip: Sendable {
    static let count = 40, width = 96, height = 64
    let mp4: String
    let ts: String
    let tsBytes: [UInt8]
    let reference: Reference

    /// What `VideoReader` makes of the MP4: the frames a live source of it must deliver.
    struct Reference: Sendable {
        /// Seconds from the first frame.
        let times: [Double]
        let frames: FrameStack
    }

    private static let made: Result<LiveClip, any Error> = Result {
        _ = quietFFmpeg
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("motive-live-\(getpid())").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let mp4 = folder + "/clip.mp4", ts = folder + "/clip.ts"
        try writeClip(mp4, count: count, width: width, height: height, options: EncodeOptions(codec: .h264, gop: 12, bFrames: 2))
        guard let ffmpeg = ffmpegPath else { throw LiveTestError("ffmpeg is not installed") }
        try runToEnd(ffmpeg, ["-i", mp4, "-c", "copy", "-f", "mpegts", ts])
        let reader = try VideoReader(path: mp4)
        let reference = Reference(times: reader.timestamps.map { $0 - reader.timestamps[0] }, frames: try reader.decodeAll())
        guard reference.frames.count == count else { throw LiveTestError("the clip has \(reference.frames.count) frames, not \(count)") }
        return LiveClip(mp4: mp4, ts: ts, tsBytes: try [UInt8](Data(contentsOf: URL(fileURLWithPath: ts))), reference: reference)
    }

    static func shared() throws -> LiveClip {
        _ = try requireFFmpeg()
        return try made.get()
    }
}

private struct LiveTestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The ffmpeg command-line tool on PATH.
private let ffmpegPath: String? = {
    let folders = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":")
    return folders.map { "\($0)/ffmpeg" }.first { FileManager.default.isExecutableFile(atPath: $0) }
}()

/// ffmpeg, or a failed test saying how to get it.
private func requireFFmpeg(sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
    try #require(ffmpegPath, "ffmpeg is not installed (make deps installs it): the live-stream tests serve, pipe and remux video with it",
                 sourceLocation: sourceLocation)
}

/// Runs ffmpeg quietly to the end (at most 30 s); throws with its log unless it succeeds.
private func runToEnd(_ ffmpeg: String, _ arguments: [String]) throws {
    let child = try Child(ffmpeg, ["-y"] + arguments)
    guard child.wait(seconds: 30) == 0 else { throw LiveTestError("ffmpeg \(arguments.joined(separator: " ")) failed: \(child.log)") }
}

/// What one consumer took from a source until it ended, failed or was stopped by the watchdog.
private struct Drained {
    var frames: [LiveFrame] = []
    var ended = false
    var failure: VideoError?
    /// `LiveSource.now()` when `next()` returned nil or threw.
    var endTime = 0.0
}

/// Takes batches until the end or a failure; a watchdog stops the source after `limit` seconds
/// (a test failure), so that no test can hang.
private func drain(_ source: LiveSource, keepFrames: Bool = true, limit: Double = 20, sourceLocation: SourceLocation = #_sourceLocation,
           each: (LiveBatch) -> Void = { _ in }) -> Drained {
    let fired = StopRecord()
    let watchdog = DispatchWorkItem { fired.set(start: 0, end: 0); source.stop() }
    DispatchQueue.global().asyncAfter(deadline: .now() + limit, execute: watchdog)
    defer { watchdog.cancel() }
    source.start()
    var result = Drained()
    do throws(VideoError) {
        while let batch = try source.next() {
            if keepFrames { result.frames += batch.frames }
            each(batch)
        }
        result.ended = true
    } catch {
        result.failure = error
    }
    result.endTime = LiveSource.now()
    if fired.wait(seconds: 0) != nil { Issue.record("the source did not end within \(limit) s", sourceLocation: sourceLocation) }
    return result
}

/// Frames equal to the reference's: as many (or, with `prefixOnly`, its first ones), in order,
/// at the same times from the first (to 1e-6 s), with the same pixels bit for bit.
private func expectFrames(_ frames: [LiveFrame], equal reference: LiveClip.Reference, prefixOnly: Bool = false,
                  sourceLocation: SourceLocation = #_sourceLocation) throws {
    if prefixOnly {
        try #require(frames.count <= reference.frames.count, "\(frames.count) frames from a clip of \(reference.frames.count)", sourceLocation: sourceLocation)
    } else {
        try #require(frames.count == reference.frames.count, "\(frames.count) frames, the file has \(reference.frames.count)", sourceLocation: sourceLocation)
    }
    var sequences: [Int] = [], times: [String] = [], pixels: [Int] = []
    for (i, frame) in frames.enumerated() {
        if frame.sequence != i { sequences.append(i) }
        if abs(frame.time - reference.times[i]) > 1e-6 { times.append("\(i): \(frame.time) ≠ \(reference.times[i])") }
        if frame.pixels != reference.frames.frame(i).pixels { pixels.append(i) }
    }
    #expect(sequences.isEmpty, "frames out of sequence at \(sequences.prefix(8))", sourceLocation: sourceLocation)
    #expect(times.isEmpty, "times differ: \(times.prefix(8))", sourceLocation: sourceLocation)
    #expect(pixels.isEmpty, "pixels differ in frames \(pixels.prefix(8))", sourceLocation: sourceLocation)
}

/// A network source opened once its server listens: a refused connection is retried for up to
/// 10 s (ffmpeg takes a moment to start listening).
private func openWhenListening(_ url: String, _ options: LiveOptions) throws -> LiveSource {
    let deadline = Date().addingTimeInterval(10)
    while true {
        let failure: VideoError
        do throws(VideoError) { return try LiveSource(LiveInput(url), options: options) } catch { failure = error }
        guard case .readFailed = failure, Date() < deadline else { throw failure }
        Thread.sleep(forTimeInterval: 0.05)
    }
}

extension LiveOptions {
    fileprivate init(capacity: Int = 64, stallTimeout: Double = 10, realtime: Bool = false, dropWhenBehind: Bool? = nil, follow: Bool = false) {
        self.init()
        (self.capacity, self.stallTimeout, self.realtime, self.dropWhenBehind, self.follow) = (capacity, stallTimeout, realtime, dropWhenBehind, follow)
    }
}

// MARK: - Processes, sockets, pipes

/// A child process, quiet, killed if still running when released: a failing test leaves none behind.
private final class Child {
    private let process = Process()
    private let logPath = FileManager.default.temporaryDirectory.appendingPathComponent("motive-child-\(UUID().uuidString).log").path
    private var launched = false

    /// Runs `path` with `arguments` (ffmpeg gets `-v error -nostdin` first); its standard error goes to `log`.
    init(_ path: String, _ arguments: [String]) throws {
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = path.hasSuffix("/ffmpeg") ? ["-v", "error", "-nostdin"] + arguments : arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        process.standardError = FileHandle(forWritingAtPath: logPath)
        try process.run()
        launched = true
    }

    /// Its exit status, or nil if it had not exited within `seconds` (it is then killed).
    func wait(seconds: Double) -> Int32? {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return nil
        }
        process.waitUntilExit()
        return process.terminationReason == .exit ? process.terminationStatus : 128 + process.terminationStatus
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    deinit {
        if launched {
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: logPath)
    }
}

/// A loopback TCP socket that listens and never accepts: the kernel completes a client's
/// handshake, and then nothing is ever sent. Released, its port is free for a server to take.
private final class Listener {
    let port: Int
    private let fd: Int32

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw LiveTestError("socket: \(String(cString: strerror(errno)))") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && listen(fd, 8) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { Glibc.close(fd); throw LiveTestError("cannot listen on loopback: \(String(cString: strerror(errno)))") }
        (self.fd, port) = (fd, Int(UInt16(bigEndian: address.sin_port)))
    }

    deinit { Glibc.close(fd) }
}

private func makeFIFO(_ path: String) throws -> String {
    guard mkfifo(path, 0o600) == 0 else { throw LiveTestError("mkfifo \(path): \(String(cString: strerror(errno)))") }
    return path
}

/// The writing end of a named pipe, opened read-write so that the pipe has a writer from the
/// start (a reader then waits for data instead of seeing the end). Writes `bytes` on a thread of
/// its own, then keeps the pipe open and silent until `finish` or release.
private final class FIFOWriter {
    private let fd: Int32
    private var closed = false
    private let cancelled = StopRecord()
    private let written = StopRecord()

    init(_ path: String, bytes: [UInt8]) throws {
        fd = Glibc.open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw LiveTestError("open \(path): \(String(cString: strerror(errno)))") }
        Thread.detachNewThread { [fd, cancelled, written] in
            var offset = 0
            let deadline = Date().addingTimeInterval(30)
            while offset < bytes.count && cancelled.wait(seconds: 0) == nil && Date() < deadline {
                let n = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
                if n > 0 { offset += n; continue }
                guard n < 0 && (errno == EAGAIN || errno == EINTR) else { break }
                var request = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                _ = poll(&request, 1, 50)
            }
            written.set(start: 0, end: LiveSource.now())
        }
    }

    /// Waits until every byte is in the pipe, then closes it: the reader sees the end after them.
    func finish(within seconds: Double) -> Bool {
        let done = written.wait(seconds: seconds) != nil
        close()
        return done
    }

    private func close() {
        cancelled.set(start: 0, end: 0)
        _ = written.wait(seconds: 5)                           // the thread stops within 50 ms
        if !closed { closed = true; Glibc.close(fd) }
    }

    deinit { close() }
}

/// Appends chunks to a file, one every `every` seconds, on a thread of its own.
private final class Appender: @unchecked Sendable {
    private let done = StopRecord()

    init(path: String, chunks: [[UInt8]], every seconds: Double) {
        Thread.detachNewThread { [done] in
            for chunk in chunks {
                Thread.sleep(forTimeInterval: seconds)
                guard let handle = FileHandle(forWritingAtPath: path) else { break }
                handle.seekToEndOfFile()
                handle.write(Data(chunk))
                try? handle.close()
            }
            done.set(start: 0, end: LiveSource.now())
        }
    }

    /// `LiveSource.now()` of the last write, once all are written.
    func wait(seconds: Double) -> Double? { done.wait(seconds: seconds)?.end }
}

/// A pair of times set once, from another thread.
private final class StopRecord: @unchecked Sendable {
    private let lock = NSLock()
    private var value: (start: Double, end: Double)?
    private let set = DispatchSemaphore(value: 0)

    func set(start: Double, end: Double) {
        lock.withLock { value = (start, end) }
        set.signal()
    }

    /// The times once set, waiting up to `seconds`; nil if not set by then.
    func wait(seconds: Double) -> (start: Double, end: Double)? {
        guard set.wait(timeout: .now() + seconds) == .success else { return nil }
        set.signal()
        return lock.withLock { value }
    }
}
