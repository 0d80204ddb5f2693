import Engine
import Foundation
import TensorIO
import Zoo

/// Where a predictor's model comes from.
public enum PredictorSource: Sendable {
    /// A Motive checkpoint, or a run or model folder (`CheckpointLocator`'s rule).
    case checkpoint(String)
    /// A zoo preset: untrained, or filled from `weights` (a Motive checkpoint, or a state dict in
    /// `layout`'s keys).
    case preset(name: String, weights: String?, layout: CheckpointLayout, classes: Int?, strict: Bool)
    /// An RGB stream and a flow stream (checkpoints or folders), fused.
    case twoStream(rgb: String, flow: String, fusion: TwoStream.Fusion)
}

extension PredictorSource {
    /// What a user names as a model: an existing path is a checkpoint, a run or a model folder;
    /// anything else is a preset name, filled from `weights` when given.
    public static func named(_ model: String, weights: String? = nil, layout: CheckpointLayout = .motive, classes: Int? = nil,
                             strict: Bool = true) throws(PredictorSourceError) -> PredictorSource {
        if FileManager.default.fileExists(atPath: model) {
            guard weights == nil else { throw .weightsWithCheckpoint(model) }
            return .checkpoint(model)
        }
        return .preset(name: model, weights: weights, layout: layout, classes: classes, strict: strict)
    }
}

public enum PredictorSourceError: Error, CustomStringConvertible, Equatable {
    case weightsWithCheckpoint(String)

    public var description: String {
        switch self {
        case .weightsWithCheckpoint(let path): "--weights goes with a preset name; \(path) is already a checkpoint"
        }
    }
}

extension Predictor {
    /// The seed of an untrained preset's weights.
    public static let untrainedSeed: UInt64 = 0x5EED
}

/// What a caller overrides of a model's own test settings.
public struct ViewOverrides: Sendable {
    public var views: (clips: Int, crops: Int)?
    public var averaging: ViewAveraging?

    public init(views: (clips: Int, crops: Int)? = nil, averaging: ViewAveraging? = nil) {
        (self.views, self.averaging) = (views, averaging)
    }
}

extension Predictor {
    /// The predictor of `source`; `notes` says what a partial or untrained load left out.
    public static func load(_ source: PredictorSource, _ overrides: ViewOverrides = .init()) throws -> (predictor: Predictor, notes: [String]) {
        switch source {
        case .checkpoint(let path):
            let (model, info) = try Checkpoint.loadModel(CheckpointLocator.resolve(path))
            return (Predictor(model: model, info: info, overrides), [])
        case .twoStream(let rgb, let flow, let fusion):
            let (model, info) = try TwoStreamJoin.join(rgb: CheckpointLocator.resolve(rgb), flow: CheckpointLocator.resolve(flow), fusion: fusion)
            return (Predictor(model: model, info: info, overrides), [])
        case .preset(let name, let weights, let layout, let classes, let strict):
            let preset = try ModelZoo.preset(named: name)
            if let classes { try ModelPreset.checkClasses(classes) }
            guard let weights else {
                // Seeded, so that an untrained preset has the same weights in every process (ONNX parity fixtures).
                let model = GlobalRandom.withSeed(Self.untrainedSeed) { preset.build(classes: classes) }
                let info = CheckpointInfo(preset: preset.name, classNames: Self.placeholderNames(classifierRows(model.stateDict()) ?? preset.defaultClasses),
                                          input: preset.input)
                return (Predictor(model: model, info: info, overrides), ["\(name) has no weights; its predictions are those of random weights"])
            }
            let url = URL(fileURLWithPath: weights)
            // A Motive checkpoint keeps the model under `model.`, in our keys, with its class names.
            var state: [String: Tensor], names: [String]?
            if let checkpoint = try? Checkpoint.read(url) {
                guard layout == .motive else { throw CheckpointError.incompatible(path: weights, reason: "it is a Motive checkpoint; a key layout goes with raw state dicts") }
                (state, names) = (checkpoint.model, checkpoint.info.classNames)
            } else {
                state = try readStateDict(url)
            }
            let loaded = try ForeignWeights.load(state, layout: layout, preset: preset, classes: classes, strict: strict)
            let count = classifierRows(loaded.model.stateDict()) ?? preset.defaultClasses
            let info = CheckpointInfo(preset: preset.name, classNames: names?.count == count ? names! : Self.placeholderNames(count), input: preset.input)
            return (Predictor(model: loaded.model, info: info, overrides), loaded.warnings)
        }
    }

    /// A predictor for a loaded checkpoint: its test settings, with `overrides` on top. Other
    /// views than the checkpoint's drop its own test pipeline (whose crops make its views).
    public convenience init(model: VideoModel, info: CheckpointInfo, _ overrides: ViewOverrides = .init()) {
        var plan = ViewPlan(input: info.input, info.testing ?? TestSettings())
        if let views = overrides.views { plan = plan.with(clips: views.clips, crops: views.crops) }
        if let averaging = overrides.averaging { plan.averaging = averaging }
        plan.flowOptions = info.flow ?? .init()
        self.init(model: model, preset: info.preset, classNames: info.classNames, plan: plan)
    }

    static func placeholderNames(_ count: Int) -> [String] { (0..<count).map { "class_\($0)" } }
}
