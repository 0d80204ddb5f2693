// Live sources against the file they stream: ffmpeg serves a synthetic clip over TCP and HTTP,
// the tests write it into named pipes and growing files, and every frame must come out as
// `VideoReader` decodes the file (count, times, pixels). Then the failure modes: stalls, a
// refused connection, a stop from another thread, a consumer too slow for its source.
// The ffmpeg command-line tool must be installed (`make deps`); without it these tests fail.
//
// Every test shares Swift's cooperative pool (a thread per core) with every other test in the
// process, so nothing here blocks a pool thread for long: opening a source (which waits for its
// stream), draining it and waiting for a process run on threads of their own (`onThread`), and
// so does whatever is timed; what helper threads record is polled with `Task.sleep`. The
// expectations stay in the test's own task.
import Foundation
import Synchronization
import Testing
@testable import Video
#if canImport(Glibc)
import Glibc
#endif

// One test at a time: each runs ffmpeg and a decoder beside the other suites, on two cores.
@Suite(.serialized) struct LiveSourceTests {
    init() { _ = quietFFmpeg }

    // MARK: - Network

    @Test func tcpStreamIsTheFile() async throws {
        let clip = try await LiveClip.shared()
        let port = try Listener().port                       // free once the listener is released
        let server = try Child(try requireFFmpeg(), ["-i", clip.mp4, "-c", "copy", "-f", "mpegts", "tcp://127.0.0.1:\(port)?listen=1"])
        let source = try await openWhenListening("tcp://127.0.0.1:\(port)", LiveOptions(capacity: 1000))
        #expect(source.dropsFrames, "a network source drops when behind unless told otherwise")
        #expect(source.size == FrameSize(width: LiveClip.width, height: LiveClip.height) && abs(source.frameRate - 25) < 1e-9)
        let got = try await drain(source)
        #expect(got.ended && got.failure == nil, "\(String(describing: got.failure))")
        try expectFrames(got.frames, equal: clip.reference)
        #expect(source.counters.decoded == LiveClip.count && source.counters.dropped == 0)
        #expect(try source.next() == nil, "after the end, next() stays nil")
        let status = try await server.wait(seconds: 10)
        #expect(status == 0, "ffmpeg: \(server.log)")
    }

    /// Paced at the clip's own rate (`-re`), as a camera would send it.
    @Test func httpStreamIsTheFile() async throws {
        let clip = try await LiveClip.shared()
        let port = try Listener().port
        let server = try Child(try requireFFmpeg(), ["-re", "-i", clip.mp4, "-c", "copy", "-f", "mpegts", "-listen", "1",
                                                     "http://127.0.0.1:\(port)/live.ts"])
        let source = try await openWhenListening("http://127.0.0.1:\(port)/live.ts", LiveOptions(capacity: 1000))
        let started = LiveSource.now()
        let got = try await drain(source)
        #expect(got.ended && got.failure == nil, "\(String(describing: got.failure))")
        try expectFrames(got.frames, equal: clip.reference)
        #expect(got.endTime - started < 10)
        let status = try await server.wait(seconds: 10)
        #expect(status == 0, "ffmpeg: \(server.log)")
    }

