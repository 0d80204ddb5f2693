import ArgumentParser
import Benchmark
import Foundation
import Inference

/// `motive bench MODEL...`: accuracy against FLOPs against measured speed, as a table and charts.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure models side by side: parameters, GFLOPs, latency, throughput, memory, a training step and accuracy; writes bench.jsonl, bench.csv, bench.md and SVG charts.",
        discussion: "MODEL is a zoo preset (random weights: cost only), a checkpoint file, a run directory, or label=path to name a point on the charts.")

    @Argument(help: "Models to measure.") var models: [String]
    @Option(help: "An annotation list: measure top-1, top-5 and mean class accuracy on it (checkpoints and runs only).") var data: String?
    @Option(help: "Folder the list's paths are relative to (default: the list's folder).") var root: String?
    @Option(help: "Test views CLIPSxCROPS, e.g. 10x3 (default: each checkpoint's own; 1x1 for a preset).") var views: String?
    @Option(help: "Clips per forward pass for the throughput.") var batch = 8
    @Option(help: "Timed forward passes at batch 1, after one warm-up.") var repeats = 10
    @Flag(name: .customLong("train-step"), help: "Also time one SGD step at batch 2.") var trainStep = false
    @Option(help: "Worker threads (default: every core).") var threads: Int?
    @Flag(help: "Overlay published Kinetics-400 results (Models/published_k400.csv) on the accuracy charts.") var published = false
    @Option(name: .customLong("published-file"), help: "Another CSV of published results (implies --published).") var publishedFile: String?
    @Option(help: "A PyTorch JSONL (bench/torch_zoo.py --bench-fields): add latency_vs_torch and train_step_vs_torch.") var compare: String?
    @Option(help: "Output folder (default: bench/<date-time>).") var out: String?

    func run() throws {
        var spec = BenchSpec(models: models)
        (spec.data, spec.root, spec.views, spec.batch, spec.repeats) = (data, root, views, batch, repeats)
        (spec.trainStep, spec.threads, spec.published) = (trainStep, threads, published || publishedFile != nil)
        if let data, !FileManager.default.fileExists(atPath: data) { throw CLIError("--data: \(data) does not exist") }
        let references = try spec.published ? PublishedResult.read(try publishedURL()) : []
        if let compare, !FileManager.default.fileExists(atPath: compare) { throw CLIError("--compare: \(compare) does not exist") }
        let progress = Progress(label: "bench")
        let results = try Bench.run(spec) { p in
            progress.show("[\(p.index + 1)/\(p.models)] \(p.model): \(p.phase.rawValue.replacingOccurrences(of: "_", with: " ")) \(p.done)/\(p.total)")
        }
        progress.finish()
        var report = BenchReport(results: results, published: references)
        if let compare { try report.compare(with: URL(fileURLWithPath: compare)) }
        let folder = URL(fileURLWithPath: out ?? "bench/" + Self.stamp())
        try report.write(to: folder)
        print(report.markdown(), terminator: "")
        print("wrote \(folder.path)/{\(report.fileNames.joined(separator: ","))}")
    }

    func publishedURL() throws -> URL {
        if let publishedFile { return URL(fileURLWithPath: publishedFile) }
        guard let url = PublishedResult.locate() else {
            throw CLIError("--published: \(PublishedResult.fileName) is not in ./Models or beside the executable; give it with --published-file")
        }
        return url
    }

    /// "20261203-094512", local time.
    static func stamp() -> String {
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyyMMdd-HHmmss"
        return formatter.string(from: Date())
    }
}
