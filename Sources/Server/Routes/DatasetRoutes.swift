import Datasets
import Foundation
import Hummingbird
import Support

/// `/v1/datasets`: upload a dataset as an archive, follow its check, read and delete it.
///
/// `PUT /v1/datasets/{name}` streams the archive (tar, tar.gz or zip) into the spool, unpacks it
/// with `ArchiveExtractor` into a fresh folder under the data root's `datasets/`, finds or writes
/// its lists (`DatasetLayout`, as `format` says), publishes the folder under the dataset's name,
/// and queues a check job: 202 `{name, state: "checking", check_job}`. Every refusal is a 4xx
/// naming the reason, and leaves nothing behind.
struct DatasetRoutes: Sendable {
    let store: DatasetStore
    let board: JobBoard
    let spool: UploadSpool
    let receiver: UploadReceiver

    func register(on table: RouteTable) {
        table.on(.put, "/v1/datasets/{name}") { request, context in try await upload(request, context: context) }
        table.on(.get, "/v1/datasets") { _, _ in
            struct List: Encodable { let datasets: [DatasetView] }
            return try .json(List(datasets: store.views()))
        }
        table.on(.get, "/v1/datasets/{name}") { _, context in
            let name = try context.parameters.require("name")
            guard let view = store.view(name) else { throw Self.notFound(name) }
            return try .json(view)
        }
        table.on(.delete, "/v1/datasets/{name}") { _, context in
            let name = try context.parameters.require("name")
            switch store.delete(name) {
            case .notFound: throw Self.notFound(name)
            case .inUse(let job):
                throw APIError(.conflict, code: "dataset_in_use", "dataset \(name) is in use by job \(job); cancel it or wait for it to finish")
            case .deleted:
                context.logger.info("dataset deleted", metadata: ["dataset": .string(name)])
                struct Deleted: Encodable { let name: String; let deleted = true }
                return try .json(Deleted(name: name))
            }
        }
    }

    static func notFound(_ name: String) -> APIError {
        .notFound("no dataset \(name); GET /v1/datasets lists them", code: "dataset_not_found")
    }

    func upload(_ request: Request, context: ServerContext) async throws -> Response {
        let text = try context.parameters.require("name")
        var bodyRead = false
        do {
            guard let name = DatasetName(text) else { throw APIError.badRequest("\(text): \(DatasetName.rule)", code: "invalid_name") }
            let query = request.uri.queryParameters
            let format = try query["format"].map { value throws(APIError) in
                guard let format = DatasetFormat(rawValue: String(value)) else {
                    throw .badRequest("format must be one of \(DatasetFormat.allCases.map(\.rawValue).joined(separator: ", ")), got \(value)",
                                      code: "bad_parameter")
                }
                return format
            } ?? .lists
            let split = try query["split"].map { value throws(APIError) in
                guard let n = Int(String(value)), (1...3).contains(n) else { throw .badRequest("split must be 1, 2 or 3, got \(value)", code: "bad_parameter") }
                return n
            } ?? 1
            try store.reserve(name)
            var claimed = true
            defer { if claimed { store.release(name) } }
            let target = store.files(of: name)
            let (summary, lists) = try await spool.withUploadPath { path in
                let bytes = try await receiver.receive(request, format: .raw, to: path, context: context)
                bodyRead = true
                context.logger.info("dataset received", metadata: ["dataset": .string(name.value), "bytes": .stringConvertible(bytes)])
                return try await onOwnThread(named: "motive-dataset-\(name)") { [store] in
                    let incoming: URL
                    do { incoming = try store.incomingFolder() } catch {
                        throw APIError.internalError("cannot write under the data root's datasets/: \(error)")
                    }
                    return try Self.unpack(URL(fileURLWithPath: path), into: target, incoming: incoming, limits: store.limits,
                                           format: format, split: split)
                }
            }
            let spec = DatasetCheckSpec(name: name.value, lists: lists)
            let job: JobRecord
            do {
                job = try board.submit(.check(spec), submittedYAML: "kind: check\ndataset: \(name)\nformat: \(format.rawValue)\n",
                                       dataRoot: ConfinedPath(store.folder)) { _ in false }
                try store.add(DatasetRecord(name: name.value, format: format, createdAt: Date(), files: summary.files + summary.directories,
                                            bytes: summary.bytes, lists: lists, checkJob: job.id))
            } catch {
                try? FileManager.default.removeItem(at: target)
                throw error
            }
            claimed = false
            context.logger.info("dataset unpacked, check queued", metadata: ["dataset": .string(name.value), "job": .string(job.id),
                                                                             "files": .stringConvertible(summary.files)])
            struct Accepted: Encodable {
                let name: String, state: DatasetState, checkJob: String
                enum CodingKeys: String, CodingKey { case name, state, checkJob = "check_job" }
            }
            return try .json(Accepted(name: name.value, state: .checking, checkJob: job.id), status: .accepted,
                             headers: [.location: "/v1/datasets/\(name)"])
        } catch var error as APIError where !bodyRead && request.hasBody {
            // Refused before reading the upload: do not read the rest of it either.
            error.closesConnection = true
            throw error
        }
    }

    /// Unpacks the archive into `incoming`, lays it out, and renames it to `target`; on any
    /// failure nothing of it remains.
    static func unpack(_ archive: URL, into target: URL, incoming: URL, limits: ArchiveLimits, format: DatasetFormat,
                       split: Int) throws(APIError) -> (ExtractionSummary, DatasetLists) {
        let fm = FileManager.default
        let summary: ExtractionSummary
        do { summary = try ArchiveExtractor.extract(archive, into: incoming, limits: limits) } catch { throw archiveError(error, limits: limits) }
        // rename(2) without replacing: a folder of that name (another replica's dataset, on a shared
        // data root) is never overwritten.
        guard !fm.fileExists(atPath: target.path) else {
            try? fm.removeItem(at: incoming)
            throw APIError(.conflict, code: "dataset_exists", "the data root already holds datasets/\(target.lastPathComponent)")
        }
        do {
            try fm.moveItem(at: incoming, to: target)
        } catch {
            try? fm.removeItem(at: incoming)
            throw .internalError("cannot move the unpacked dataset into place: \(error)")
        }
        do {
            return (summary, try DatasetLayout.prepare(target, format: format, split: split))
        } catch {
            try? fm.removeItem(at: target)
            throw APIError(.unprocessableContent, code: error.code, "the archive's layout (format \(format.rawValue)): \(error)")
        }
    }

    static func archiveError(_ error: ArchiveError, limits: ArchiveLimits) -> APIError {
        switch error {
        case .tooManyFiles, .tooLarge:
            APIError(.contentTooLarge, code: error.code, "\(error) (--max-dataset-files \(limits.maxFiles), --max-dataset-gb \(formatGB(limits.maxBytes)))")
        case .io:
            APIError(.internalServerError, code: error.code, "\(error)")
        default:
            APIError(.badRequest, code: error.code, "the archive is refused: \(error)")
        }
    }

    static func formatGB(_ bytes: Int64) -> String { String(format: "%g", Double(bytes) / Double(1 << 30)) }
}
