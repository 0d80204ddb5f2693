import Foundation
import Inference
import Clips
import Yams
import Zoo

/// Reads job configs: YAML files that may inherit from others (`_base_: other.yaml`, merged key
/// by key, the child winning), plus command-line overrides (`a.b=c`). Every key is checked
/// against the schema before decoding, so a misspelt key is an error naming its path and the
/// nearest valid key, and no run starts on a bad config.
public enum ConfigLoader {
    public static func load(_ path: String, overrides: [String] = []) throws(ConfigError) -> JobConfig {
        var tree = try resolve(path, chain: [])
        let here = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        // Paths given on the command line are relative to where the command runs.
        for text in overrides { tree = anchorPaths(try apply(override: text, to: tree), at: here) }
        return try decode(tree)
    }

    /// Parses YAML text (no `_base_` resolution), applies overrides and decodes.
    public static func parse(_ yaml: String, file: String = "<config>", overrides: [String] = []) throws(ConfigError) -> JobConfig {
        var tree = try compose(yaml, file: file)
        for text in overrides { tree = try apply(override: text, to: tree) }
        return try decode(tree)
    }

    // MARK: Kinds of job

    /// The `kind` key of a job document: `train` when it has none. The daemon queues several
    /// kinds of job (`train`, `bench`); `motive train` reads training documents only.
    public static func kind(of yaml: String, file: String = "<config>") throws(ConfigError) -> String {
        let tree = try compose(yaml, file: file)
        guard let node = tree["kind"] else { return "train" }
        guard let kind = node.string, !kind.isEmpty else { throw .typeMismatch(path: "kind", value: "\(node)", expected: "a job kind") }
        return kind
    }

    /// Decodes a document of another kind than training (its `kind` key aside): every top-level
    /// key must be one of `keys`, and errors name the key as a training config's do.
    public static func parse<T: Decodable>(_ type: T.Type, yaml: String, file: String = "<config>", keys: [String]) throws(ConfigError) -> T {
        var tree = try compose(yaml, file: file)
        guard case .mapping(var map) = tree else { throw .invalidYAML(file: file, reason: "the top level must be a mapping") }
        map["kind"] = nil
        tree = .mapping(map)
        try check(tree, against: .map(Dictionary(uniqueKeysWithValues: keys.map { ($0, Schema.leaf) })))
        do {
            return try YAMLDecoder().decode(T.self, from: tree)
        } catch let error as DecodingError {
            throw describe(error, in: tree)
        } catch {
            throw .invalidValue(path: "", value: "", expected: "\(error)")
        }
    }

    // MARK: Files and inheritance

    /// Largest config text read, in bytes.
    public static let maxBytes = 1 << 20
    /// Most nodes a config may have once its aliases are expanded: a few hundred in practice,
    /// while a few nested aliases can stand for billions.
    public static let maxNodes = 100_000

    static func compose(_ text: String, file: String) throws(ConfigError) -> Node {
        guard text.utf8.count <= maxBytes else {
            throw .invalidYAML(file: file, reason: "the document is larger than \(maxBytes >> 20) MB")
        }
        let tree: Node
        do {
            tree = try Yams.compose(yaml: text) ?? Node.mapping([:])
        } catch {
            throw .invalidYAML(file: file, reason: ConfigError.quoted("\(error)"))
        }
        // Yams shares an alias's node rather than copying it, so composing is cheap; walking the
        // expanded tree is not. Counting stops at the limit.
        var count = 0
        var pending = [tree]
        while let node = pending.popLast() {
            count += 1
            guard count <= maxNodes else {
                throw .invalidYAML(file: file, reason: "the document has more than \(maxNodes) nodes once its aliases are expanded")
            }
            switch node {
            case .mapping(let map): for (key, value) in map { pending.append(key); pending.append(value) }
            case .sequence(let items): pending.append(contentsOf: items)
            default: break
            }
        }
        return tree
    }

    /// The file's tree with its `_base_` chain merged underneath.
    static func resolve(_ path: String, chain: [String]) throws(ConfigError) -> Node {
        let url = URL(fileURLWithPath: path).standardizedFileURL
        if chain.contains(url.path) { throw .baseCycle(chain + [url.path]) }
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { throw .fileNotFound(path) }
        var tree = try compose(text, file: path)
        guard case .mapping = tree else { throw .invalidYAML(file: path, reason: "the top level must be a mapping") }
        tree = anchorPaths(tree, at: url.deletingLastPathComponent())
        guard case .mapping(var map) = tree else { return tree }
        if let base = map["_base_"] {
            guard let basePath = base.string else { throw .typeMismatch(path: "_base_", value: "\(base)", expected: "a file path") }
            map["_base_"] = nil
            let baseURL = URL(fileURLWithPath: basePath, relativeTo: url.deletingLastPathComponent())
            tree = merge(try resolve(baseURL.path, chain: chain + [url.path]), Node.mapping(map))
        }
        return tree
    }

