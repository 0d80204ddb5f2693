import ArgumentParser
import Foundation
import Inference
import ONNX
import Training
import Zoo

/// `motive export MODEL --out FILE [--format onnx|safetensors]`: a model for serving, sharing or
/// another runtime.
struct Export: ParsableCommand {
    enum Format: String, ExpressibleByArgument, CaseIterable {
        case safetensors, onnx
    }

    static let configuration = CommandConfiguration(
        abstract: "Write a model for serving or another runtime: a checkpoint without optimizer state, or an ONNX graph.",
        discussion: """
            safetensors (the default, unless --out ends in .onnx): the model's weights, preset, classes and input spec, \
            from a checkpoint or run directory.
            onnx: a standard ONNX model (input [N, C, T, H, W] with a dynamic batch, output logits [N, classes]; with \
            --views, input [N, V, C, T, H, W] and view-averaged scores), from a checkpoint, a run directory or a preset. \
            The metadata properties carry the class names and the input normalisation.
            """)

    @Argument(help: "A run directory (its best checkpoint, else its last), a checkpoint file, or (for onnx) a preset name.") var model: String
    @Option(help: "The file to write.") var out: String
    @Option(help: "safetensors or onnx (default: from --out's extension).") var format: Format?
    @Option(help: "With --format onnx: the ONNX opset (\(ONNXExport.opsets.lowerBound)–\(ONNXExport.opsets.upperBound)).") var opset = 17
    @Option(help: "With --format onnx: take CLIPSxCROPS views per video, e.g. 10x3, and output their averaged scores.") var views: String?
    @Option(help: "With a preset name: weights (a Motive checkpoint, or a state dict: .pth/.pt or safetensors).") var weights: String?
    @Option(help: "With a preset name: the key layout of a --weights state dict (default: motive).") var from: String?
    @Option(help: "With a preset name: number of classes.") var classes: Int?

    func validate() throws {
        if let views, ViewPlan.parseViews(views) == nil { throw ValidationError("--views must look like 10x3, got \(views)") }
        if !ONNXExport.opsets.contains(opset) { throw ValidationError("--opset must be \(ONNXExport.opsets.lowerBound) to \(ONNXExport.opsets.upperBound), got \(opset)") }
        if resolvedFormat == .safetensors, views != nil || weights != nil || classes != nil {
            throw ValidationError("--views, --weights and --classes go with --format onnx")
        }
    }

    var resolvedFormat: Format { format ?? (out.lowercased().hasSuffix(".onnx") ? .onnx : .safetensors) }

    func run() throws {
        let target = URL(fileURLWithPath: out)
        try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
        switch resolvedFormat {
        case .safetensors:
            let source = try CheckpointLocator.resolve(model)
            try Checkpoint.export(source, to: target)
            print(String(format: "wrote %@ (%.1f MB) from %@", target.path, Double(fileSize(target)) / 1e6, source.path))
        case .onnx:
            let source = try PredictorSource.named(model, weights: weights, layout: try from.map { try KeyMaps.layout(named: $0) } ?? .motive,
                                                   classes: classes)
            let (predictor, notes) = try Predictor.load(source)
            for note in notes { FileHandle.standardError.write(Data("note: \(note)\n".utf8)) }
            let summary = try ONNXExport.write(predictor, to: target, opset: opset, views: views.flatMap(ViewPlan.parseViews))
            print(String(format: "wrote %@ (%.1f MB): opset %d, %d nodes, %d weights; %@ → %@", target.path, Double(fileSize(target)) / 1e6,
                         opset, summary.nodes, summary.parameters, summary.inputs.joined(separator: ", "), summary.output))
        }
    }

    private func fileSize(_ url: URL) -> Int { (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? 0 }
}
