import Foundation
import Inference
import Logging
import NIOConcurrencyHelpers
import Video

/// What a client asks for with `POST /v1/streams`.
struct StreamRequest: Decodable, Sendable {
    var source: String
    var model: String?
    /// "2s", "500ms" or seconds as a number; window mode only.
    var window: Seconds?
    var stride: Seconds?
    var online: Bool?
    var every: Int?
    var smoothing: Int?
    var topK: Int?
    var realtime: Bool?
    var stallTimeout: Double?
    var reconnect: Bool?

    static let keys: Set<String> = ["source", "model", "window", "stride", "online", "every", "smoothing", "top_k", "realtime",
                                    "stall_timeout", "reconnect"]

    enum CodingKeys: String, CodingKey {
        case source, model, window, stride, online, every, smoothing, topK = "top_k", realtime, stallTimeout = "stall_timeout", reconnect
    }

    /// A length of time: a string `parseDuration` reads, or a number of seconds.
    struct Seconds: Decodable, Sendable {
        var seconds: Double
        init(from decoder: any Decoder) throws {
            let single = try decoder.singleValueContainer()
            if let number = try? single.decode(Double.self), number.isFinite, number > 0 {
                seconds = number
            } else if let text = try? single.decode(String.self), let value = parseDuration(text) {
                seconds = value
            } else {
                throw DecodingError.dataCorruptedError(in: single, debugDescription: "a duration such as \"2s\", \"500ms\" or 1.5")
            }
        }
    }

    /// The labelling mode, checked: window mode by default (2 s every 0.5 s).
    func mode() throws(APIError) -> StreamMode {
        if online == true {
            guard window == nil, stride == nil else {
                throw .badRequest("online labelling goes frame by frame; window and stride go with window mode", code: "bad_parameter")
            }
            let every = every ?? 1, smoothing = smoothing ?? 4
            guard (1...1000).contains(every), (1...1000).contains(smoothing) else {
                throw .badRequest("every and smoothing must be 1…1000", code: "bad_parameter")
            }
            return .online(every: every, smoothing: smoothing)
        }
        guard every == nil, smoothing == nil else { throw .badRequest("every and smoothing go with online: true", code: "bad_parameter") }
        let window = window?.seconds ?? 2, stride = stride?.seconds ?? (self.window == nil ? 0.5 : window)
        guard window <= 60, stride <= 3600 else { throw .badRequest("a window may be at most 60 s, a stride at most 3600 s", code: "bad_parameter") }
        return .window(window: window, stride: stride)
    }
}

/// A running or finished stream, as `GET /v1/streams` lists it.
struct StreamView: Encodable, Sendable {
    enum State: String, Encodable, Sendable { case running, ended, stopped, failed }
    enum Mode: String, Encodable, Sendable { case window, online }
    var id: String
    var source: String
    var model: String
    var mode: Mode
    var state: State
    var error: String?
    var startedAt: Date
    var framesDecoded: Int
    var framesDropped: Int
    var decisions: Int
    var last: StreamDecision?

    enum CodingKeys: String, CodingKey {
        case id, source, model, mode, state, error, startedAt = "started_at", framesDecoded = "frames_decoded"
        case framesDropped = "frames_dropped", decisions, last
    }
}

/// What a stream's followers receive: each decision, then one end.
enum StreamEvent: Sendable {
    case decision(StreamDecision)
    case end(StreamEnd)
    case keepAlive

    /// The event's name and JSON (`decision` or `end`); nil for a keep-alive.
    var named: (name: String, json: String)? {
        switch self {
        case .decision(let d): ("decision", Self.encode(d))
        case .end(let e): ("end", Self.encode(e))
        case .keepAlive: nil
        }
    }

    static func encode<T: Encodable>(_ value: T) -> String {
        (try? JSONEncoder.api.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }
}

struct StreamEnd: Encodable, Sendable, Equatable {
    /// "ended" (the source ended), "stopped" (DELETE or shutdown) or "failed".
    var reason: StreamView.State
    var error: String?
}

/// One stream: its source decoded on a thread of its own and labelled there, each decision sent
/// to every follower.
final class LiveStream: Sendable {
    let id: String
    let source: LiveSource
    let labeller: StreamLabeller
    private let state: NIOLockedValueBox<StreamView>
    private let followers = NIOLockedValueBox<[UUID: AsyncStream<StreamEvent>.Continuation]>([:])
    private let finished = NIOLockedValueBox<StreamEnd?>(nil)
    /// Signalled when the labelling thread has finished (its last forward pass included).
    private let threadDone = DispatchSemaphore(value: 0)