    /// Keys holding input files, read relative to the folder of the file that writes them (so a
    /// `_base_` can name its dataset wherever the child lives). `output.dir` is not among them:
    /// runs go where the command runs.
    static let pathKeys = [["data", "train_list"], ["data", "val_list"], ["data", "root"], ["model", "pretrained"], ["model", "inflate_from"]]

    /// The tree with the relative paths of `pathKeys` made absolute against `folder`.
    static func anchorPaths(_ tree: Node, at folder: URL) -> Node {
        guard case .mapping(var map) = tree else { return tree }
        for keys in pathKeys {
            guard case .mapping(var section)? = map[Node(keys[0])], let node = section[Node(keys[1])], node.null == nil,
                  let value = node.string, !value.isEmpty, !value.hasPrefix("/") else { continue }
            section[Node(keys[1])] = Node(URL(fileURLWithPath: value, relativeTo: folder).standardizedFileURL.path)
            map[Node(keys[0])] = .mapping(section)
        }
        return .mapping(map)
    }

    /// Mappings merge key by key (recursively); anything else in `child` replaces `base`.
    static func merge(_ base: Node, _ child: Node) -> Node {
        guard case .mapping(var merged) = base, case .mapping(let over) = child else { return child }
        for (key, value) in over {
            merged[key] = merged[key].map { merge($0, value) } ?? value
        }
        return .mapping(merged)
    }

    /// `a.b.c=value`: the value is read as YAML (so numbers, booleans and lists keep their types).
    static func apply(override text: String, to tree: Node) throws(ConfigError) -> Node {
        guard let eq = text.firstIndex(of: "="), eq != text.startIndex else { throw .badOverride(text) }
        let keys = text[..<eq].split(separator: ".").map(String.init)
        guard !keys.isEmpty, keys.allSatisfy({ !$0.isEmpty }) else { throw .badOverride(text) }
        let value = try compose(String(text[text.index(after: eq)...]), file: "--set \(text)")
        func set(_ node: Node, _ rest: ArraySlice<String>) -> Node {
            guard let key = rest.first else { return value }
            var map = node.mapping ?? Node.Mapping([])
            map[Node(key)] = set(map[Node(key)] ?? .mapping([:]), rest.dropFirst())
            return .mapping(map)
        }
        return set(tree, keys[...])
    }

    // MARK: Schema and decoding

    indirect enum Schema {
        case leaf
        case map([String: Schema])
    }

    static func keys<K: CodingKey & CaseIterable>(_: K.Type, nested: [String: Schema] = [:]) -> Schema {
        .map(Dictionary(uniqueKeysWithValues: K.allCases.map { ($0.stringValue, nested[$0.stringValue] ?? .leaf) }))
    }

    static let samplerKeys: Schema = .map(Dictionary(uniqueKeysWithValues: [
        "clip_len", "frame_interval", "num_clips", "temporal_jitter", "twice_sample", "out_of_bound_opt", "test_mode",
        "keep_tail_frames",
    ].map { ($0, Schema.leaf) }))

    static let schema: Schema = keys(JobConfig.CodingKeys.self, nested: [
        "model": keys(ModelSection.CodingKeys.self),
        "data": keys(DataSection.CodingKeys.self, nested: ["sampler": samplerKeys]),
        "optimizer": keys(OptimizerSection.CodingKeys.self),
        "schedule": keys(ScheduleSection.CodingKeys.self),
        "train": keys(TrainSection.CodingKeys.self),
        "eval": keys(EvalSection.CodingKeys.self),
        "output": keys(OutputSection.CodingKeys.self),
        "distributed": keys(DistributedSection.CodingKeys.self),
    ])

    /// Throws for the first key (in file order) that the schema does not know.
    static func check(_ node: Node, against schema: Schema, path: [String] = []) throws(ConfigError) {
        guard case .map(let known) = schema, case .mapping(let map) = node else { return }
        for (keyNode, value) in map {
            let key = keyNode.string ?? "\(keyNode)"
            let full = (path + [key]).joined(separator: ".")
            guard let sub = known[key] else {
                let near = nearestMatch(key, among: Array(known.keys), maxDistance: max(2, key.count / 3))
                throw .unknownKey(path: full, suggestion: near.map { (path + [$0]).joined(separator: ".") })
            }
            try check(value, against: sub, path: path + [key])
        }
    }

