import Datasets
import Foundation
import NIOConcurrencyHelpers
import Support

/// Where an uploaded dataset is in its life.
public enum DatasetState: String, Codable, Sendable, CaseIterable {
    /// Its check job is queued or running.
    case checking
    /// Checked, with at least one readable training video (perhaps with warnings).
    case ready
    /// Nothing usable remains, or its check failed or was cancelled.
    case invalid
}

/// An uploaded dataset as stored in the state folder (`datasets/<name>.json`). Its files live in
/// the data root's `datasets/<name>/`; its state comes from its check job.
struct DatasetRecord: Codable, Sendable, Equatable {
    static let currentSchemaVersion = 1
    var schemaVersion = DatasetRecord.currentSchemaVersion
    var name: String
    var format: DatasetFormat
    var createdAt: Date
    var files: Int
    var bytes: Int64
    var lists: DatasetLists
    var checkJob: String

    enum CodingKeys: String, CodingKey {
        case schemaVersion = "schema_version", name, format, createdAt = "created_at", files, bytes, lists, checkJob = "check_job"
    }

    init(name: String, format: DatasetFormat, createdAt: Date, files: Int, bytes: Int64, lists: DatasetLists, checkJob: String) {
        (self.name, self.format, self.createdAt, self.files, self.bytes, self.lists, self.checkJob) =
            (name, format, createdAt, files, bytes, lists, checkJob)
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        schemaVersion = try c.decodeIfPresent(Int.self, forKey: .schemaVersion) ?? 1
        name = try c.decode(String.self, forKey: .name)
        format = try c.decodeIfPresent(DatasetFormat.self, forKey: .format) ?? .lists
        createdAt = try c.decode(Date.self, forKey: .createdAt)
        files = try c.decodeIfPresent(Int.self, forKey: .files) ?? 0
        bytes = try c.decodeIfPresent(Int64.self, forKey: .bytes) ?? 0
        lists = try c.decode(DatasetLists.self, forKey: .lists)
        checkJob = try c.decode(String.self, forKey: .checkJob)
    }
}

/// What `GET /v1/datasets/{name}` returns: the record, its state, and its check's report.
public struct DatasetView: Codable, Sendable, Equatable {
    public var name: String
    public var state: DatasetState
    public var format: DatasetFormat
    public var createdAt: Date
    /// Files and bytes unpacked from the archive.
    public var files: Int
    public var bytes: Int64
    public var checkJob: String
    /// Why the dataset is invalid when its check did not finish (failed, cancelled).
    public var error: String?
    /// The check's findings, once it has finished: the class table, counts, total duration,
    /// resolutions, unreadable files and warnings.
    public var report: DatasetReport?

    enum CodingKeys: String, CodingKey {
        case name, state, format, createdAt = "created_at", files, bytes, checkJob = "check_job", error, report
    }
}

/// The uploaded datasets: their records, the names being uploaded, and their state, read from
/// their check jobs. Thread-safe.
final class DatasetStore: Sendable {
    /// `<data root>/datasets`: each dataset's files, in a folder named after it.
    let folder: URL
    /// `<state>/datasets`: one record per dataset.
    let recordFolder: URL
    let limits: ArchiveLimits
    let board: JobBoard
    private let state = NIOLockedValueBox(State())

    private struct State {
        var records: [String: DatasetRecord] = [:]
        /// Names whose upload is in progress.
        var uploading: Set<String> = []
    }

    static let incomingPrefix = ".incoming-", deletingPrefix = ".deleting-"

    /// Loads the records and removes what an interrupted upload or delete left behind: aside
    /// folders untouched for an hour (replicas may share the data root, and another one's upload
    /// may be unpacking right now). The data root's `datasets/` is made by the first upload, so a
    /// read-only data root serves everything else.
    init(dataRoot: URL, stateDirectory: URL, limits: ArchiveLimits, board: JobBoard) throws {
        folder = dataRoot.appendingPathComponent("datasets")
        recordFolder = stateDirectory.appendingPathComponent("datasets")
        (self.limits, self.board) = (limits, board)
        let fm = FileManager.default
        try fm.createDirectory(at: recordFolder, withIntermediateDirectories: true)
        for name in (try? fm.contentsOfDirectory(atPath: folder.path)) ?? []
        where name.hasPrefix(Self.incomingPrefix) || name.hasPrefix(Self.deletingPrefix) {
            let url = folder.appendingPathComponent(name)
            let modified = (try? fm.attributesOfItem(atPath: url.path)[.modificationDate] as? Date) ?? .distantPast
            if Date().timeIntervalSince(modified) > 3600 { try? fm.removeItem(at: url) }
        }
        var records: [String: DatasetRecord] = [:]
        for file in (try? fm.contentsOfDirectory(atPath: recordFolder.path)) ?? [] where file.hasSuffix(".json") {
            guard let data = try? Data(contentsOf: recordFolder.appendingPathComponent(file)),
                  let record = try? JobStore.decoder.decode(DatasetRecord.self, from: data) else { continue }
            records[record.name] = record
        }
        state.withLockedValue { $0.records = records }
    }

