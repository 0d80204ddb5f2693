import ArgumentParser
import Clips
import Foundation
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
    @Option(help: "Combine views by averaging softmax scores (score) or logits (logit).") var average: ViewAveraging?
    @Option(help: "Where to write metrics.json, confusion.csv, confusion.svg, predictions.json (default: <run>/eval-<list name>).") var out: String?
    @Option(name: .customLong("batch-size"), help: "Views per forward pass.") var batchSize = 8
    @Option(help: "Decoding threads.") var workers = 2

    func validate() throws {
        if let views, ViewPlan.parseViews(views) == nil { throw ValidationError("--views must look like 10x3 (crops 1, 3 or 10), got \(views)") }
        guard batchSize >= 1, workers >= 1 else { throw ValidationError("--batch-size and --workers must be ≥ 1") }
    }

    func run() throws {
        let file = Predictor.checkpointFile(model)
        let predictor: Predictor
        if let flowModel {
            let (joined, info) = try TwoStreamJoin.join(rgb: file, flow: Predictor.checkpointFile(flowModel), fusion: fusion.value)
            let (clips, crops) = views.flatMap(ViewPlan.parseViews) ?? (1, 1)
            var plan = ViewPlan(input: info.input, clips: clips, crops: crops, averaging: average ?? .score)
            plan.flowOptions = info.flow ?? .init()
            predictor = Predictor(model: joined, preset: info.preset, classNames: info.classNames, plan: plan)
        } else {
            predictor = try Predictor(checkpoint: file, views: views.flatMap(ViewPlan.parseViews), averaging: average)
        }
        let listURL = URL(fileURLWithPath: data)
        let list = try AnnotationList.readList(listURL, classes: predictor.classNames)
        if let bad = list.items.first(where: { $0.label >= predictor.classNames.count }) {
            throw CLIError("\(data): \(bad.path) has label \(bad.label) but the model has \(predictor.classNames.count) classes")
        }
        let dataRoot = DataRoot(root.map { URL(fileURLWithPath: $0) } ?? listURL.deletingLastPathComponent())
        let progress = Progress(label: "evaluating")
        let result = try Evaluator.run(model: predictor.model, list: list, root: dataRoot, plan: predictor.plan,
                                       classNames: predictor.classNames, batchSize: batchSize, workers: workers,
                                       progress: progress.update)
        progress.finish()
        let name = listURL.deletingPathExtension().lastPathComponent
        let dir = out.map { URL(fileURLWithPath: $0) } ?? file.deletingLastPathComponent().appendingPathComponent("eval-\(name)")
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