    static func decode(_ tree: Node) throws(ConfigError) -> JobConfig {
        var tree = tree
        // `kind: train` says what the document is; any other kind is not a training job.
        if case .mapping(var map) = tree, let kind = map["kind"] {
            guard kind.string == "train" else {
                throw .invalidValue(path: "kind", value: kind.string ?? "\(kind)", expected: "train (other kinds of job are the daemon's)")
            }
            map["kind"] = nil
            tree = .mapping(map)
        }
        try check(tree, against: schema)
        let config: JobConfig
        do {
            config = try YAMLDecoder().decode(JobConfig.self, from: tree)
        } catch let error as DecodingError {
            throw describe(error, in: tree)
        } catch {
            // Errors thrown by nested types' own validation (sampler, pipeline).
            throw .invalidValue(path: "data", value: "", expected: "\(error)")
        }
        try validate(config)
        return config
    }

    static func describe(_ error: DecodingError, in tree: Node) -> ConfigError {
        func path(_ context: DecodingError.Context, _ extra: CodingKey? = nil) -> String {
            (context.codingPath + (extra.map { [$0] } ?? [])).map(\.stringValue).joined(separator: ".")
        }
        func value(at keys: [CodingKey]) -> String {
            var node: Node? = tree
            for key in keys {
                if let index = key.intValue { node = node?.sequence.flatMap { index < $0.count ? $0[index] : nil } } else { node = node?[key.stringValue] }
            }
            return node?.string ?? node.map { (try? Yams.serialize(node: $0).trimmingCharacters(in: .whitespacesAndNewlines)) ?? "\($0)" } ?? "nothing"
        }
        switch error {
        case .keyNotFound(let key, let context): return .missingKey(path(context, key))
        case .typeMismatch(let type, let context):
            return .typeMismatch(path: path(context), value: value(at: context.codingPath), expected: expectation(type))
        case .valueNotFound(let type, let context):
            return .typeMismatch(path: path(context), value: "nothing", expected: expectation(type))
        case .dataCorrupted(let context):
            return .invalidValue(path: path(context), value: value(at: context.codingPath), expected: ConfigError.quoted(context.debugDescription))
        @unknown default: return .invalidValue(path: "", value: "", expected: "\(error)")
        }
    }

    static func expectation(_ type: Any.Type) -> String {
        switch type {
        case is Int.Type, is UInt64.Type: "an integer"
        case is Float.Type, is Double.Type: "a number"
        case is Bool.Type: "true or false"
        case is String.Type: "a string"
        default: "\(type)"
        }
    }

