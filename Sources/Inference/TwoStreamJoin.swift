import Clips
import Engine
import Foundation
import NN
import Zoo

/// Two separately trained streams (an RGB TSN and a flow TSN of the same backbone) as one
/// two-stream model, and the self-contained checkpoint that serves it.
public enum TwoStreamJoin {
    public enum JoinError: Error, CustomStringConvertible, Equatable {
        case noTwoStreamPreset(rgb: String, flow: String)
        case classesDiffer(rgb: [String], flow: [String])
        case customNormalization(String)

        public var description: String {
            switch self {
            case .noTwoStreamPreset(let rgb, let flow):
                "no two-stream preset joins \(rgb) (RGB) and \(flow) (flow); pairs: tsn_r50 + tsn_r50_flow, tsn_r18_tiny + tsn_r18_flow_tiny"
            case .classesDiffer(let rgb, let flow):
                "the streams have different classes: \(rgb.prefix(5).joined(separator: ", "))… and \(flow.prefix(5).joined(separator: ", "))…"
            case .customNormalization(let path):
                "\(path) normalises its frames with custom mean/std; a two-stream checkpoint records a named normalisation"
            }
        }
    }

    /// Loads both checkpoints and joins them: the RGB stream's weights under `rgb.`, the flow
    /// stream's under `flow.`, the flow stream's extraction options, and `fusion`.
    public static func join(rgb: URL, flow: URL, fusion: TwoStream.Fusion = .init()) throws -> (model: VideoModel, info: CheckpointInfo) {
        let (spatial, a) = try Checkpoint.loadModel(rgb)
        let (temporal, b) = try Checkpoint.loadModel(flow)
        guard let preset = ModelZoo.twoStreamPreset(rgb: a.preset, flow: b.preset) else {
            throw JoinError.noTwoStreamPreset(rgb: a.preset, flow: b.preset)
        }
        guard a.classNames == b.classNames else { throw JoinError.classesDiffer(rgb: a.classNames, flow: b.classNames) }
        let model = preset.build(classes: a.classNames.count)
        var state: [String: Tensor] = [:]
        for (key, t) in spatial.stateDict() { state["rgb." + key] = t }
        for (key, t) in temporal.stateDict() { state["flow." + key] = t }
        try model.loadStateDict(state, strict: true)
        model.configure(fusion: fusion)
        // The RGB part is tested with the normalisation its stream trained with.
        var input = preset.input
        if let used = a.testing?.normalization {
            guard let name = Normalization.Preset.allCases.first(where: { Normalization($0) == used }) else {
                throw JoinError.customNormalization(rgb.path)
            }
            input.normalization = name
        }
        var info = CheckpointInfo(preset: preset.name, classNames: a.classNames, input: input)
        info.flow = b.flow
        info.fusion = fusion
        return (model.eval(), info)
    }

    /// Joins the streams and writes the self-contained two-stream checkpoint.
    public static func write(rgb: URL, flow: URL, fusion: TwoStream.Fusion, to url: URL) throws -> CheckpointInfo {
        let (model, info) = try join(rgb: rgb, flow: flow, fusion: fusion)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Checkpoint.save(model: model, info: info, to: url)
        return info
    }
}
