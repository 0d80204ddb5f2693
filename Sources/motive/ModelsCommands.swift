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
            let flops = model.flops(input: x).total
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
                      + i.normalization.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0)
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
            try preset.checkInput(shape)
        }
        let model = preset.build().eval()
        let x = Tensor.zeros(shape)
        try model.check(input: x)
        let counter = model.flops(input: x)
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