    /// Values that decode but make no sense.
    static func validate(_ c: JobConfig) throws(ConfigError) {
        func require(_ ok: Bool, _ path: String, _ value: Any, _ expected: String) throws(ConfigError) {
            if !ok { throw .invalidValue(path: path, value: "\(value)", expected: expected) }
        }
        // Every number must be finite (`.inf`, `.nan` decode from YAML): encoding refuses the first
        // that is not and says where it is, whatever section holds it.
        do { _ = try JSONEncoder().encode(c) } catch let EncodingError.invalidValue(value, context) {
            let path = context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
            throw .invalidValue(path: path, value: "\(value)", expected: "a finite number")
        } catch {
            throw .invalidValue(path: "(config)", value: "\(error)", expected: "a config that can be recorded")
        }
        if c.data.dataset != nil {
            try require(c.data.trainList == nil && c.data.valList == nil && c.data.root == nil, "data.dataset", c.data.dataset ?? "",
                        "a dataset alone: it brings its own lists and root, so leave out data.train_list, data.val_list and data.root")
        }
        do { _ = try ModelZoo.preset(named: c.model.preset) } catch {
            let near = nearestMatch(c.model.preset, among: ModelZoo.presets.map(\.name))
            throw .invalidValue(path: "model.preset", value: c.model.preset,
                                expected: "a zoo preset" + (near.map { " (did you mean \($0)?)" } ?? "") + "; `motive models` lists them")
        }
        if let classes = c.model.classes {
            try require((1...ModelPreset.maxClasses).contains(classes), "model.classes", classes, "1…\(ModelPreset.maxClasses)")
        }
        if let p = c.model.dropout { try require(p >= 0 && p < 1, "model.dropout", p, "in [0, 1)") }
        try require(c.data.modality != .twoStream, "data.modality", c.data.modality.rawValue, "rgb or flow")
        let input = (try? ModelZoo.preset(named: c.model.preset))?.input
        if let input, input.modality == .twoStream {
            throw .invalidValue(path: "model.preset", value: c.model.preset,
                                expected: "a preset one job trains: the two streams train as their own jobs (tsn_r50 and tsn_r50_flow, "
                                    + "or tsn_r18_tiny and tsn_r18_flow_tiny) and `motive two-stream` joins them")
        }
        if let input {
            try require(input.modality == c.data.modality, "data.modality", c.data.modality.rawValue,
                        "\(input.modality.rawValue), as \(c.model.preset) takes " + (input.modality == .flow ? "stacks of optical flow" : "RGB frames"))
        }
        if let s = c.data.sampler, let input, input.modality == .flow {
            try require(s.clipLength == input.clipLength, "data.sampler.clip_len", s.clipLength,
                        "\(input.clipLength): \(c.model.preset) takes \(input.channels) channels, \(input.clipLength) flow frames of x and y")
        } else if let s = c.data.sampler {
            try require(s.clipCount == 1 || s.clipLength == 1, "data.sampler", "clip_len \(s.clipLength), num_clips \(s.clipCount)",
                        "one clip per video (num_clips 1) or one-frame segments (clip_len 1) for training; "
                        + "eval.clips sets the clips per video at test time")
        }
        if c.data.modality == .flow {
            for (key, pipeline) in [("data.train_pipeline", c.data.trainPipeline), ("data.test_pipeline", c.data.testPipeline)] {
                let jitter = pipeline?.transforms.first { if case .colorJitter = $0 { true } else { false } }
                try require(jitter == nil, key, "color_jitter", "no colour steps on optical flow (its bytes are displacements)")
            }
        }
        for (key, pipeline) in [("data.train_pipeline", c.data.trainPipeline), ("data.test_pipeline", c.data.testPipeline)] {
            guard let pipeline else { continue }
            do { try pipeline.checkCrops(frame: nil) } catch {
                throw .invalidValue(path: key, value: "\(error.name) \(error.crop.width)×\(error.crop.height)",
                                    expected: "a crop no larger than the \(error.frame) frames it receives")
            }
        }
        if let train = c.data.trainPipeline {
            let multi = train.transforms.first { if case .threeCrop = $0 { true } else if case .tenCrop = $0 { true } else { false } }
            try require(multi == nil, "data.train_pipeline", multi.map(\.name) ?? "",
                        "one view per clip in training (three_crop and ten_crop are test-time views; eval.crops sets them)")
        }
        try require(batchSizes.contains(c.data.batchSize), "data.batch_size", c.data.batchSize, "1…\(batchSizes.upperBound)")
        try require(workerCounts.contains(c.data.workers), "data.workers", c.data.workers, "1…\(workerCounts.upperBound)")
        try require(c.optimizer.lr > 0, "optimizer.lr", c.optimizer.lr, "a positive number")
        try require(c.optimizer.momentum >= 0 && c.optimizer.momentum < 1, "optimizer.momentum", c.optimizer.momentum, "in [0, 1)")
        try require(c.optimizer.weightDecay >= 0, "optimizer.weight_decay", c.optimizer.weightDecay, "≥ 0")
        try require(c.schedule.epochs >= 1, "schedule.epochs", c.schedule.epochs, "≥ 1")
        try require(c.schedule.warmupEpochs >= 0 && c.schedule.warmupEpochs < Double(c.schedule.epochs),
                    "schedule.warmup_epochs", c.schedule.warmupEpochs, "≥ 0 and fewer than schedule.epochs")
        if c.schedule.policy == .multistep {
            try require(!c.schedule.milestones.isEmpty && c.schedule.milestones == c.schedule.milestones.sorted(),
                        "schedule.milestones", c.schedule.milestones, "increasing epochs for the multistep policy")
        }
        try require(c.train.accumulate >= 1, "train.accumulate", c.train.accumulate, "≥ 1")
        if let n = c.distributed.processes { try require(n >= 1, "distributed.processes", n, "≥ 1") }
        try require(!(c.train.syncBN && c.train.compute == .dataParallel), "train.sync_bn", true,
                    "false with train.compute: data_parallel (its replicas normalise on threads of their own)")
        try require(c.distributed.timeout > 0, "distributed.timeout", c.distributed.timeout, "> 0 seconds")
        try require(c.train.labelSmoothing >= 0 && c.train.labelSmoothing < 1, "train.label_smoothing", c.train.labelSmoothing, "in [0, 1)")
        try require(c.train.mixupAlpha >= 0 && c.train.cutmixAlpha >= 0, "train.mixup_alpha", c.train.mixupAlpha, "≥ 0")
        if let n = c.train.clipNorm { try require(n > 0, "train.clip_norm", n, "a positive number") }
        try require(c.eval.interval >= 1 && c.eval.clips >= 1 && c.eval.crops >= 1, "eval", "\(c.eval)", "interval, clips and crops ≥ 1")
        try require(c.eval.clips <= 100, "eval.clips", c.eval.clips, "1…100")
        try require([1, 3, 10].contains(c.eval.crops), "eval.crops", c.eval.crops, "1, 3 or 10")
        try require(c.train.preciseBNBatches >= 0, "train.precise_bn_batches", c.train.preciseBNBatches, "≥ 0")
        try require((1...1000).contains(c.output.keepLast), "output.keep_last", c.output.keepLast, "1…1000")
        if let name = c.output.modelName {
            try require(!name.isEmpty && name.count <= 64 && name.allSatisfy { $0.isLetter || $0.isNumber || "-_.".contains($0) } && !name.hasPrefix("."),
                        "output.model_name", name, "1–64 letters, digits, '-', '_' or '.', not starting with '.'")
        }
        try require(BestMetric(rawValue: c.output.saveBestBy) != nil, "output.save_best_by", c.output.saveBestBy,
                    BestMetric.allCases.map(\.rawValue).joined(separator: ", "))
        try checkSizes(c)
    }

