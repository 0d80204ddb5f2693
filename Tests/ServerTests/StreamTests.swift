import Foundation
import Hummingbird
import HummingbirdTesting
import HummingbirdWSClient
import Logging
import NIOConcurrencyHelpers
import NIOCore
import Server
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `/v1/streams`: starting a live labeller, its decisions over Server-Sent Events and a
/// WebSocket, stopping it, and every refusal.
@Suite(.serialized) struct StreamTests {
    static let token = "str3am"
    static let auth: HTTPFields = [.authorization: "Bearer \(token)", .contentType: "application/json"]

    func server(_ configure: (inout ServerOptions) -> Void = { _ in }) throws -> MotiveServer {
        try Fixture.server(Fixture.options {
            $0.token = Self.token
            $0.allowStreamSources = ["127.0.0.1:*"]
            configure(&$0)
        })
    }

    func start(_ client: some TestClientProtocol, _ body: String, headers: HTTPFields = auth) async throws -> TestResponse {
        try await client.execute(uri: "/v1/streams", method: .post, headers: headers, body: ByteBuffer(string: body))
    }

    /// The video every stream test labels, relative to the data root.
    static let video = "videos/translate_left/translate_left_0000.mp4"

    /// Parses Server-Sent Events into (name, JSON data) pairs.
    static func events(_ text: String) -> [(name: String, data: JSON)] {
        text.components(separatedBy: "\n\n").compactMap { block in
            var name: String?, data: String?
            for line in block.split(whereSeparator: \.isNewline) {     // "\r\n" (chunk framing) is one Character
                if line.hasPrefix("event: ") { name = String(line.dropFirst(7)) }
                if line.hasPrefix("data: ") { data = String(line.dropFirst(6)) }
            }
            guard let name, let data else { return nil }
            return (name, JSON(try? JSONSerialization.jsonObject(with: Data(data.utf8))))
        }
    }

