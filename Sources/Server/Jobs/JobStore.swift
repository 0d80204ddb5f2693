import Foundation
import Support
import Inference
import Training
#if canImport(Glibc)
import Glibc
#endif

/// Job records on disk, one folder per job under `<state>/jobs/<id>/`: `job.json` (the record),
/// `job.yaml` (the config as submitted) and `run/` (the run directory).
///
/// Why JSON files are as safe as a database here: one process owns the folder (an exclusive
/// lock on `<state>/lock`); every change rewrites one small record through `AtomicFile`
/// (temporary file, fsync, rename, then fsync of the folder), so after a crash — kill -9 or
/// power loss — each record is either its previous or its new version, never a mix; and no
/// change ever needs two records to agree (a transaction's only reason to exist).
struct JobStore: Sendable {
    let directory: URL

    init(stateDirectory: URL) throws {
        directory = stateDirectory.appendingPathComponent("jobs")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    func folder(of id: String) -> URL { directory.appendingPathComponent(id) }
    func runDirectory(of id: String) -> URL { folder(of: id).appendingPathComponent("run") }

    /// Writes a record atomically and durably.
    func save(_ record: JobRecord) throws {
        let folder = folder(of: record.id)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try AtomicFile.write(try Self.encoder.encode(record), to: folder.appendingPathComponent("job.json"))
    }

    /// Keeps the job's config as it was sent, next to its record.
    func saveSubmittedConfig(_ yaml: String, id: String) throws {
        let folder = folder(of: id)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try AtomicFile.write(Data(yaml.utf8), to: folder.appendingPathComponent("job.yaml"))
    }

    /// Every stored record, and the highest job number in use (records or folders).
    func loadAll() -> (records: [JobRecord], highestNumber: Int, unreadable: [(file: String, reason: String)]) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        var records: [JobRecord] = [], unreadable: [(file: String, reason: String)] = []
        var highest = 0
        for name in names where !name.hasPrefix(".") {
            if let n = Int(name) { highest = max(highest, n) }
            let file = folder(of: name).appendingPathComponent("job.json")
            guard let data = FileManager.default.contents(atPath: file.path) else { continue }   // created, never recorded
            do {
                records.append(try Self.decoder.decode(JobRecord.self, from: data))
            } catch {
                unreadable.append((file.path, "\(error)"))
            }
        }
        return (records.sorted { $0.sequence < $1.sequence }, highest, unreadable)
    }

    static var encoder: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        e.dateEncodingStrategy = .iso8601
        return e
    }

    static var decoder: JSONDecoder {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .iso8601
        return d
    }
}