    // MARK: Sizes

    /// Clips per batch (training, evaluation) and loader threads, here and in `motive eval`.
    public static let batchSizes = 1...4096
    public static let workerCounts = 1...256
    /// The largest input one step may hold, as 32-bit floats: a training batch of clips, or the
    /// views of one test video. Checked before the run, so a size that cannot fit is refused
    /// here instead of aborting the training process.
    public static let memoryBudget = 8 << 30

    /// Every size in bounds, and the inputs within `memoryBudget`.
    static func checkSizes(_ c: JobConfig) throws(ConfigError) {
        func require(_ ok: Bool, _ path: String, _ value: Any, _ expected: String) throws(ConfigError) {
            if !ok { throw .invalidValue(path: path, value: "\(value)", expected: expected) }
        }
        for (key, pipeline) in [("data.train_pipeline", c.data.trainPipeline), ("data.test_pipeline", c.data.testPipeline)] {
            guard let pipeline else { continue }
            if let side = pipeline.largestSide {
                try require(side <= ClipPipeline.maxSide, key, "a side of \(side) pixels", "sides of at most \(ClipPipeline.maxSide) pixels")
            }
            if let side = pipeline.smallestSide { try require(side >= 1, key, "a side of \(side) pixels", "sides of at least 1 pixel") }
        }
        guard let input = try? ModelZoo.preset(named: c.model.preset).input else { return }
        let clipFrames = Double(c.data.sampler?.clipLength ?? input.clipLength)
        let clipsPerVideo = Double(c.data.sampler?.clipsPerVideo ?? 1)
        let channels = Double(input.modality == .flow ? 2 : 3)
        func bytes(views: Double, frames: Double, side: Int) -> Double { views * frames * channels * Double(side) * Double(side) * 4 }
        func shown(_ b: Double) -> String { String(format: "%.1f GB", b / Double(1 << 30)) }
        let trainSide = max(c.data.trainPipeline?.largestSide ?? 0, input.size)
        let train = bytes(views: Double(c.data.batchSize) * clipsPerVideo, frames: clipFrames, side: trainSide)
        try require(train <= Double(memoryBudget), "data",
                    "a training batch of \(shown(train)) (batch_size \(c.data.batchSize) × \(Int(clipsPerVideo)) clips × \(Int(clipFrames)) frames × \(trainSide)² pixels)",
                    "at most \(shown(Double(memoryBudget))) as 32-bit floats: lower batch_size, the clip length or the frame size")
        let testSide = max(c.data.testPipeline?.largestSide ?? 0, input.size)
        let test = bytes(views: Double(c.eval.clips * c.eval.crops), frames: clipFrames, side: testSide)
        try require(test <= Double(memoryBudget), "eval",
                    "\(shown(test)) of views per test video (\(c.eval.clips) clips × \(c.eval.crops) crops × \(Int(clipFrames)) frames × \(testSide)² pixels)",
                    "at most \(shown(Double(memoryBudget))) as 32-bit floats: fewer clips or crops, or smaller frames")
    }
}
