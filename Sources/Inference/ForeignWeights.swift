import Engine
import Foundation
import NN
import TensorIO
import Zoo

/// A raw state dict from a weight file: safetensors, or a torch.save checkpoint (its
/// `state_dict`/`model`/`model_state` entry when nested, `module.` prefixes removed).
public func readStateDict(_ url: URL) throws -> [String: Tensor] {
    try WeightFile.stateDict(contentsOf: url).tensors
}

/// The class count of a state dict: the rows of its classifier (`fc` in torchvision, `fc8` in
/// C3D, `proj` in PyTorchVideo, `classifier` in Hugging Face's TimeSformer).
public func classifierRows(_ state: [(String, Tensor)]) -> Int? {
    state.first { key, t in
        t.rank == 2 && ["fc.weight", "fc8.weight", "proj.weight", "classifier.weight"].contains { key == $0 || key.hasSuffix("." + $0) }
    }?.1.shape[0]
}

/// A zoo preset built and filled from a state dict in a public key layout.
public struct ForeignWeights {
    public let model: VideoModel
    public let report: LoadReport
    /// Checkpoint keys no row of the key map places (non-strict loads only).
    public let unmapped: [String]
    public let origin: [String: String]
    public let note: String?

    /// Renames `state` from `layout` to `preset`'s keys, builds the preset with `classes` (default:
    /// the rows of the renamed classifier) and loads it. Strict: any unmapped, missing,
    /// unexpected or mis-shaped key is an error listing them all.
    public static func load(_ state: [String: Tensor], layout: CheckpointLayout, preset: ModelPreset, classes: Int?,
                            strict: Bool) throws -> ForeignWeights {
        let map = try KeyMaps.map(from: layout, to: preset.name)
        let mapped = map.apply(state)
        if let collision = mapped.collisions.first { throw KeyMapError.collision(target: collision.target, sources: collision.sources) }
        if strict && !mapped.unknown.isEmpty {
            throw KeyMapError.unmapped(layout: layout, preset: preset.name, keys: mapped.unknown, note: map.note)
        }
        let count = classes ?? classifierRows(mapped.tensors.map { ($0.key, $0.value) })
        if let count { try ModelPreset.checkClasses(count) }
        let model = preset.build(classes: count).eval()
        do {
            let report = try model.load(mapped.tensors, strict: strict, origin: mapped.sources)
            return ForeignWeights(model: model, report: report, unmapped: mapped.unknown, origin: mapped.sources, note: map.note)
        } catch let error as LoadMismatchError {
            throw WeightsDoNotFit(preset: preset.name, layout: layout, mismatch: error, note: map.note)
        }
    }

    /// What a non-strict load left out, and the map's note: one line each.
    public var warnings: [String] {
        var lines = LoadReport.abbreviated(unmapped) { "not loaded: no place for \($0)" }
            + report.lines(origin: origin).map { "not loaded: " + $0 }
        if let note { lines.append("note: " + note) }
        return lines
    }

    /// The model's class count.
    public var classes: Int { classifierRows(model.stateDict()) ?? 0 }
}

/// A strict load that found differences, with the key map's note on what else differs.
public struct WeightsDoNotFit: Error, CustomStringConvertible {
    public let preset: String
    public let layout: CheckpointLayout
    public let mismatch: LoadMismatchError
    public let note: String?

    public var description: String {
        "\(layout.rawValue) weights do not fit \(preset) (\(mismatch.report.summary); --strict false loads what fits):\n  "
            + mismatch.report.lines(origin: mismatch.origin).joined(separator: "\n  ") + (note.map { "\nnote: " + $0 } ?? "")
    }
}

extension Checkpoint {
    /// Converts a public state dict into a self-contained Motive checkpoint of `preset`.
    public static func convert(_ state: [String: Tensor], layout: CheckpointLayout, preset: ModelPreset, classes: Int?,
                               classNames: [String]?, strict: Bool, to url: URL) throws -> ForeignWeights {
        let loaded = try ForeignWeights.load(state, layout: layout, preset: preset, classes: classes, strict: strict)
        let count = classifierRows(loaded.model.stateDict()) ?? preset.defaultClasses
        if let classNames, classNames.count != count {
            throw CheckpointError.incompatible(path: url.path, reason: "\(classNames.count) class names for a classifier of \(count) classes")
        }
        let names = classNames ?? (0..<count).map { "class_\($0)" }
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try save(model: loaded.model, info: CheckpointInfo(preset: preset.name, classNames: names, input: preset.input), to: url)
        return loaded
    }
}
