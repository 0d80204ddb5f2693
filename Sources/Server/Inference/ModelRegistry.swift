import Foundation
import Inference
import Logging
import NIOConcurrencyHelpers

/// The models the server answers with, by name. Loaded at start from the models folder and
/// from succeeded jobs, and added to when a job succeeds.
public final class ModelRegistry: Sendable {
    private let models = NIOLockedValueBox<[String: ServedModel]>([:])
    private let metrics: ServerMetrics

    init(metrics: ServerMetrics) {
        self.metrics = metrics
    }

    public var all: [ServedModel] { models.withLockedValue { Array($0.values) }.sorted { $0.summary.name < $1.summary.name } }

    public func model(named name: String) -> ServedModel? { models.withLockedValue { $0[name] } }

    /// Adds a model, replacing one of the same name.
    @discardableResult
    func add(_ model: ServedModel) -> ServedModel? {
        metrics.recordModelLoad(name: model.summary.name, seconds: model.summary.loadSeconds)
        return models.withLockedValue { $0.updateValue(model, forKey: model.summary.name) }
    }

    /// The model a request names, or the default: the one named `default`, else the only one.
    func resolve(_ name: String?) throws(APIError) -> ServedModel {
        let found: ServedModel? = models.withLockedValue { models in
            if let name { return models[name] }
            return models["default"] ?? (models.count == 1 ? models.values.first : nil)
        }
        if let found { return found }
        if let name { throw .notFound("no model named \(name); GET /v1/models lists them", code: "model_not_found") }
        let names = all.map(\.summary.name)
        throw .notFound(names.isEmpty ? "no model is loaded" : "no model named `default`; choose one with model= (\(names.joined(separator: ", ")))",
                        code: "model_not_found")
    }

    /// Loads every subfolder of `folder` that holds a checkpoint, named after the subfolder.
    /// A folder that fails to load is logged and skipped.
    func loadFolder(_ folder: URL, logger: Logger) {
        let fm = FileManager.default
        let names = ((try? fm.contentsOfDirectory(atPath: folder.path)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
        for name in names {
            let sub = folder.appendingPathComponent(name)
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: sub.path, isDirectory: &isDir), isDir.boolValue,
                  let checkpoint = CheckpointLocator.checkpoint(inFolder: sub) else { continue }
            do {
                let model = try ServedModel(name: name, checkpoint: checkpoint, source: "models")
                add(model)
                logger.info("model loaded", metadata: ["model": .string(name), "checkpoint": .string(checkpoint.path),
                                                       "seconds": .string(String(format: "%.2f", model.summary.loadSeconds))])
            } catch {
                logger.error("model not loaded", metadata: ["model": .string(name), "error": "\(error)"])
            }
        }
    }
}