    init(id: String, sourceText: String, model: String, source: LiveSource, labeller: StreamLabeller) {
        self.id = id
        self.source = source
        self.labeller = labeller
        let mode: StreamView.Mode = switch labeller.mode {
        case .window: .window
        case .online: .online
        }
        state = NIOLockedValueBox(StreamView(id: id, source: sourceText, model: model, mode: mode, state: .running, startedAt: Date(),
                                             framesDecoded: 0, framesDropped: 0, decisions: 0))
    }

    var view: StreamView {
        var view = state.withLockedValue { $0 }
        if view.state == .running { (view.framesDecoded, view.framesDropped, _) = source.counters }
        return view
    }

    /// Labels until the source ends, fails or is stopped; then tells every follower.
    func run(metrics: ServerMetrics, logger: Logger, onEnd: @escaping @Sendable () -> Void) {
        let thread = Thread { [self] in
            var seen = (decoded: 0, dropped: 0)
            var end = StreamEnd(reason: .ended)
            do {
                try labeller.run(source) { decision in
                    let counters = source.counters
                    metrics.recordStreamFrames(decoded: counters.decoded - seen.decoded, dropped: counters.dropped - seen.dropped)
                    seen = (counters.decoded, counters.dropped)
                    metrics.recordStreamDecision(latencyMs: decision.latencyMs)
                    state.withLockedValue {
                        $0.decisions += 1
                        $0.last = decision
                    }
                    publish(.decision(decision))
                }
            } catch {
                end = StreamEnd(reason: .failed, error: "\(error)")
                logger.warning("stream failed", metadata: ["stream": .string(id), "error": "\(error)"])
            }
            if state.withLockedValue({ $0.state }) == .stopped { end = StreamEnd(reason: .stopped) }
            let counters = source.counters
            metrics.recordStreamFrames(decoded: counters.decoded - seen.decoded, dropped: counters.dropped - seen.dropped)
            state.withLockedValue {
                $0.state = end.reason
                $0.error = end.error
                ($0.framesDecoded, $0.framesDropped, _) = counters
            }
            finish(end)
            onEnd()
            threadDone.signal()
        }
        thread.name = "motive-stream-\(id)"
        thread.start()
    }

    /// Stops the stream (its thread ends soon after; followers get `end` with reason "stopped").
    func stop() {
        state.withLockedValue { if $0.state == .running { $0.state = .stopped } }
        source.stop()
    }

    var isRunning: Bool { finished.withLockedValue { $0 == nil } }

    /// Waits until the labelling thread has finished, at most `seconds`; false on a timeout.
    func waitUntilFinished(seconds: Double) -> Bool {
        guard threadDone.wait(timeout: .now() + seconds) == .success else { return false }
        threadDone.signal()
        return true
    }

    /// The events from now on: decisions, then the end (at once when the stream has already
    /// ended), with a keep-alive every `keepAlive`. A follower that reads slowly loses the oldest
    /// of the decisions waiting for it, never the end.
    func follow(keepAlive: Duration = .seconds(15)) -> AsyncStream<StreamEvent> {
        let (events, continuation) = AsyncStream<StreamEvent>.makeStream(bufferingPolicy: .bufferingNewest(64))
        let key = UUID()
        let ended: StreamEnd? = finished.withLockedValue { end in
            if end == nil { followers.withLockedValue { $0[key] = continuation } }
            return end
        }
        if let ended {
            continuation.yield(.end(ended))
            continuation.finish()
            return events
        }
        let ticker = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: keepAlive)
                if Task.isCancelled { break }
                continuation.yield(.keepAlive)
            }
        }
        continuation.onTermination = { [weak self] _ in
            ticker.cancel()
            self?.followers.withLockedValue { _ = $0.removeValue(forKey: key) }
        }
        return events
    }

    private func publish(_ event: StreamEvent) {
        for continuation in followers.withLockedValue({ Array($0.values) }) { continuation.yield(event) }
    }

    private func finish(_ end: StreamEnd) {
        let all = finished.withLockedValue { value -> [AsyncStream<StreamEvent>.Continuation] in
            value = end
            return followers.withLockedValue { f in defer { f.removeAll() }; return Array(f.values) }
        }
        for continuation in all {
            continuation.yield(.end(end))
            continuation.finish()
        }
    }
}