    /// With `reconnect`, a network stream that ends is opened again: two servers one after the
    /// other on the same port make one stream, its times continuing a frame after the first
    /// part's last. Once nobody listens, it gives up after `maxReconnects` attempts.
    @Test func reconnectJoinsTwoServersIntoOneStream() async throws {
        let clip = try await LiveClip.shared()
        let ffmpeg = try requireFFmpeg()
        let port = try Listener().port
        let serve = ["-i", clip.mp4, "-c", "copy", "-f", "mpegts", "tcp://127.0.0.1:\(port)?listen=1"]
        let first = try Child(ffmpeg, serve)
        var options = LiveOptions(capacity: 1000, stallTimeout: 5)
        (options.reconnect, options.maxReconnects) = (true, 2)
        let source = try await openWhenListening("tcp://127.0.0.1:\(port)", options)
        source.start()
        // The first reconnection comes 0.5 s after the first server's end (a second attempt 1 s
        // later): the second server starts as soon as the first has exited, from a thread of its
        // own, with no turn on the busy pool to wait for in between.
        let (firstStatus, second) = try await onThread { (first.waitHere(seconds: 10), try Child(ffmpeg, serve)) }
        #expect(firstStatus == 0, "ffmpeg: \(first.log)")
        let got = try await drain(source)
        let secondStatus = try await second.wait(seconds: 10)
        #expect(secondStatus == 0, "ffmpeg: \(second.log)")
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

    @Test func namedPipeIsTheFile() async throws {
        let clip = try await LiveClip.shared()
        let folder = TempFolder()
        let fifo = try makeFIFO(folder.file("in.ts"))
        let writer = try FIFOWriter(fifo, bytes: clip.tsBytes)
        let source = try await openSource(.file(fifo), LiveOptions(stallTimeout: 5))
        #expect(!source.dropsFrames, "a pipe makes its writer wait rather than drop")
        let finished = try await writer.finish(within: 10)       // the end of the stream, once read
        #expect(finished, "the pipe's writer did not finish")
        let got = try await drain(source)
        #expect(got.ended && got.failure == nil, "\(String(describing: got.failure))")
        try expectFrames(got.frames, equal: clip.reference)
    }

    /// `mkfifo p; motive predict --stream p & producer > p`: the reader opens the pipe before any
    /// writer has, and must wait for one (up to the stall timeout), as FFmpeg's own pipe protocol
    /// does by blocking in open(2).
    @Test func namedPipeOpenedBeforeItsWriterWaitsForIt() async throws {
        let clip = try await LiveClip.shared()
        let folder = TempFolder()
        let fifo = try makeFIFO(folder.file("late.ts"))
        // The writer opens the pipe 0.3 s from now (ffmpeg's open then blocks until a reader has it).
        let writer = try Child("/bin/sh", ["-c", "sleep 0.3 && exec \"$0\" \"$@\"", try requireFFmpeg(), "-v", "error", "-nostdin",
                                           "-i", clip.mp4, "-c", "copy", "-f", "mpegts", "-y", fifo])
        let source = try await openSource(.file(fifo), LiveOptions(stallTimeout: 5))
        let got = try await drain(source)
        #expect(got.ended && got.failure == nil, "\(String(describing: got.failure))")
        try expectFrames(got.frames, equal: clip.reference)
        let status = try await writer.wait(seconds: 10)
        #expect(status == 0, "ffmpeg: \(writer.log)")
    }

    // MARK: - Stalls, ends, failures

    /// A server that accepts the connection and sends nothing: opening fails after the timeout.
    @Test func silentServerStalls() async throws {
        let listener = try Listener()
        let url = "tcp://127.0.0.1:\(listener.port)"
        let opening = try await openingFailure(try LiveInput(url), LiveOptions(stallTimeout: 1))
        #expect(opening.error == .stalled(path: url, seconds: 1))
        #expect(opening.seconds >= 0.9 && opening.seconds < 5, "stalled after \(opening.seconds) s")
        withExtendedLifetime(listener) {}
    }

    /// A pipe whose writer sends a clip and then stays open, silent: the frames come, then `.stalled`.
    @Test func silentPipeStallsAfterItsFrames() async throws {
        let clip = try await LiveClip.shared()
        let folder = TempFolder()
        let fifo = try makeFIFO(folder.file("silent.ts"))
        let writer = try FIFOWriter(fifo, bytes: clip.tsBytes)
        let source = try await openSource(.file(fifo), LiveOptions(stallTimeout: 1))
        let started = LiveSource.now()
        let got = try await drain(source)
        #expect(got.failure == .stalled(path: fifo, seconds: 1), "\(String(describing: got.failure))")
        #expect(!got.frames.isEmpty && got.frames.count <= LiveClip.count)
        // Frames still inside the decoder (reordering delay) may be lost; those that came are the file's.
        try expectFrames(got.frames, equal: clip.reference, prefixOnly: true)
        // Reading the clip takes milliseconds; then a second of silence. (The last frame may come
        // at the stall itself: the MPEG-TS demuxer hands over the packet it held when its read fails.)
        let took = got.endTime - started
        #expect(took >= 0.9 && took < 5, "stalled after \(took) s")
        #expect(videoError { try source.next() } == got.failure, "asked again, a failed source fails again")
        withExtendedLifetime(writer) {}
    }

    /// A pipe with a writer that never writes: opening stalls.
    @Test func silentPipeStallsWhenOpening() async throws {
        let folder = TempFolder()
        let fifo = try makeFIFO(folder.file("empty.ts"))
        let writer = try FIFOWriter(fifo, bytes: [])
        let opening = try await openingFailure(.file(fifo), LiveOptions(stallTimeout: 1))
        #expect(opening.error == .stalled(path: fifo, seconds: 1))
        #expect(opening.seconds >= 0.9 && opening.seconds < 5, "stalled after \(opening.seconds) s")
        withExtendedLifetime(writer) {}
    }

    @Test func openingFailuresAreTyped() async throws {
        let folder = TempFolder()
        let port = try Listener().port                         // nobody listens on it any more
        guard case .readFailed(let path, _)? = try await openingFailure(.network("tcp://127.0.0.1:\(port)"), LiveOptions(stallTimeout: 2)).error else {
            Issue.record("a refused connection did not fail with .readFailed"); return
        }
        #expect(path == "tcp://127.0.0.1:\(port)")
        let missing = folder.file("missing.ts")
        #expect(try await openingFailure(.file(missing)).error == .fileNotFound(path: missing))
        guard case .readFailed(folder.path, _)? = try await openingFailure(.file(folder.path)).error else {
            Issue.record("a folder as a source did not fail with .readFailed"); return
        }
        guard case .unsupportedSource = videoError({ try LiveInput("ftp://example.com/live.ts") }) else {
            Issue.record("ftp:// was accepted"); return
        }
        let clip = try await LiveClip.shared()
        for bad in [LiveOptions(capacity: 0), LiveOptions(stallTimeout: 0), LiveOptions(stallTimeout: .infinity), LiveOptions(stallTimeout: .nan)] {
            guard case .invalidArgument? = try await openingFailure(.file(clip.ts), bad).error else {
                Issue.record("capacity \(bad.capacity), stall timeout \(bad.stallTimeout) was accepted"); continue
            }
        }
    }

    @Test func dropsFramesByDefaultOnlyWhenLive() async throws {
        let clip = try await LiveClip.shared()
        #expect(try await !openSource(.file(clip.ts)).dropsFrames)
        #expect(try await openSource(.file(clip.ts), LiveOptions(realtime: true)).dropsFrames)
        #expect(try await openSource(.file(clip.ts), LiveOptions(dropWhenBehind: true)).dropsFrames)
        #expect(LiveInput.network("tcp://h:1").isLive && LiveInput.device("/dev/video0").isLive)
    }

    // MARK: - Dropping, stopping, pacing, following

    /// A network source sending 250 frames a second to a consumer that takes a batch every 40 ms:
    /// the ring of 4 drops the oldest frames, every frame is counted once (taken or dropped), and
    /// memory does not grow with the stream.
    @Test func slowConsumerDropsWithFlatMemory() async throws {
        let ffmpeg = try requireFFmpeg()
        let folder = TempFolder()
        // 360 frames of 640×360: 249 MB of RGB in all, were they kept; the ring holds 2.8 MB.
        let path = folder.file("long.ts")
        try await runToEnd(ffmpeg, ["-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25", "-frames:v", "360", "-c:v", "libx264",
                                    "-preset", "ultrafast", "-threads", "1", "-g", "25", "-pix_fmt", "yuv420p", "-f", "mpegts", path])
        let frameCount = try VideoReader(path: path).frameCount
        let port = try Listener().port
        let server = try Child(ffmpeg, ["-readrate", "10", "-i", path, "-c", "copy", "-f", "mpegts", "tcp://127.0.0.1:\(port)?listen=1"])
        let source = try await openWhenListening("tcp://127.0.0.1:\(port)", LiveOptions(capacity: 4))
        #expect(source.dropsFrames)
        /// What the consumer saw, batch after batch.
        struct Seen: Sendable {
            var taken = 0, lastSequence = -1, lastDropped = 0, oversized = 0, disorder = 0
            var early: Int?, peak: Int?
        }
        // The consumer, on a thread of its own: it notes each batch, then sleeps 40 ms.
        let (got, seen) = try await onThread {
            var seen = Seen()
            let got = drainHere(source, keepFrames: false) { batch in
                seen.taken += batch.frames.count
                if batch.frames.count > 4 { seen.oversized += 1 }
                for frame in batch.frames {
                    if frame.sequence <= seen.lastSequence { seen.disorder += 1 }
                    seen.lastSequence = frame.sequence
                }
                if batch.dropped < seen.lastDropped { seen.disorder += 1 }
                seen.lastDropped = batch.dropped
                // Resident memory once 50 frames are decoded, then its peak while the stream runs.
                let resident = LeakTests.residentBytes()
                if seen.early == nil && seen.lastSequence >= 50 {
                    seen.early = resident
                } else if seen.early != nil {
                    seen.peak = max(seen.peak ?? 0, resident ?? 0)
                }
                Thread.sleep(forTimeInterval: 0.04)            // the slow consumer
            }
            return (got, seen)
        }
        withExtendedLifetime(server) {}
        #expect(!got.timedOut, "the source did not end within 20 s")
        let peak = max(seen.peak ?? 0, LeakTests.residentBytes() ?? 0)
        #expect(got.ended && got.failure == nil, "\(String(describing: got.failure))")
        let counters = source.counters
        #expect(counters.decoded == frameCount, "decoded \(counters.decoded) of \(frameCount) frames")
        #expect(counters.dropped > 0 && seen.taken + counters.dropped == counters.decoded,
                "taken \(seen.taken) + dropped \(counters.dropped) ≠ decoded \(counters.decoded)")
        #expect(seen.lastDropped == counters.dropped)
        #expect(seen.oversized == 0 && seen.disorder == 0)
        if let early = seen.early {
            // The whole process's memory: other tests allocate beside this one (up to about 40 MB
            // was seen), so the bound sits between that and what keeping the frames would take.
            #expect(peak - early < 96 << 20, "resident memory grew by \(peak - early) bytes over the stream")
        } else {
            Issue.record("no resident memory figures (/proc/self/statm)")
        }
    }