    @Test func startingNeedsAConfiguredToken() async throws {
        try await Fixture.server(Fixture.options()).makeApplication().test(.router) { client in
            let response = try await start(client, #"{"source": "\#(Self.video)"}"#, headers: [.contentType: "application/json"])
            #expect(response.status == .forbidden)
            #expect(response.json["error"]["code"].string == "token_required")
        }
    }

    @Test func refusals() async throws {
        try await server().makeApplication().test(.router) { client in
            let cases: [(body: String, status: HTTPResponse.Status, code: String)] = [
                (#"{"source": "tcp://10.1.2.3:9000"}"#, .forbidden, "source_not_allowed"),
                (#"{"source": "rtsp://camera.internal/live"}"#, .forbidden, "source_not_allowed"),
                (#"{"source": "/dev/video0"}"#, .forbidden, "source_not_allowed"),
                (#"{"source": "-"}"#, .badRequest, "bad_source"),
                (#"{"source": "gopher://127.0.0.1:70/"}"#, .badRequest, "bad_source"),
                (#"{"source": "../../etc/passwd"}"#, .badRequest, "path_outside_root"),
                (#"{"source": "missing.mp4"}"#, .badRequest, "bad_path"),
                (#"{"source": "\#(Self.video)", "fps": 5}"#, .badRequest, "unknown_key"),
                (#"{"source": "\#(Self.video)", "window": "soon"}"#, .badRequest, "bad_json"),
                (#"{"source": "\#(Self.video)", "online": true, "window": "1s"}"#, .badRequest, "bad_parameter"),
                (#"{"source": "\#(Self.video)", "online": true}"#, .badRequest, "bad_parameter"),      // mc3_18 is no TSM model
                (#"{"source": "\#(Self.video)", "top_k": 0}"#, .badRequest, "bad_parameter"),
                (#"{"source": "\#(Self.video)", "model": "nope"}"#, .notFound, "model_not_found"),
                (#"[1, 2]"#, .badRequest, "bad_json"),
            ]
            for c in cases {
                let response = try await start(client, c.body)
                #expect(response.status == c.status, "\(c.body): \(response.status)")
                #expect(response.json["error"]["code"].string == c.code, "\(c.body): \(response.json["error"]["message"].string ?? "")")
            }
            let missing = try await client.execute(uri: "/v1/streams/nope/events", method: .get, headers: Self.auth)
            #expect(missing.status == .notFound)
            let plain = try await client.execute(uri: "/v1/streams/nope", method: .delete, headers: Self.auth)
            #expect(plain.status == .notFound)
            let unauthorised = try await client.execute(uri: "/v1/streams", method: .get)
            #expect(unauthorised.status == .unauthorized)
        }
    }

    /// A file streamed as fast as it decodes: its decisions over SSE equal the file's timeline
    /// through `POST /v1/predict`, window for window, and the last event is `end`.
    @Test func fileStreamSendsDecisionsThenEnd() async throws {
        try await server().makeApplication().test(.router) { client in
            let started = try await start(client, #"{"source": "\#(Self.video)", "window": "0.32s", "stride": "0.16s", "top_k": 2, "realtime": false}"#)
            #expect(started.status == .created)
            let id = try #require(started.json["id"].string)
            #expect(started.headers[.location] == "/v1/streams/\(id)")
            #expect(started.json["mode"].string == "window")
            // Followed from the start or not, the stream ends; its record keeps every decision's count.
            let sse = try await client.execute(uri: "/v1/streams/\(id)/events", method: .get, headers: Self.auth)
            #expect(sse.status == .ok)
            #expect(sse.headers[.contentType] == "text/event-stream")
            let events = Self.events(String(buffer: sse.body))
            #expect(events.last?.name == "end")
            #expect(events.last?.data["reason"].string == "ended")
            let view = try await client.execute(uri: "/v1/streams/\(id)", method: .get, headers: Self.auth)
            #expect(view.json["state"].string == "ended")
            #expect(view.json["frames_decoded"].int == 16)
            #expect(view.json["frames_dropped"].int == 0)
            let decisions = try #require(view.json["decisions"].int)
            let predicted = try await client.execute(uri: "/v1/predict?top_k=2&window=0.32s&stride=0.16s", method: .post,
                                                     headers: [.contentType: "video/mp4"], body: Fixture.bytes(Fixture.video()))
            let timeline = predicted.json["timeline"].array
            #expect(decisions == timeline.count && decisions > 1)
            // The decisions seen are the timeline's last windows (a follower sees them from when it subscribed).
            let seen = events.filter { $0.name == "decision" }.map(\.data)
            for (decision, window) in zip(seen.reversed(), timeline.reversed()) {
                #expect(decision["t_start"].double == window["start"].double)
                #expect(decision["labels"].array.map { $0["label"].string } == window["labels"].array.map { $0["label"].string })
                #expect(decision["labels"][0]["score"].double == window["labels"][0]["score"].double)
            }
            let last = view.json["last"]
            #expect(last["t_end"].double == timeline.last?["end"].double)
        }
    }

    /// A running stream (a named pipe under the data root that stays open) is followed over
    /// SSE and over a WebSocket, counted against --max-streams, listed, and stopped by DELETE.
    @Test func liveStreamOverSSEAndWebSocketThenDelete() async throws {
        let pipe = try LivePipe(in: Fixture.dataRoot)
        defer { pipe.close() }
        try await server { $0.maxStreams = 1 }.makeApplication().test(.live) { client in
            let body = #"{"source": "\#(pipe.name)", "window": "0.32s", "stride": "0.16s", "stall_timeout": 5}"#
            // The pipe holds the stream's first part; the rest is written once both followers listen.
            let started = try await start(client, body)
            #expect(started.status == .created, "\(started.json["error"]["message"].string ?? "")")
            let id = try #require(started.json["id"].string)
            let second = try await start(client, #"{"source": "\#(Self.video)"}"#)
            #expect(second.status == .serviceUnavailable)
            #expect(second.json["error"]["code"].string == "too_many_streams")
            #expect(second.headers[.retryAfter] != nil)

            // Followed on connections of their own (the test client has one, which a stream's events would hold).
            let port = try #require(client.port)
            async let sse = RawConnection.onThread {
                let connection = try RawConnection(port: port)
                connection.send("GET /v1/streams/\(id)/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(Self.token)\r\nConnection: close\r\n\r\n")
                return connection.read(until: "event: end")
            }
            async let socket = Self.webSocketMessages(port: port, path: "/v1/streams/\(id)/ws")
            try await Task.sleep(for: .milliseconds(500))                   // both followers subscribe
            pipe.writeRest()
            // Wait (bounded) until decisions of the second part have been made.
            var decisions = 0
            for _ in 0..<100 where decisions < 3 {
                try await Task.sleep(for: .milliseconds(100))
                decisions = try await client.execute(uri: "/v1/streams/\(id)", method: .get, headers: Self.auth).json["decisions"].int ?? 0
            }
            #expect(decisions >= 3)
            let list = try await client.execute(uri: "/v1/streams", method: .get, headers: Self.auth)
            #expect(list.json["streams"].array.contains { $0["id"].string == id && $0["state"].string == "running" },
                    "\(list.json["streams"].array.map { "\($0["state"].string ?? "?"): \($0["error"].string ?? "")" })")

            let stopped = try await client.execute(uri: "/v1/streams/\(id)", method: .delete, headers: Self.auth)
            #expect(stopped.status == .ok)
            #expect(stopped.json["state"].string == "stopped")

            let raw = try await sse
            let events = Self.events(raw)
            #expect(events.contains { $0.name == "decision" }, "\(raw.prefix(600))")
            #expect(events.last?.name == "end" && events.last?.data["reason"].string == "stopped")
            let messages = try await socket
            #expect(messages.contains { $0["event"].string == "decision" && $0["data"]["labels"].count == 2 })   // top_k 3 of 2 classes
            #expect(messages.last?["event"].string == "end" && messages.last?["data"]["reason"].string == "stopped")
            // Both followers saw the same decisions.
            let viaSSE = events.filter { $0.name == "decision" }.map { $0.data["t_start"].double }
            let viaSocket = messages.filter { $0["event"].string == "decision" }.map { $0["data"]["t_start"].double }
            #expect(viaSSE == viaSocket)

            // A slot is free again.
            let third = try await start(client, #"{"source": "\#(Self.video)", "realtime": false}"#)
            #expect(third.status == .created)
            let metrics = String(buffer: try await client.execute(uri: "/metrics", method: .get).body)
            #expect(metrics.contains("motive_stream_frames_decoded_total"))
            #expect(metrics.contains("motive_stream_decision_latency_seconds_count"))
        }
    }

    /// Refused upgrades fall through to the HTTP route: 401 without the token, 426 without an upgrade.
    @Test func webSocketRefusals() async throws {
        try await server().makeApplication().test(.live) { client in
            let noToken = try await client.execute(uri: "/v1/streams/nope/ws", method: .get)
            #expect(noToken.status == .unauthorized)
            let started = try await start(client, #"{"source": "\#(Self.video)", "realtime": false}"#)
            let id = try #require(started.json["id"].string)
            let plain = try await client.execute(uri: "/v1/streams/\(id)/ws", method: .get, headers: Self.auth)
            #expect(plain.status == .upgradeRequired)
            await #expect(throws: (any Error).self) {
                _ = try await Self.webSocketMessages(port: client.port!, path: "/v1/streams/\(id)/ws", token: "wrong")
            }
        }
    }

    /// Every text message of a WebSocket until the server closes it (at most 30 s).
    static func webSocketMessages(port: Int, path: String, token: String = token) async throws -> [JSON] {
        let received = NIOLockedValueBox<[String]>([])
        let logger = Logger(label: "ws") { _ in SwiftLogNoOpLogHandler() }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                _ = try await WebSocketClient.connect(url: "ws://127.0.0.1:\(port)\(path)",
                                                      configuration: .init(additionalHeaders: [.authorization: "Bearer \(token)"]),
                                                      logger: logger) { inbound, _, _ in
                    for try await message in inbound.messages(maxSize: 1 << 20) {
                        if case .text(let text) = message {
                            received.withLockedValue { $0.append(text) }
                        }
                    }
                }
            }
            group.addTask {
                try await Task.sleep(for: .seconds(30))
                throw CancellationError()
            }
            try await group.next()
            group.cancelAll()
        }
        return received.withLockedValue { $0 }.map { JSON(try? JSONSerialization.jsonObject(with: Data($0.utf8))) }
    }
}

/// A named pipe under the data root, kept open for writing: it carries the first half of four
/// copies of the fixture video (as MPEG-TS, made with the ffmpeg tool) at once, and the rest on `writeRest()`.
/// The stream stays running until the pipe is closed.
final class LivePipe: @unchecked Sendable {
    let name: String
    private let fd: Int32
    private let rest: [UInt8]
    private let writer = DispatchQueue(label: "live-pipe")

    init(in root: URL) throws {
        name = "live-\(UUID().uuidString.prefix(8)).ts"
        let path = root.appendingPathComponent(name).path
        let ts = root.appendingPathComponent(name + ".src").path
        let ffmpeg = Process()
        ffmpeg.executableURL = URL(fileURLWithPath: "/usr/bin/ffmpeg")
        guard FileManager.default.isExecutableFile(atPath: ffmpeg.executableURL!.path) else {
            throw StreamTestError(message: "/usr/bin/ffmpeg is missing: `make deps` installs it")
        }
        // Four copies of the video in a row, so that the stream outlasts a few windows.
        ffmpeg.arguments = ["-v", "error", "-y", "-stream_loop", "3", "-i", Fixture.video().path, "-c", "copy", "-f", "mpegts", ts]
        try ffmpeg.run()
        ffmpeg.waitUntilExit()                      // about 0.1 s: a remux of a 16-frame clip
        guard ffmpeg.terminationStatus == 0, let bytes = FileManager.default.contents(atPath: ts) else {
            throw StreamTestError(message: "ffmpeg could not make \(ts)")
        }
        try? FileManager.default.removeItem(atPath: ts)
        guard mkfifo(path, 0o600) == 0 else { throw StreamTestError(message: "mkfifo \(path): \(String(cString: strerror(errno)))") }
        fd = open(path, O_RDWR | O_NONBLOCK)        // read-write: opening does not wait for a reader; writes never block
        guard fd >= 0 else { throw StreamTestError(message: "open \(path)") }
        // Whole TS packets: the first two copies, more than the one second of stream that opening probes.
        let half = bytes.count / 2 / 188 * 188
        rest = Array(bytes[half...])
        let head = Array(bytes[..<half])
        writer.async { [fd] in Self.write(head, to: fd) }
    }

    func writeRest() {
        writer.async { [fd, rest] in Self.write(rest, to: fd) }
    }

    /// Writes all of `bytes` as the reader makes room, for at most 20 s.
    private static func write(_ bytes: [UInt8], to fd: Int32) {
        var offset = 0
        let deadline = Date().addingTimeInterval(20)
        while offset < bytes.count && Date() < deadline {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n > 0 { offset += n } else { usleep(5_000) }
        }
    }

    func close() {
        writer.sync {}
        Glibc.close(fd)
        try? FileManager.default.removeItem(at: Fixture.dataRoot.appendingPathComponent(name))
    }
}

struct StreamTestError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
