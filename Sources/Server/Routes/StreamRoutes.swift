import Foundation
import Hummingbird
import HummingbirdWebSocket
import Inference
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import Video

/// `/v1/streams`: start a live labeller on a URL, device or file, list them, follow one's
/// decisions (Server-Sent Events, or a WebSocket) and stop one.
struct StreamRoutes: Sendable {
    let board: StreamBoard
    let models: ModelRegistry
    let policy: StreamSourcePolicy
    /// Without a token, nobody may start a stream.
    let tokenConfigured: Bool
    let retryAfter: Int
    static let maxRequestBytes = 64 << 10

    func register(on table: RouteTable) {
        table.on(.post, "/v1/streams") { request, context in try await start(request, context: context) }
        table.on(.get, "/v1/streams") { _, _ in
            struct List: Encodable { let streams: [StreamView] }
            return try .json(List(streams: board.views()))
        }
        table.on(.get, "/v1/streams/{id}") { _, context in try .json(try stream(context).view) }
        table.on(.get, "/v1/streams/{id}/events") { _, context in events(of: try stream(context)) }
        // Reached only when the request is not a WebSocket upgrade (or the upgrade was refused).
        table.on(.get, "/v1/streams/{id}/ws") { _, context in
            _ = try stream(context)
            throw APIError(.upgradeRequired, code: "upgrade_required", "this endpoint speaks WebSocket (Upgrade: websocket)")
        }
        table.on(.delete, "/v1/streams/{id}") { _, context in
            let stream = try stream(context)
            await onOwnThread(named: "motive-stream-stop") { stream.stop() }
            return try .json(stream.view)
        }
    }

    func stream(_ context: ServerContext) throws(APIError) -> LiveStream {
        let id = (try? context.parameters.require("id")) ?? ""
        guard let stream = board.stream(id) else { throw .notFound("no stream \(id); GET /v1/streams lists them", code: "stream_not_found") }
        return stream
    }

    func start(_ request: Request, context: ServerContext) async throws -> Response {
        guard tokenConfigured else {
            throw APIError(.forbidden, code: "token_required", "starting a stream needs the daemon to run with --token (or MOTIVE_TOKEN)")
        }
        context.continueIfExpected(request)
        let bytes: ByteBuffer
        do { bytes = try await request.body.collect(upTo: Self.maxRequestBytes) } catch let error as HTTPParserError {
            throw APIError.malformedBody("\(error)")
        } catch {
            throw APIError(.contentTooLarge, code: "payload_too_large", "a stream request may be at most 64 KB", closesConnection: true)
        }
        let data = Data(buffer: bytes)
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw APIError.badRequest("the body must be a JSON object such as {\"source\": \"rtsp://camera:554/live\", \"model\": \"default\"}",
                                      code: "bad_json")
        }
        if let unknown = Set(object.keys).subtracting(StreamRequest.keys).sorted().first {
            throw APIError.badRequest("unknown key `\(unknown)`; the keys are \(StreamRequest.keys.sorted().joined(separator: ", "))",
                                      code: "unknown_key")
        }
        let body: StreamRequest
        do { body = try JSONDecoder().decode(StreamRequest.self, from: data) } catch {
            throw APIError.badRequest("the stream request does not decode: \(describe(error))", code: "bad_json")
        }
        let mode = try body.mode()
        let topK = body.topK ?? 3
        guard (1...1000).contains(topK) else { throw APIError.badRequest("top_k must be 1…1000", code: "bad_parameter") }
        let input = try policy.admit(body.source)
        var options = LiveOptions()
        if let stall = body.stallTimeout {
            guard stall.isFinite, stall > 0, stall <= 300 else { throw APIError.badRequest("stall_timeout must be in (0, 300] s", code: "bad_parameter") }
            options.stallTimeout = stall
        }
        options.reconnect = body.reconnect ?? false
        options.realtime = body.realtime ?? false
        // A file is a recording: the daemon paces it as a camera unless asked otherwise.
        if case .file = input, body.realtime == nil { options.realtime = true }
        let model = try await models.resolve(body.model)
        let stream = try await board.start(sourceText: body.source, input: input, options: options, model: model.summary.name,
                                           predictor: model.predictor, mode: mode, topK: topK, retryAfter: retryAfter)
        return try .json(stream.view, status: .created, headers: [.location: "/v1/streams/\(stream.id)"])
    }

    private func describe(_ error: any Error) -> String {
        switch error as? DecodingError {
        case .typeMismatch(_, let c), .valueNotFound(_, let c), .dataCorrupted(let c):
            "\(c.codingPath.map(\.stringValue).joined(separator: ".")): \(c.debugDescription)"
        case .keyNotFound(let key, _): "`\(key.stringValue)` is missing"
        default: "\(error)"
        }
    }

    /// Server-Sent Events: `decision` events, then one `end`; a comment line keeps an idle
    /// connection open. The response ends with the stream, or when the daemon shuts down.
    func events(of stream: LiveStream) -> Response {
        let body = ResponseBody { writer in
            let events = stream.follow()
            try await withGracefulShutdownHandler {
                for await event in events {
                    if let (name, json) = event.named {
                        try await writer.write(ByteBuffer(string: JobEventStream.event(name, data: json)))
                    } else {
                        try await writer.write(ByteBuffer(string: ": keep-alive\n\n"))
                    }
                }
            } onGracefulShutdown: {
                stream.stop()
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"], body: body)
    }
}

/// The WebSocket side of `GET /v1/streams/{id}/ws`: each event as a text message
/// `{"event": "decision"|"end", "data": {…}}`, then a normal close. A request that is refused
/// here (no such stream, no token) falls through to the HTTP route, which answers it.
struct StreamSocketRoutes: Sendable {
    let board: StreamBoard
    let token: BearerToken?
    let scope: AuthScope

    func router() -> Router<BasicWebSocketRequestContext> {
        let router = Router(context: BasicWebSocketRequestContext.self)
        router.ws("/v1/streams/{id}/ws") { request, context in
            if let token, scope.guards(path: "/v1/streams") {
                do { try token.authorize(request) } catch { return .dontUpgrade }
            }
            guard let id = context.parameters.get("id"), board.stream(id) != nil else { return .dontUpgrade }
            return .upgrade([:])
        } onUpgrade: { inbound, outbound, context in
            guard let id = context.requestContext.parameters.get("id"), let stream = board.stream(id) else { return }
            let events = stream.follow()
            // The client's messages are not needed, but reading them notices its close.
            let reader = Task { for try await _ in inbound {} }
            defer { reader.cancel() }
            for await event in events {
                guard let (name, json) = event.named else { continue }
                try await outbound.write(.text("{\"event\":\"\(name)\",\"data\":\(json)}"))
            }
        }
        return router
    }
}
