import Clips
import Engine
import Foundation
import NN
import TensorIO
import Zoo

/// What a checkpoint says about itself, so that prediction and serving need nothing else.
public struct CheckpointInfo: Codable, Sendable, Equatable {
    public var format = 1
    public var preset: String
    public var classNames: [String]
    public var input: InputSpec
    public var epoch: Int
    public var step: Int
    /// The best validation score so far (by `output.save_best_by`).
    public var bestTop1: Double?
    /// Batches of epoch `epoch` already trained, when the run stopped mid-epoch.
    public var batch: Int?
    /// The job config that trained it, when a job did.
    public var config: JobConfig?
    /// For flow models: how the training flow was extracted (the dataset's `flow.json`), so that
    /// flow computed from a raw video at prediction time matches it.
    public var flow: FlowExtractionOptions?
    /// For two-stream models: how the streams' scores are fused.
    public var fusion: TwoStream.Fusion?

    public init(preset: String, classNames: [String], input: InputSpec, epoch: Int = 0, step: Int = 0,
                bestTop1: Double? = nil, config: JobConfig? = nil) {
        self.preset = preset
        self.classNames = classNames
        self.input = input
        self.epoch = epoch
        self.step = step
        self.bestTop1 = bestTop1
        self.config = config
    }
}

public enum CheckpointError: Error, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case notMotive(path: String)
    case incompatible(path: String, reason: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): "cannot read checkpoint \(path): \(reason)"
        case .notMotive(let path): "\(path) is a safetensors file without Motive's checkpoint metadata"
        case .incompatible(let path, let reason): "checkpoint \(path) does not fit: \(reason)"
        }
    }
}

/// One safetensors file per checkpoint: the model's state under `model.`, the optimizer's under
/// `optimizer.`, and `CheckpointInfo` as JSON in the metadata. Written to a temporary file and
/// renamed into place, so a crash mid-save leaves the previous checkpoint whole.
public enum Checkpoint {
    static let infoKey = "motive"

    public static func save(model: Module, optimizer: (any Optimizer)? = nil, info: CheckpointInfo, to url: URL) throws {
        var entries = model.stateDict().map { (name: "model." + $0.0, tensor: $0.1) }
        if let optimizer { entries += optimizer.stateDict().map { (name: "optimizer." + $0.0, tensor: $0.1) } }
        let json = String(decoding: try JSONEncoder().encode(info), as: UTF8.self)
        try SafeTensors(entries, metadata: ["format": "pt", infoKey: json]).write(to: url)
    }

    /// The checkpoint's description and tensors, without building anything.
    public static func read(_ url: URL) throws(CheckpointError) -> (info: CheckpointInfo, model: [String: Tensor], optimizer: [String: Tensor]) {
        let file: SafeTensors
        do { file = try SafeTensors(contentsOf: url) } catch { throw .unreadable(path: url.path, reason: "\(error)") }
        guard let json = file.metadata[infoKey],
              let info = try? JSONDecoder().decode(CheckpointInfo.self, from: Data(json.utf8)) else { throw .notMotive(path: url.path) }
        var model: [String: Tensor] = [:], optimizer: [String: Tensor] = [:]
        for entry in file.entries {
            if entry.name.hasPrefix("model.") { model[String(entry.name.dropFirst(6))] = entry.tensor }
            if entry.name.hasPrefix("optimizer.") { optimizer[String(entry.name.dropFirst(10))] = entry.tensor }
        }
        return (info, model, optimizer)
    }

    /// Writes the model part of a checkpoint alone (no optimizer state): what serving needs,
    /// a third of an AdamW checkpoint's size. The description is kept.
    public static func export(_ source: URL, to target: URL) throws {
        let (model, info) = try loadModel(source)
        try save(model: model, info: info, to: target)
    }

    /// Builds the checkpoint's model (its preset, with its class count) and loads its weights.
    public static func loadModel(_ url: URL) throws(CheckpointError) -> (model: VideoModel, info: CheckpointInfo) {
        let (info, state, _) = try read(url)
        let preset: ModelPreset
        do { preset = try ModelZoo.preset(named: info.preset) } catch { throw .incompatible(path: url.path, reason: "\(error)") }
        let model = preset.build(classes: info.classNames.count)
        do { try model.loadStateDict(state) } catch { throw .incompatible(path: url.path, reason: "\(error)") }
        if let twoStream = model as? TwoStream, let fusion = info.fusion { twoStream.fusion = fusion }
        return (model.eval(), info)
    }
}
