import ArgumentParser
import Clips
import Foundation
import Inference
import Training

/// `motive eval RUN_DIR|CHECKPOINT --data LIST`: multi-view accuracy, confusion matrix and per-video predictions.
struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evaluate a checkpoint on an annotation list: top-1, top-5, mean class accuracy, confusion matrix (CSV, SVG) and per-video predictions (JSON).")

    @Argument(help: "A run directory (its best checkpoint, else its last) or a checkpoint file; with --flow, the RGB stream.") var model: String
    @Option(name: .customLong("flow"), help: "A flow stream's run or checkpoint: evaluate the two streams fused (and each alone).")
    var flowModel: String?
    @OptionGroup var fusion: FusionOptions
    @Option(help: "The annotation list (video list: `path label` per line).") var data: String
    @Option(help: "Folder the list's paths are relative to (default: the list's folder).") var root: String?
    @Option(help: "Test views CLIPSxCROPS, e.g. 10x3 (default: the checkpoint's eval setting, else 1x1).") var views: String?
    @Option(help: "Combine views as MMAction2's average_clips: prob (mean of probabilities) or score (mean of logits).") var average: ViewAveraging?
    @Option(help: "Where to write metrics.json, confusion.csv, confusion.svg, predictions.json (default: <run>/eval-<list name>).") var out: String?
    @Option(name: .customLong("batch-size"), help: "Views per forward pass.") var batchSize = 8
    @Option(help: "Decoding threads.") var workers = 2

    func validate() throws {
        if let views, ViewPlan.parseViews(views) == nil { throw ValidationError("--views must look like 10x3 (crops 1, 3 or 10), got \(views)") }
        guard ConfigLoader.batchSizes.contains(batchSize), ConfigLoader.workerCounts.contains(workers) else {
            throw ValidationError("--batch-size must be 1…\(ConfigLoader.batchSizes.upperBound) and --workers 1…\(ConfigLoader.workerCounts.upperBound)")
        }
    }

    func run() throws {
        let overrides = ViewOverrides(views: views.flatMap(ViewPlan.parseViews), averaging: average)
        let source: PredictorSource = flowModel.map { .twoStream(rgb: model, flow: $0, fusion: fusion.value) } ?? .checkpoint(model)
        let (predictor, _) = try Predictor.load(source, overrides)
        let progress = Progress(label: "evaluating")
        let result = try Evaluator.run(predictor, listPath: data, root: root, batchSize: batchSize, workers: workers, progress: progress.update)
        progress.finish()
        let listURL = URL(fileURLWithPath: data)
        let name = listURL.deletingPathExtension().lastPathComponent
        let dir = try out.map { URL(fileURLWithPath: $0) } ?? CheckpointLocator.resolve(model).deletingLastPathComponent().appendingPathComponent("eval-\(name)")
        try result.write(to: dir)
        print(result.metrics.summary(classNames: predictor.classNames))
        if let rgb = result.streams["rgb"], let flow = result.streams["flow"] {
            print(String(format: "two streams: RGB top-1 %.2f%%, flow top-1 %.2f%%, fused top-1 %.2f%%",
                         100 * rgb.metrics.top1, 100 * flow.metrics.top1, 100 * result.metrics.top1))
        }
        print(String(format: "%d videos, %dx%d views, %.1f s", result.metrics.count, predictor.plan.clips, predictor.plan.crops, result.seconds))
        for failure in result.failed { print("failed: \(failure)") }
        print("wrote \(dir.path)/{metrics.json,confusion.csv,confusion.svg,predictions.json}"
              + (result.streams.isEmpty ? "" : ", and the same for each stream in rgb/ and flow/"))
    }
}