    @Test func stopEndsABlockedPipeRead() async throws {
        let clip = try await LiveClip.shared()
        let folder = TempFolder()
        let fifo = try makeFIFO(folder.file("held.ts"))
        let writer = try FIFOWriter(fifo, bytes: clip.tsBytes)         // then silent, never closed
        try await expectStopEndsABlockedRead(try await openSource(.file(fifo), LiveOptions(stallTimeout: 30)))
        withExtendedLifetime(writer) {}
    }

    @Test func stopEndsABlockedNetworkRead() async throws {
        let clip = try await LiveClip.shared()
        let port = try Listener().port
        let server = try Child(try requireFFmpeg(), ["-re", "-i", clip.mp4, "-c", "copy", "-f", "mpegts", "tcp://127.0.0.1:\(port)?listen=1"])
        try await expectStopEndsABlockedRead(try await openWhenListening("tcp://127.0.0.1:\(port)", LiveOptions(stallTimeout: 30)))
        withExtendedLifetime(server) {}
    }

    @Test func stopBeforeStartEndsTheSource() async throws {
        let clip = try await LiveClip.shared()
        let source = try await openSource(.file(clip.ts))
        source.stop()                                          // no thread yet: returns at once
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
        let returned = try await again.wait(seconds: 2)
        #expect(returned.map { $0.end - $0.start < 2 } == true, "a second stop() had not returned after 2 s")
    }

