import ArgumentParser
import Engine
import Foundation
import NN
import TensorIO
import Training
import Zoo

/// `motive convert IN OUT --from LAYOUT --model PRESET`: a public checkpoint as a Motive checkpoint.
struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Convert a public checkpoint (.pth/.pt or .safetensors) into a self-contained Motive checkpoint of a zoo preset.",
        discussion: """
        The checkpoint's keys are renamed from --from's layout to the preset's, checked against the preset \
        (every missing, unexpected and mis-shaped key is listed), and written with the preset, class names and \
        input spec, ready for `motive predict --model OUT`, `motive eval` and `motive serve`. Layouts: \
        \(CheckpointLayout.allCases.map(\.rawValue).joined(separator: ", ")).
        """)

    @Argument(help: "The checkpoint to read: a torch.save file (.pth, .pt) or safetensors.") var input: String
    @Argument(help: "The Motive checkpoint to write (.safetensors).") var output: String
    @Option(help: "The checkpoint's key layout: \(CheckpointLayout.allCases.map(\.rawValue).joined(separator: "|")).") var from: String
    @Option(help: "The zoo preset the weights are for (see `motive models`).") var model: String
    @Option(help: "Number of classes (default: the rows of the checkpoint's classifier).") var classes: Int?
    @Option(name: .customLong("class-names"), help: "A text file of class names, one per line (default: class_0, class_1, …).") var classNames: String?
    @Option(help: "true: every key must fit; false: write what fits (the rest freshly initialised) and report the rest.") var strict = true

    func run() throws {
        let layout = try KeyMaps.layout(named: from)
        let preset = try ModelZoo.preset(named: model)
        let url = URL(fileURLWithPath: input)
        if (try? Checkpoint.read(url)) != nil { throw CLIError("\(input) is already a Motive checkpoint (`motive export` rewrites one)") }
        let state = try readStateDict(url)
        let loaded = try ForeignWeights.load(state, layout: layout, preset: preset, classes: classes, strict: strict)
        loaded.warn()
        let count = Predict.classifierRows(loaded.model.stateDict()) ?? preset.defaultClasses
        let names = try classNames.map { try Self.readNames($0, count: count) } ?? (0..<count).map { "class_\($0)" }
        let target = URL(fileURLWithPath: output)
        try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Checkpoint.save(model: loaded.model, info: CheckpointInfo(preset: preset.name, classNames: names, input: preset.input), to: target)
        print("wrote \(target.path): \(preset.name), \(count) classes, \(loaded.model.stateDict().count) tensors from \(state.count) "
              + "\(layout.rawValue) keys" + (loaded.report.isClean ? "" : " (\(loaded.report.summary))"))
    }

    static func readNames(_ path: String, count: Int) throws -> [String] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let names = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard names.count == count else { throw CLIError("\(path) has \(names.count) class names, the classifier has \(count) classes") }
        return names
    }
}

/// A raw state dict from a weight file: safetensors, or a torch.save checkpoint (its
/// `state_dict`/`model`/`model_state` entry when nested, `module.` prefixes removed).
func readStateDict(_ url: URL) throws -> [String: Tensor] {
    try WeightFile.stateDict(contentsOf: url).tensors
}

/// A zoo preset built and filled from a state dict in a public key layout.
struct ForeignWeights {
    let model: VideoModel
    let report: LoadReport
    /// Checkpoint keys no row of the key map places (non-strict loads only).
    let unmapped: [String]
    let origin: [String: String]
    let note: String?

    /// Renames `state` from `layout` to `preset`'s keys, builds the preset with `classes` (default:
    /// the rows of the renamed classifier) and loads it. Strict: any unmapped, missing,
    /// unexpected or mis-shaped key is an error listing them all.
    static func load(_ state: [String: Tensor], layout: CheckpointLayout, preset: ModelPreset, classes: Int?,
                     strict: Bool) throws -> ForeignWeights {
        let map = try KeyMaps.map(from: layout, to: preset.name)
        let mapped = map.apply(state)
        if let collision = mapped.collisions.first { throw KeyMapError.collision(target: collision.target, sources: collision.sources) }
        if strict && !mapped.unknown.isEmpty {
            throw KeyMapError.unmapped(layout: layout, preset: preset.name, keys: mapped.unknown, note: map.note)
        }
        let count = classes ?? Predict.classifierRows(mapped.tensors.map { ($0.key, $0.value) })
        let model = preset.build(classes: count).eval()
        do {
            let report = try model.load(mapped.tensors, strict: strict, origin: mapped.sources)
            return ForeignWeights(model: model, report: report, unmapped: mapped.unknown, origin: mapped.sources, note: map.note)
        } catch {
            throw WeightsDoNotFit(preset: preset.name, layout: layout, mismatch: error, note: map.note)
        }
    }

    /// What a non-strict load left out, and the map's note, on stderr.
    func warn() {
        var lines = unmapped.map { "not loaded: no place for \($0)" } + report.lines(origin: origin).map { "not loaded: " + $0 }
        if let note { lines.append("note: " + note) }
        for line in lines { FileHandle.standardError.write(Data((line + "\n").utf8)) }
    }
}

/// A strict load that found differences, with the key map's note on what else differs.
struct WeightsDoNotFit: Error, CustomStringConvertible {
    let preset: String
    let layout: CheckpointLayout
    let mismatch: LoadMismatchError
    let note: String?

    var description: String {
        "\(layout.rawValue) weights do not fit \(preset) (\(mismatch.report.summary); --strict false loads what fits):\n  "
            + mismatch.report.lines(origin: mismatch.origin).joined(separator: "\n  ") + (note.map { "\nnote: " + $0 } ?? "")
    }
}
