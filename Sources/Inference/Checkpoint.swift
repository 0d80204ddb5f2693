import Clips
import Engine
import Foundation
import NN
import Specs
import Support
import TensorIO
import Zoo

/// What a checkpoint says about itself, so that prediction and serving need nothing else.
public struct CheckpointInfo: Codable, Sendable, Equatable {
    /// 2: `testing` is written, and view averaging uses MMAction2's names. 1: neither.
    public var format = 2
    public var preset: String
    public var classNames: [String]
    public var input: InputSpec
    public var epoch: Int
    public var step: Int
    /// The best validation score so far (by `output.save_best_by`).
    public var bestTop1: Double?
    /// Batches of epoch `epoch` already trained, when the run stopped mid-epoch.
    public var batch: Int?
    /// The job config that trained it, when a job did, kept as written (the `Training` layer owns its type).
    public var config: JSONValue?
    /// How the model is tested unless a caller says otherwise.
    public var testing: TestSettings?
    /// For flow models: how the training flow was extracted (the dataset's `flow.json`), so that
    /// flow computed from a raw video at prediction time matches it.
    public var flow: FlowExtractionOptions?
    /// For two-stream models: how the streams' scores are fused.
    public var fusion: TwoStream.Fusion?
    /// The processes of the distributed run that wrote it (nil: one). A mid-epoch position
    /// counts batches of one process's share, so a resume needs as many.
    public var processes: Int?

    public init(preset: String, classNames: [String], input: InputSpec, epoch: Int = 0, step: Int = 0, bestTop1: Double? = nil) {
        self.preset = preset
        self.classNames = classNames
        self.input = input
        self.epoch = epoch
        self.step = step
        self.bestTop1 = bestTop1
    }

    enum CodingKeys: String, CodingKey {
        case format, preset, classNames, input, epoch, step, bestTop1, batch, config, testing, flow, fusion, processes
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        format = try c.decodeIfPresent(Int.self, forKey: .format) ?? 1
        preset = try c.decode(String.self, forKey: .preset)
        classNames = try c.decode([String].self, forKey: .classNames)
        input = try c.decode(InputSpec.self, forKey: .input)
        epoch = try c.decode(Int.self, forKey: .epoch)
        step = try c.decode(Int.self, forKey: .step)
        bestTop1 = try c.decodeIfPresent(Double.self, forKey: .bestTop1)
        batch = try c.decodeIfPresent(Int.self, forKey: .batch)
        config = try c.decodeIfPresent(JSONValue.self, forKey: .config)
        flow = try c.decodeIfPresent(FlowExtractionOptions.self, forKey: .flow)
        fusion = try c.decodeIfPresent(TwoStream.Fusion.self, forKey: .fusion)
        processes = try c.decodeIfPresent(Int.self, forKey: .processes)
        testing = try c.decodeIfPresent(TestSettings.self, forKey: .testing) ?? config.flatMap(Self.legacyTesting)
    }

    /// Format-1 checkpoints keep their test settings only inside the job config, and name the
    /// view averaging the other way round (`score` for the mean of probabilities, `logit` for
    /// the mean of logits).
    static func legacyTesting(_ config: JSONValue) -> TestSettings? {
        func int(_ v: JSONValue?) -> Int? { if case .integer(let i)? = v { Int(i) } else { nil } }
        func decode<T: Decodable>(_ v: JSONValue?) -> T? {
            guard let v, let data = try? JSONEncoder().encode(v) else { return nil }
            return try? JSONDecoder().decode(T.self, from: data)
        }
        let eval = config["eval"], data = config["data"]
        var settings = TestSettings(clips: int(eval?["clips"]) ?? 1, crops: int(eval?["crops"]) ?? 1)
        if case .string("logit")? = eval?["average"] { settings.averaging = .score }
        settings.pipeline = decode(data?["test_pipeline"])
        let trainPipeline: ClipPipeline? = decode(data?["train_pipeline"])
        settings.normalization = settings.pipeline?.normalization ?? trainPipeline?.normalization
        return settings
    }
}

public enum CheckpointError: Error, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case notMotive(path: String)
    case incompatible(path: String, reason: String)
    case notFound(path: String, reason: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): "cannot read checkpoint \(path): \(reason)"
        case .notMotive(let path): "\(path) is a safetensors file without Motive's checkpoint metadata"
        case .incompatible(let path, let reason): "checkpoint \(path) does not fit: \(reason)"
        case .notFound(let path, let reason): "no checkpoint at \(path): \(reason)"
        }
    }
}

/// One safetensors file per checkpoint: the model's state under `model.`, the optimizer's under
/// `optimizer.`, and `CheckpointInfo` as JSON in the metadata. Written atomically, so a crash
/// mid-save leaves the previous checkpoint whole.
public enum Checkpoint {
    static let infoKey = "motive"

    public static func save(model: Module, optimizer: (any Optimizer)? = nil, info: CheckpointInfo, to url: URL) throws {
        var entries = model.stateDict().map { (name: "model." + $0.0, tensor: $0.1) }
        if let optimizer { entries += optimizer.stateDict().map { (name: "optimizer." + $0.0, tensor: $0.1) } }
        var info = info
        info.format = 2
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
        do { try ModelPreset.checkClasses(info.classNames.count) } catch { throw .incompatible(path: url.path, reason: "\(error)") }
        let model = preset.build(classes: info.classNames.count)
        do { try model.loadStateDict(state) } catch { throw .incompatible(path: url.path, reason: "\(error)") }
        if let fusion = info.fusion { model.configure(fusion: fusion) }
        return (model.eval(), info)
    }
}

/// Which file in a folder is its checkpoint. One rule for every consumer: a path to a file is
/// that file; in a run or model folder, `best.safetensors`, else `last.safetensors`, else
/// `model.safetensors`, else the folder's only `*.safetensors`. Resuming a run is the exception:
/// it continues from `last.safetensors`, the newest state, never the best.
public enum CheckpointLocator {
    public static let preferred = ["best.safetensors", "last.safetensors", "model.safetensors"]
    /// The checkpoint a run continues from.
    public static let resumeName = "last.safetensors"

    /// The checkpoint `path` names: the file, or the folder's checkpoint by the rule above.
    public static func resolve(_ path: String) throws(CheckpointError) -> URL {
        let url = URL(fileURLWithPath: path)
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) else {
            throw .notFound(path: path, reason: "no such file or folder")
        }
        guard isDir.boolValue else { return url }
        guard let found = checkpoint(inFolder: url) else {
            throw .notFound(path: path, reason: "the folder has none of \(preferred.joined(separator: ", ")) and not exactly one *.safetensors")
        }
        return found
    }

    /// The folder's checkpoint by the rule above, or nil.
    public static func checkpoint(inFolder folder: URL) -> URL? {
        let fm = FileManager.default
        for name in preferred {
            let url = folder.appendingPathComponent(name)
            if fm.fileExists(atPath: url.path) { return url }
        }
        let all = ((try? fm.contentsOfDirectory(atPath: folder.path)) ?? []).filter { $0.hasSuffix(".safetensors") && !$0.hasPrefix(".") }
        return all.count == 1 ? folder.appendingPathComponent(all[0]) : nil
    }

    /// The checkpoint a run in `directory` resumes from, if it has one.
    public static func resumable(in directory: URL) -> URL? {
        let url = directory.appendingPathComponent(resumeName)
        return FileManager.default.fileExists(atPath: url.path) ? url : nil
    }
}
