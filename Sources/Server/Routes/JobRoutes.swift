import Foundation
import Hummingbird
import NIOCore
import NIOHTTP1

/// `/v1/jobs`: submit a job (training or bench), list, inspect, follow and cancel jobs, and read their files.
struct JobRoutes: Sendable {
    let board: JobBoard
    let models: ModelRegistry
    let submission: JobSubmission
    /// Largest job config accepted.
    static let maxConfigBytes = 1 << 20

    func register(on table: RouteTable) {
        table.on(.post, "/v1/jobs") { request, context in try await submit(request, context: context) }
        table.on(.get, "/v1/jobs") { _, _ in
            struct List: Encodable { let jobs: [JobView] }
            return try .json(List(jobs: board.views()))
        }
        table.on(.get, "/v1/jobs/{id}") { _, context in try .json(try job(context)) }
        table.on(.get, "/v1/jobs/{id}/log") { _, context in try log(of: try job(context).id) }
        table.on(.get, "/v1/jobs/{id}/events") { request, context in
            let id = try job(context).id
            let lastSeen = request.headers[Self.lastEventID].flatMap { Int($0) } ?? 0
            return JobEventStream(board: board).response(job: id, lastEventID: lastSeen)
        }
        table.on(.delete, "/v1/jobs/{id}") { request, context in try cancel(request, context: context) }
        table.on(.get, "/v1/jobs/{id}/files") { _, context in
            let id = try job(context).id
            return try .json(JobFiles(folder: board.store.runDirectory(of: id)).list())
        }
        table.on(.get, "/v1/jobs/{id}/files/{name}") { _, context in
            let id = try job(context).id
            return try JobFiles(folder: board.store.runDirectory(of: id)).response(for: [try context.parameters.require("name")])
        }
        table.on(.get, "/v1/jobs/{id}/files/{folder}/{name}") { _, context in
            let id = try job(context).id
            let parts = [try context.parameters.require("folder"), try context.parameters.require("name")]
            return try JobFiles(folder: board.store.runDirectory(of: id)).response(for: parts)
        }
    }

    static let lastEventID = HeaderName("Last-Event-ID")!

    func job(_ context: ServerContext) throws -> JobView {
        let id = try context.parameters.require("id")
        guard let view = board.view(id) else { throw APIError.notFound("no job \(id); GET /v1/jobs lists them", code: "job_not_found") }
        return view
    }

    func submit(_ request: Request, context: ServerContext) async throws -> Response {
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > Self.maxConfigBytes {
            throw APIError(.contentTooLarge, code: "payload_too_large", "a job config may be at most 1 MB", closesConnection: true)
        }
        context.continueIfExpected(request)
        let bytes: ByteBuffer
        do { bytes = try await request.body.collect(upTo: Self.maxConfigBytes) } catch let error as HTTPParserError {
            throw APIError.malformedBody("\(error)")
        }
        guard let yaml = bytes.getString(at: bytes.readerIndex, length: bytes.readableBytes), !yaml.isEmpty else {
            throw APIError.badRequest("send the job config (YAML, UTF-8) as the request body", code: "invalid_config")
        }
        let work = try submission.check(yaml) { models.model(named: $0)?.checkpoint }
        let record = try board.submit(work, submittedYAML: yaml) { models.model(named: $0) != nil }
        let what: String = switch work {
        case .train(let config): config.model.preset
        case .bench(let spec): spec.models.joined(separator: " ")
        case .check(let spec): spec.name
        }
        context.logger.info("job queued", metadata: ["job": .string(record.id), "kind": .string(record.kind.rawValue), "models": .string(what)])
        struct Created: Encodable { let id: String; let kind: JobKind; let state: JobState; let modelName: String?
            enum CodingKeys: String, CodingKey { case id, kind, state, modelName = "model_name" } }
        return try .json(Created(id: record.id, kind: record.kind, state: record.state, modelName: record.kind == .train ? record.modelName : nil),
                         status: .created, headers: [.location: "/v1/jobs/\(record.id)"])
    }

    func cancel(_ request: Request, context: ServerContext) throws -> Response {
        let id = try context.parameters.require("id")
        switch board.cancel(id) {
        case .notFound: throw APIError.notFound("no job \(id); GET /v1/jobs lists them", code: "job_not_found")
        case .alreadyFinished(let state): throw APIError.conflict("job \(id) has already \(state == .cancelled ? "been cancelled" : state.rawValue)")
        case .cancelled(let view): return try .json(view)
        case .stopping(let view): return try .json(view, status: .accepted)
        }
    }

    /// The run's `log.jsonl`, streamed from disk (empty until the job starts).
    func log(of id: String) throws -> Response {
        let path = board.store.runDirectory(of: id).appendingPathComponent("log.jsonl").path
        return Response(status: .ok, headers: [.contentType: "application/x-ndjson"], body: JobFiles.streaming(path))
    }
}
