import ArgumentParser
import Engine
import Foundation
import Inference
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
        (missing, unexpected and mis-shaped keys are listed, 20 of each kind and then a count), and written with the preset, class names and \
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
        let names = try classNames.map(Self.readNames)
        let loaded = try Checkpoint.convert(state, layout: layout, preset: preset, classes: classes, classNames: names, strict: strict,
                                            to: URL(fileURLWithPath: output))
        for line in loaded.warnings { FileHandle.standardError.write(Data((line + "\n").utf8)) }
        print("wrote \(output): \(preset.name), \(loaded.classes) classes, \(loaded.model.stateDict().count) tensors from \(state.count) "
              + "\(layout.rawValue) keys" + (loaded.report.isClean ? "" : " (\(loaded.report.summary))"))
    }

    static func readNames(_ path: String) throws -> [String] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        return text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
}