    /// A source released while it runs (its consumer gone without `stop()`): `deinit` stops it,
    /// so that its thread, connection and ring go too.
    @Test func releasingARunningSourceStopsIt() async throws {
        let clip = try await LiveClip.shared()
        let folder = TempFolder()
        let fifo = try makeFIFO(folder.file("released.ts"))
        let writer = try FIFOWriter(fifo, bytes: clip.tsBytes)         // then silent, never closed
        // Opened, started and read on a thread of its own, which then lets go of it.
        let released = try await onThread {
            let source = try LiveSource(.file(fifo), options: LiveOptions(capacity: 2, stallTimeout: 30))
            source.start()
            _ = try source.next()
            return WeakSource(source)
        }
        let deadline = LiveSource.now() + 2
        while released.source != nil && LiveSource.now() < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(released.source == nil, "the source is still alive 2 s after its last reference went")
        released.source?.stop()                                // what deinit does, should the check fail
        withExtendedLifetime(writer) {}
    }

    /// `stop()` from another thread while the consumer waits in `next()` and the decoder in a read:
    /// both return within 2 s, and `next()` then returns nil (a stop is not a failure).
    private func expectStopEndsABlockedRead(_ source: LiveSource, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let stopper = StopRecord()
        // The first batch, the stop 0.3 s later and the drain, all on threads of their own: a late
        // turn on the pool would let the stream end before the stop.
        let (first, got) = try await onThread {
            source.start()
            let first = try source.next()
            if first != nil {
                Thread.detachNewThread {
                    Thread.sleep(forTimeInterval: 0.3)
                    let start = LiveSource.now()
                    source.stop()
                    stopper.set(start: start, end: LiveSource.now())
                }
            }
            return (first, drainHere(source))
        }
        _ = try #require(first, "no frames before the stop", sourceLocation: sourceLocation)
        #expect(!got.timedOut, "the source did not end within 20 s", sourceLocation: sourceLocation)
        let stopped = try await stopper.wait(seconds: 10)
        let (stopStart, stopEnd) = try #require(stopped, "stop() did not return", sourceLocation: sourceLocation)
        #expect(got.ended && got.failure == nil, "\(String(describing: got.failure))", sourceLocation: sourceLocation)
        #expect(stopEnd - stopStart < 2, "stop() took \(stopEnd - stopStart) s", sourceLocation: sourceLocation)
        #expect(got.endTime - stopStart < 2, "next() returned \(got.endTime - stopStart) s after stop()", sourceLocation: sourceLocation)
        #expect(try source.next() == nil, sourceLocation: sourceLocation)
    }

