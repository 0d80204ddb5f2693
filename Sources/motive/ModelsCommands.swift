import ArgumentParser
import Engine
import Foundation
import NN
import TensorIO
import Training
import Zoo

/// `motive models`: every preset with its size, cost, input and source.
struct Models: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the model zoo: parameters, GFLOPs per view, input spec and source.")

    @Flag(help: "Also time one forward pass of each model on its default input (batch 1, no-grad).") var time = false
    @Flag(help: "JSON lines instead of a table.") var json = false
    @Option(help: "Only presets whose name contains this.") var filter: String?

    struct Row: Encodable {
        let name: String, parameters: Int, gflops: Double, input: InputSpec, source: String
        var forwardMs: Double?
    }

    func run() throws {
        let presets = ModelZoo.presets.filter { filter.map($0.name.contains) ?? true }
        if !json {
            print("name".padding(toLength: 24, withPad: " ", startingAt: 0) + "params(M)  GFLOPs  input            norm      "
                  + (time ? "forward(ms)  " : "") + "source")
        }
        for preset in presets {
            let model = preset.build().eval()
            let x = Tensor.zeros(preset.input.shape)
            let flops = FLOPs.count(dryRun: true) { _ = model(x) }.total
            var row = Row(name: preset.name, parameters: model.parameters().reduce(0) { $0 + $1.count },
                          gflops: Double(flops) / 1e9, input: preset.input, source: preset.source)
            if time {
                _ = GradMode.noGrad { model(x) }
                let start = DispatchTime.now().uptimeNanoseconds
                _ = GradMode.noGrad { model(x) }
                row.forwardMs = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
            }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                print(String(decoding: try encoder.encode(row), as: UTF8.self))
            } else {
                let i = preset.input
                let input = "\(i.frames)×\(i.size)² (\(i.clipLength)×\(i.frameInterval)×\(i.clips))"
                print(row.name.padding(toLength: 24, withPad: " ", startingAt: 0)
                      + String(format: "%9.2f  %6.1f  ", Double(row.parameters) / 1e6, row.gflops)
                      + input.padding(toLength: 17, withPad: " ", startingAt: 0)
                      + i.normalization.padding(toLength: 10, withPad: " ", startingAt: 0)
                      + (row.forwardMs.map { String(format: "%11.0f  ", $0) } ?? "") + row.source)
            }
        }
    }
}

/// `motive flops NAME`: FLOPs of one forward pass, counted from shapes.
struct Flops: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Count a model's FLOPs from shapes (one multiply-add = one FLOP, as fvcore).")

    @Argument(help: "A preset name (see `motive models`).") var name: String
    @Option(help: "Input C×T×H×W, e.g. 3x16x112x112 (default: the preset's).") var input: String?
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        let preset = try ModelZoo.preset(named: name)
        var shape = preset.input.shape
        if let input {
            let dims = input.lowercased().split(separator: "x").compactMap { Int($0) }
            guard dims.count == 4, dims.allSatisfy({ $0 > 0 }) else { throw CLIError("--input must look like 3x16x112x112, got \(input)") }
            shape = [1] + dims
        }
        let model = preset.build().eval()
        let counter = FLOPs.count(dryRun: true) { _ = model(Tensor.zeros(shape)) }
        if json {
            struct Output: Encodable { let model: String; let input: [Int]; let flops: Int; let byOperator: [String: Int] }
            print(try jsonString(Output(model: name, input: shape, flops: counter.total, byOperator: counter.byOperator)))
        } else {
            print(String(format: "%@: %.3f GFLOPs for input %@", name, Double(counter.total) / 1e9, "\(shape)"))
            for (op, n) in counter.byOperator.sorted(by: { $0.value > $1.value }) {
                print(String(format: "  %-18@ %.3f GFLOPs", op, Double(n) / 1e9))
            }
        }
    }
}

/// `motive predict --model NAME --weights FILE CLIP.npy --logits`: logits of a normalised clip tensor.
struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a model on a clip saved as .npy (float32 C×T×H×W or N×C×T×H×W, already normalised) and print the logits as JSON.")

    @Option(help: "A preset name (see `motive models`).") var model: String
    @Option(help: "Weights: a Motive checkpoint, or safetensors with the reference's state-dict keys.") var weights: String?
    @Option(help: "Number of classes (default: the preset's, or the weights' classifier size).") var classes: Int?
    @Option(help: "true: every key must match; false: load what fits and report the rest.") var strict = true
    @Flag(help: "Print the raw logits (the only output for now).") var logits = false
    @Argument(help: "The clip tensor (.npy).") var clip: String

    func run() throws {
        let preset = try ModelZoo.preset(named: model)
        var x = try NPY.read(URL(fileURLWithPath: clip))
        if x.rank == 4 { x = x.unsqueezed(0) }
        guard x.rank == 5, x.shape[1] == 3 else { throw CLIError("\(clip): shape \(x.shape) is not C×T×H×W or N×C×T×H×W with C = 3") }
        var state: [String: Tensor] = [:]
        if let weights {
            // A Motive checkpoint keeps the model under `model.`; any other file is a plain state dict.
            if let checkpoint = try? Checkpoint.read(URL(fileURLWithPath: weights)) { state = checkpoint.model } else {
                state = try SafeTensors(contentsOf: URL(fileURLWithPath: weights)).tensors
            }
        }
        // A classifier of another size in the weights sets the class count, unless given.
        let fromWeights = state.first { $0.key.hasSuffix("fc.weight") || $0.key.hasSuffix("fc8.weight") || $0.key.hasSuffix("proj.weight") }?.value.shape[0]
        let net = preset.build(classes: classes ?? fromWeights).eval()
        if weights != nil {
            let report = try loadReporting(state, into: net, strict: strict)
            for line in report { FileHandle.standardError.write(Data((line + "\n").utf8)) }
        }
        let y = GradMode.noGrad { net(x) }
        struct Output: Encodable { let model: String; let logits: [[Float]] }
        let rows = (0..<y.shape[0]).map { Array(y.scalars[($0 * y.shape[1])..<(($0 + 1) * y.shape[1])]) }
        print(try jsonString(Output(model: model, logits: rows)))
    }

    /// Loads `state` into `net`. Strict: any difference is an error listing every key. Not strict:
    /// loads the keys that fit and returns a report of the rest.
    func loadReporting(_ state: [String: Tensor], into net: Module, strict: Bool) throws -> [String] {
        let own = net.stateDict()
        let ownKeys = Set(own.map(\.0))
        var problems: [String] = []
        var fitting: [String: Tensor] = [:]
        for (key, t) in own {
            guard let source = state[key] else { problems.append("missing key \(key) \(t.shape)"); continue }
            if source.shape != t.shape { problems.append("shape mismatch \(key): model \(t.shape), weights \(source.shape)"); continue }
            fitting[key] = source
        }
        for key in state.keys.sorted() where !ownKeys.contains(key) { problems.append("unexpected key \(key) \(state[key]!.shape)") }
        if strict && !problems.isEmpty {
            throw CLIError("weights do not match \(model) (use --strict false to load what fits):\n  " + problems.joined(separator: "\n  "))
        }
        try net.loadStateDict(fitting, strict: false)
        return problems.map { "not loaded: " + $0 }
    }
}