    /// The folder a dataset's files live in.
    func files(of name: DatasetName) -> URL { folder.appendingPathComponent(name.value) }

    /// A fresh folder to unpack an upload into, inside `folder` (so that a rename publishes it).
    func incomingFolder() throws -> URL {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder.appendingPathComponent(Self.incomingPrefix + UUID().uuidString)
    }

    /// Claims `name` for an upload: 409 when a dataset of that name exists or is being uploaded.
    func reserve(_ name: DatasetName) throws(APIError) {
        let refusal: APIError? = state.withLockedValue { s in
            if s.records[name.value] != nil {
                return APIError(.conflict, code: "dataset_exists", "dataset \(name) exists; DELETE /v1/datasets/\(name) first")
            }
            if s.uploading.contains(name.value) {
                return APIError(.conflict, code: "upload_in_progress", "dataset \(name) is being uploaded by another request")
            }
            s.uploading.insert(name.value)
            return nil
        }
        if let refusal { throw refusal }
    }

    /// Gives up a claim whose upload failed.
    func release(_ name: DatasetName) {
        _ = state.withLockedValue { $0.uploading.remove(name.value) }
    }

    /// Stores the record of a finished upload (its check job queued) and ends its claim.
    func add(_ record: DatasetRecord) throws {
        let encoder = JobStore.encoder
        try AtomicFile.write(try encoder.encode(record), to: recordFolder.appendingPathComponent("\(record.name).json"))
        state.withLockedValue { s in
            s.records[record.name] = record
            s.uploading.remove(record.name)
        }
    }

    func view(_ name: String) -> DatasetView? {
        guard let record = state.withLockedValue({ $0.records[name] }) else { return nil }
        return view(of: record)
    }

    func views() -> [DatasetView] {
        state.withLockedValue { Array($0.records.values) }.sorted { $0.name < $1.name }.map(view(of:))
    }

    private func view(of record: DatasetRecord) -> DatasetView {
        var view = DatasetView(name: record.name, state: .invalid, format: record.format, createdAt: record.createdAt, files: record.files,
                               bytes: record.bytes, checkJob: record.checkJob)
        guard let job = board.record(record.checkJob) else {
            view.error = "its check job \(record.checkJob) is gone"
            return view
        }
        switch job.state {
        case .queued, .running:
            view.state = .checking
        case .succeeded:
            if let report = DatasetCheckJobProcess.report(in: board.store.runDirectory(of: job.id)) {
                view.report = report
                view.state = report.state == .ready ? .ready : .invalid
            } else {
                view.error = "its check finished without a report"
            }
        case .failed:
            view.error = "its check failed: \(job.error ?? "no reason given")"
        case .cancelled:
            view.error = "its check was cancelled"
        }
        return view
    }

    /// The lists a training job on `name` reads: 409 unless the dataset is ready.
    func listsForTraining(_ name: String) throws(APIError) -> DatasetLists {
        guard let record = state.withLockedValue({ $0.records[name] }) else {
            throw .badRequest("data.dataset: there is no dataset \(name); GET /v1/datasets lists them", code: "dataset_not_found")
        }
        let view = view(of: record)
        guard view.state == .ready else {
            throw APIError(.conflict, code: "dataset_not_ready",
                           "data.dataset: dataset \(name) is \(view.state.rawValue)" + (view.error.map { " (\($0))" } ?? "") + "; a job trains on a ready dataset")
        }
        return record.lists
    }

    enum DeleteOutcome { case deleted, notFound, inUse(job: String) }

    /// Removes a dataset's record and files, unless a queued or running job uses it (its check
    /// included). The files are first renamed aside, so a crash mid-way leaves nothing half
    /// deleted under the dataset's name.
    func delete(_ name: String) -> DeleteOutcome {
        let outcome: DeleteOutcome = state.withLockedValue { s in
            guard let record = s.records[name] else { return .notFound }
            let user = board.views().first { view in
                !view.state.isFinished && (view.id == record.checkJob || view.dataset == name)
            }
            if let user { return .inUse(job: user.id) }
            s.records[name] = nil
            try? FileManager.default.removeItem(at: recordFolder.appendingPathComponent("\(name).json"))
            return .deleted
        }
        if case .deleted = outcome, let dataset = DatasetName(name) {
            let aside = folder.appendingPathComponent(Self.deletingPrefix + UUID().uuidString)
            if (try? FileManager.default.moveItem(at: files(of: dataset), to: aside)) != nil {
                try? FileManager.default.removeItem(at: aside)
            }
        }
        return outcome
    }
}