    /// A 25 fps file read in real time takes as long as it plays.
    @Test func realtimePacesAFile() async throws {
        let clip = try await LiveClip.shared()
        let source = try await openSource(.file(clip.ts), LiveOptions(realtime: true))
        let started = LiveSource.now()
        let got = try await drain(source)
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
    @Test func followedFileIsReadAsItGrows() async throws {
        let clip = try await LiveClip.shared()
        let folder = TempFolder()
        let path = folder.file("growing.ts")
        let bytes = clip.tsBytes, third = bytes.count / 3
        try Data(bytes[..<third]).write(to: URL(fileURLWithPath: path))
        let appender = Appender(path: path, chunks: [Array(bytes[third..<(2 * third)]), Array(bytes[(2 * third)...])], every: 0.3)
        // Opened and drained on one thread: the idle time counts from the last write, so no
        // turn on the pool may come in between.
        let got = try await onThread { drainHere(try LiveSource(.file(path), options: LiveOptions(stallTimeout: 1, follow: true))) }
        #expect(!got.timedOut, "the source did not end within 20 s")
        let appended = try await appender.wait(seconds: 10)
        let lastWrite = try #require(appended, "the appender did not finish")
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

    /// Made by the first test that asks; the others await it rather than block on a lazy global.
    private static let made = Task<LiveClip, any Error> {
        _ = quietFFmpeg
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("motive-live-\(getpid())").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let mp4 = folder + "/clip.mp4", ts = folder + "/clip.ts"
        try writeClip(mp4, count: count, width: width, height: height, options: EncodeOptions(codec: .h264, gop: 12, bFrames: 2))
        guard let ffmpeg = ffmpegPath else { throw LiveTestError("ffmpeg is not installed") }
        try await runToEnd(ffmpeg, ["-i", mp4, "-c", "copy", "-f", "mpegts", ts])
        let reader = try VideoReader(path: mp4)
        let reference = Reference(times: reader.timestamps.map { $0 - reader.timestamps[0] }, frames: try reader.decodeAll())
        guard reference.frames.count == count else { throw LiveTestError("the clip has \(reference.frames.count) frames, not \(count)") }
        return LiveClip(mp4: mp4, ts: ts, tsBytes: try [UInt8](Data(contentsOf: URL(fileURLWithPath: ts))), reference: reference)
    }

    static func shared() async throws -> LiveClip {
        _ = try requireFFmpeg()
        return try await made.value
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
private func runToEnd(_ ffmpeg: String, _ arguments: [String]) async throws {
    let child = try Child(ffmpeg, ["-y"] + arguments)
    guard try await child.wait(seconds: 30) == 0 else { throw LiveTestError("ffmpeg \(arguments.joined(separator: " ")) failed: \(child.log)") }
}

/// Runs blocking work (opening a source, which waits for its stream; a drain loop) on a thread
/// of its own, so that it never holds one of the cooperative pool's few threads.
private func onThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try work() }) }.start()
    }
}

