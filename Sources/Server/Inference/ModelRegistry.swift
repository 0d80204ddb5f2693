import Foundation
import Inference
import Logging
import NIOConcurrencyHelpers
import Support

/// The models the server answers with, by name. Loaded at start from the models folder and
/// from succeeded jobs, added to when a job succeeds, and when a scan of the models folder finds
/// a new one: a request naming a model it does not serve scans first, and so does
/// `POST /v1/models/rescan`. That is how a replica serves a model another replica's job wrote
/// into a models folder they share (`--publish-models`).
public final class ModelRegistry: Sendable {
    private let models = NIOLockedValueBox<[String: ServedModel]>([:])
    private let metrics: ServerMetrics
    private let folder: URL?
    private let logger: Logger
    /// Held by the scan that is loading, so that two scans never load the same folder.
    private let scanning = Locked<Void>(())
    /// Each name's checkpoint as it was when it last failed to load, so that a broken folder is
    /// tried again only once its checkpoint changes.
    private let failed = Locked<[String: CheckpointStamp]>([:])

    init(metrics: ServerMetrics, folder: URL?, logger: Logger) {
        self.metrics = metrics
        self.folder = folder
        self.logger = logger
    }

    public var all: [ServedModel] { models.withLockedValue { Array($0.values) }.sorted { $0.summary.name < $1.summary.name } }

    public func model(named name: String) -> ServedModel? { models.withLockedValue { $0[name] } }

    /// The model named `name`, scanning the models folder first when none is served by that name.
    func find(_ name: String) async -> ServedModel? {
        if let found = model(named: name) { return found }
        guard unloaded().contains(where: { $0.name == name }) else { return nil }
        await onOwnThread(named: "motive-model-scan") { [self] in _ = rescan() }
        return model(named: name)
    }

    /// Adds a model, replacing one of the same name.
    @discardableResult
    func add(_ model: ServedModel) -> ServedModel? {
        metrics.recordModelLoad(name: model.summary.name, seconds: model.summary.loadSeconds)
        return models.withLockedValue { $0.updateValue(model, forKey: model.summary.name) }
    }

    /// The model a request names, or the default: the one named `default`, else the only one.
    func resolve(_ name: String?) async throws(APIError) -> ServedModel {
        if let name {
            if let found = await find(name) { return found }
            throw .notFound("no model named \(name); GET /v1/models lists them", code: "model_not_found")
        }
        let found: ServedModel? = models.withLockedValue { models in
            models["default"] ?? (models.count == 1 ? models.values.first : nil)
        }
        if let found { return found }
        let names = all.map(\.summary.name)
        throw .notFound(names.isEmpty ? "no model is loaded" : "no model named `default`; choose one with model= (\(names.joined(separator: ", ")))",
                        code: "model_not_found")
    }

    /// Loads every subfolder of the models folder that holds a checkpoint and names no served
    /// model; returns the names added. A served model is never replaced or dropped here (a
    /// restart does that), and a folder that fails to load is logged and skipped, and tried
    /// again once its checkpoint changes (a copy still being written, say). Blocks while it loads.
    @discardableResult
    func rescan() -> [String] {
        scanning.withLock { _ in
            var added: [String] = []
            for (name, checkpoint, stamp) in unloaded() where model(named: name) == nil {
                do {
                    let model = try ServedModel(name: name, checkpoint: checkpoint, source: "models")
                    add(model)
                    failed.withLock { $0[name] = nil }
                    added.append(name)
                    logger.info("model loaded", metadata: ["model": .string(name), "checkpoint": .string(checkpoint.path),
                                                           "seconds": .string(String(format: "%.2f", model.summary.loadSeconds))])
                } catch {
                    failed.withLock { $0[name] = stamp }
                    logger.error("model not loaded", metadata: ["model": .string(name), "error": "\(error)"])
                }
            }
            return added
        }
    }

    /// The models folder's checkpoints that a scan would load: in a subfolder that names no
    /// served model, and not the very file that last failed. Only lists and stats, so a request
    /// naming an unknown model costs a directory listing, and starts a scan only when the folder
    /// holds a new checkpoint by that name.
    private func unloaded() -> [(name: String, checkpoint: URL, stamp: CheckpointStamp)] {
        guard let folder else { return [] }
        let fm = FileManager.default
        let names = ((try? fm.contentsOfDirectory(atPath: folder.path)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
        let failures = failed.withLock { $0 }
        return names.compactMap { name in
            guard model(named: name) == nil else { return nil }
            let sub = folder.appendingPathComponent(name)
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: sub.path, isDirectory: &isDir), isDir.boolValue,
                  let checkpoint = CheckpointLocator.checkpoint(inFolder: sub) else { return nil }
            let stamp = CheckpointStamp(checkpoint)
            return failures[name] == stamp ? nil : (name, checkpoint, stamp)
        }
    }
}


/// A checkpoint file as a scan saw it: which file, how long, when last written.
struct CheckpointStamp: Equatable {
    let path: String
    let bytes: Int
    let modified: Date?

    init(_ checkpoint: URL) {
        let attributes = try? FileManager.default.attributesOfItem(atPath: checkpoint.path)
        path = checkpoint.path
        bytes = (attributes?[.size] as? Int) ?? -1
        modified = attributes?[.modificationDate] as? Date
    }
}
