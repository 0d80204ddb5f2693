import ArgumentParser
import Foundation
import Inference
import Training

/// `motive export RUN_DIR|CHECKPOINT --out FILE`: a serving checkpoint without optimizer state.
struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a checkpoint's model alone (weights, preset, classes, input spec; no optimizer state) for serving or sharing.")

    @Argument(help: "A run directory (its best checkpoint, else its last) or a checkpoint file.") var model: String
    @Option(help: "The safetensors file to write.") var out: String

    func run() throws {
        let source = try CheckpointLocator.resolve(model)
        let target = URL(fileURLWithPath: out)
        try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Checkpoint.export(source, to: target)
        let size = (try? FileManager.default.attributesOfItem(atPath: target.path)[.size] as? Int) ?? 0
        print(String(format: "wrote %@ (%.1f MB) from %@", target.path, Double(size) / 1e6, source.path))
    }
}