/// Opens a source on a thread of its own: opening reads until it knows the stream, waiting (up
/// to the stall timeout) for a writer, a server or data.
private func openSource(_ input: LiveInput, _ options: LiveOptions = LiveOptions()) async throws -> LiveSource {
    try await onThread { try LiveSource(input, options: options) }
}

/// How opening `input` fails (nil if it opens), and the seconds that took; on a thread of its own.
private func openingFailure(_ input: LiveInput, _ options: LiveOptions = LiveOptions()) async throws -> (error: VideoError?, seconds: Double) {
    try await onThread {
        let started = LiveSource.now()
        let error = videoError { try LiveSource(input, options: options) }
        return (error, LiveSource.now() - started)
    }
}

/// What one consumer took from a source until it ended, failed or was stopped by the watchdog.
private struct Drained: Sendable {
    var frames: [LiveFrame] = []
    var ended = false
    var failure: VideoError?
    /// `LiveSource.now()` when `next()` returned nil or threw.
    var endTime = 0.0
    /// The watchdog had to stop the source.
    var timedOut = false
}

/// Takes batches on a thread of its own until the end or a failure; a watchdog stops the source
/// after `limit` seconds, which fails the test, so that no test can hang.
private func drain(_ source: LiveSource, limit: Double = 20, sourceLocation: SourceLocation = #_sourceLocation) async throws -> Drained {
    let got = try await onThread { drainHere(source, limit: limit) }
    if got.timedOut { Issue.record("the source did not end within \(limit) s", sourceLocation: sourceLocation) }
    return got
}

