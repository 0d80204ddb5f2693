import ArgumentParser
import Foundation
import Training

/// `motive train JOB.yaml`: the training loop with per-epoch checkpoints (evaluation, plots and
/// the rest of the run directory come with the rest of the trainer).
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a model from a job config; writes log.jsonl, epoch_NNNN.safetensors and last.safetensors into the run directory.")

    @Argument(help: "The job config (YAML).") var file: String
    @Option(name: .customLong("set"), help: "Override a key, e.g. --set optimizer.lr=0.05 (repeatable).") var overrides: [String] = []
    @Option(help: "Run directory (default: output.dir of the config).") var out: String?
    @Option(help: "Continue from a checkpoint written by an earlier run.") var resume: String?

    func run() throws {
        let config = try ConfigLoader.load(file, overrides: overrides)
        let base = URL(fileURLWithPath: file).deletingLastPathComponent()
        let data = try TrainingData.load(config.data, relativeTo: base)
        let trainer = try Trainer(config: config, data: data)
        if let resume { try trainer.resume(from: URL(fileURLWithPath: resume)) }
        let dir = URL(fileURLWithPath: out ?? config.output.dir)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let log = dir.appendingPathComponent("log.jsonl")
        if !FileManager.default.fileExists(atPath: log.path) { FileManager.default.createFile(atPath: log.path, contents: nil) }
        print("training \(config.model.preset) on \(data.train.count) videos of \(data.classNames.count) classes → \(dir.path)")
        while trainer.epoch < config.schedule.epochs {
            let stats = try trainer.trainEpoch()
            let checkpoint = dir.appendingPathComponent(String(format: "epoch_%04d.safetensors", stats.epoch))
            try trainer.save(to: checkpoint)
            try trainer.save(to: dir.appendingPathComponent("last.safetensors"))
            let line = String(decoding: try JSONEncoder().encode(stats), as: UTF8.self) + "\n"
            let handle = try FileHandle(forWritingTo: log)
            handle.seekToEndOfFile()
            handle.write(Data(line.utf8))
            try handle.close()
            print(String(format: "epoch %d/%d  loss %.4f  top-1 %.3f  %.1f clips/s%@", stats.epoch, config.schedule.epochs, stats.loss,
                         stats.top1, Double(stats.clips) / max(stats.seconds, 1e-9), stats.failed > 0 ? "  (\(stats.failed) videos failed)" : ""))
        }
        print("done: \(dir.appendingPathComponent("last.safetensors").path)")
    }
}