/// The daemon's streams: started by `POST /v1/streams`, at most `limit` running at once; the
/// last finished ones stay listed.
final class StreamBoard: Sendable {
    let limit: Int
    let metrics: ServerMetrics
    let logger: Logger
    private let streams = NIOLockedValueBox<[LiveStream]>([])
    private let counter = NIOLockedValueBox(0)
    /// Finished streams kept for `GET /v1/streams` and late followers.
    static let keptFinished = 16

    init(limit: Int, metrics: ServerMetrics, logger: Logger) {
        (self.limit, self.metrics, self.logger) = (limit, metrics, logger)
    }

    /// Opens `input` and starts labelling it: 503 past the limit. Opening blocks up to the stall
    /// timeout, so it runs off the event loop.
    func start(sourceText: String, input: LiveInput, options: LiveOptions, model: String, predictor: Predictor,
               mode: StreamMode, topK: Int, retryAfter: Int) async throws -> LiveStream {
        let labeller: StreamLabeller
        do { labeller = try StreamLabeller(predictor: predictor, mode: mode, topK: topK) } catch {
            throw APIError.badRequest("\(error)", code: "bad_parameter")
        }
        // Claim a slot first, so that concurrent starts cannot pass the limit while opening.
        let id: String? = streams.withLockedValue { all in
            guard all.filter(\.isRunning).count + pendingStarts.withLockedValue({ $0 }) < limit else { return nil }
            pendingStarts.withLockedValue { $0 += 1 }
            return counter.withLockedValue { $0 += 1; return String(format: "s%04d-", $0) + UUID().uuidString.prefix(8).lowercased() }
        }
        guard let id else {
            throw APIError(.serviceUnavailable, code: "too_many_streams",
                           "\(limit) streams are already running (--max-streams); stop one or retry later", retryAfter: retryAfter)
        }
        defer { pendingStarts.withLockedValue { $0 -= 1 } }
        let source: LiveSource
        do {
            source = try await onOwnThread(named: "motive-stream-open") { try LiveSource(input, options: options) }
        } catch {
            throw APIError(.unprocessableContent, code: "stream_unavailable", "\(error)")
        }
        let stream = LiveStream(id: id, sourceText: sourceText, model: model, source: source, labeller: labeller)
        streams.withLockedValue { all in
            all.append(stream)
            let finished = all.filter { !$0.isRunning }
            if finished.count > Self.keptFinished {
                let drop = Set(finished.prefix(finished.count - Self.keptFinished).map(\.id))
                all.removeAll { drop.contains($0.id) }
            }
        }
        metrics.setStreamsRunning(running)
        stream.run(metrics: metrics, logger: logger) { [weak self] in
            guard let self else { return }
            metrics.setStreamsRunning(running)
        }
        logger.info("stream started", metadata: ["stream": .string(id), "source": .string(sourceText), "model": .string(model)])
        return stream
    }

    private let pendingStarts = NIOLockedValueBox(0)

    var running: Int { streams.withLockedValue { $0.filter(\.isRunning).count } }

    func views() -> [StreamView] { streams.withLockedValue { $0 }.map(\.view) }

    func stream(_ id: String) -> LiveStream? { streams.withLockedValue { $0.first { $0.id == id } } }

    /// Stops every running stream and waits (up to 30 s) for their threads, whose forward pass
    /// in flight must finish before the process may exit (shutdown).
    func stopAll() {
        let running = streams.withLockedValue { $0 }.filter(\.isRunning)
        for stream in running { stream.stop() }
        let deadline = Date().addingTimeInterval(30)
        for stream in running where !stream.waitUntilFinished(seconds: max(0, deadline.timeIntervalSinceNow)) {
            logger.error("a stream did not stop in time", metadata: ["stream": .string(stream.id)])
        }
    }
}