/// `drain`'s loop, on the calling thread, which it blocks: call it on a thread of your own
/// (`onThread`), and check `timedOut`.
private func drainHere(_ source: LiveSource, keepFrames: Bool = true, limit: Double = 20, each: (LiveBatch) -> Void = { _ in }) -> Drained {
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
    result.timedOut = fired.value != nil
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
private func openWhenListening(_ url: String, _ options: LiveOptions) async throws -> LiveSource {
    let deadline = LiveSource.now() + 10
    while true {
        let attempt = try await onThread { Result { () throws(VideoError) in try LiveSource(LiveInput(url), options: options) } }
        let failure: VideoError
        switch attempt {
        case .success(let source): return source
        case .failure(let error): failure = error
        }
        guard case .readFailed = failure, LiveSource.now() < deadline else { throw failure }
        try await Task.sleep(for: .milliseconds(50))
    }
}

extension LiveOptions {
    fileprivate init(capacity: Int = 64, stallTimeout: Double = 10, realtime: Bool = false, dropWhenBehind: Bool? = nil, follow: Bool = false) {
        self.init()
        (self.capacity, self.stallTimeout, self.realtime, self.dropWhenBehind, self.follow) = (capacity, stallTimeout, realtime, dropWhenBehind, follow)
    }
}

/// A source held weakly, to see whether anything else still holds it.
private final class WeakSource: Sendable {
    weak let source: LiveSource?
    init(_ source: LiveSource) { self.source = source }
}

// MARK: - Processes, sockets, pipes

/// A child process, quiet, killed if still running when released: a failing test leaves none behind.
/// `@unchecked Sendable`: waited for on a thread of its own, by one thread at a time.
private final class Child: @unchecked Sendable {
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

    /// Its exit status, or nil if it had not exited within `seconds` (it is then killed). Waits
    /// on a thread of its own.
    func wait(seconds: Double) async throws -> Int32? {
        try await onThread { self.waitHere(seconds: seconds) }
    }

    /// `wait`, blocking the calling thread: for a thread of its own.
    func waitHere(seconds: Double) -> Int32? {
        let deadline = LiveSource.now() + seconds
        while process.isRunning && LiveSource.now() < deadline { Thread.sleep(forTimeInterval: 0.02) }
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
            process.waitUntilExit()                            // killed: a few milliseconds
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
/// start (a reader then waits for data instead of seeing the end). A thread of its own writes
/// `bytes`, keeps the pipe open and silent until `finish` or release, then closes it.
private final class FIFOWriter {
    private let cancelled = StopRecord()
    private let written = StopRecord()
    private let closed = StopRecord()

    init(_ path: String, bytes: [UInt8]) throws {
        let fd = Glibc.open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw LiveTestError("open \(path): \(String(cString: strerror(errno)))") }
        Thread.detachNewThread { [cancelled, written, closed] in
            var offset = 0
            let deadline = Date().addingTimeInterval(30)
            while offset < bytes.count && cancelled.value == nil && Date() < deadline {
                let n = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
                if n > 0 { offset += n; continue }
                guard n < 0 && (errno == EAGAIN || errno == EINTR) else { break }
                var request = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                _ = poll(&request, 1, 50)
            }
            written.set(start: 0, end: LiveSource.now())
            // Open and silent until cancelled (by `finish` or release; two minutes at most).
            let hold = Date().addingTimeInterval(120)
            while cancelled.value == nil && Date() < hold { usleep(10_000) }
            Glibc.close(fd)
            closed.set(start: 0, end: LiveSource.now())
        }
    }

    /// Waits until every byte is in the pipe, then closes it: the reader sees the end after them.
    func finish(within seconds: Double) async throws -> Bool {
        let done = try await written.wait(seconds: seconds) != nil
        cancelled.set(start: 0, end: 0)
        _ = try await closed.wait(seconds: 5)                 // within 50 ms
        return done
    }

    /// Its thread closes the pipe within 50 ms.
    deinit { cancelled.set(start: 0, end: 0) }
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
    func wait(seconds: Double) async throws -> Double? { try await done.wait(seconds: seconds)?.end }
}

/// A pair of times set once, from another thread.
private final class StopRecord: Sendable {
    private let times = Mutex<(start: Double, end: Double)?>(nil)

    func set(start: Double, end: Double) { times.withLock { $0 = (start, end) } }

    /// The times, if set yet.
    var value: (start: Double, end: Double)? { times.withLock { $0 } }

    /// The times once set, looked at every 10 ms for up to `seconds` (holding no thread in
    /// between); nil if not set by then.
    func wait(seconds: Double) async throws -> (start: Double, end: Double)? {
        let deadline = LiveSource.now() + seconds
        while value == nil && LiveSource.now() < deadline { try await Task.sleep(for: .milliseconds(10)) }
        return value
    }
}
