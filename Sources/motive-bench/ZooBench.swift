import ArgumentParser
import Benchmark
import Engine
import Foundation
import Zoo

/// `motive-bench zoo NAME...`: each preset's no-grad forward at batch 1 and one SGD training step
/// at batch 2, with how far resident memory rose during the forward passes: the figures
/// `bench/torch_zoo.py` prints for the same architectures in PyTorch
/// (`bench/zoo_vs_torch.sh` alternates the two).
struct ZooBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "zoo",
        abstract: "Seconds per forward pass at batch 1 (no grad) and per SGD step at batch 2, per preset; one JSON line each.")

    @Argument(help: "Presets (`motive models` lists them).") var names: [String]
    @Option(name: .customLong("infer-repeats"), help: "Timed forward passes after one warm-up (the median is reported).") var inferRepeats = 3
    @Option(name: .customLong("train-repeats"), help: "Timed training steps after one warm-up (the median is reported).") var trainRepeats = 2
    @Option(help: "Dispatch workers (default: all cores).") var workers: Int?
    @Option(help: "Convolution algorithm: auto, winograd2 or winograd4 (one Winograd tiling, F(2×2, 3×3) or F(4×4, 3×3), wherever Winograd applies) or im2col.")
    var conv: ConvAlgorithm = .auto
    @Flag(help: "Instead of timing, print where one inference and one training step spend their time: per op kind, and the ten slowest layers.")
    var profile = false

    func validate() throws {
        guard (1...1000).contains(inferRepeats), (1...1000).contains(trainRepeats) else {
            throw ValidationError("--infer-repeats and --train-repeats must be 1…1000")
        }
        if let workers, !(1...256).contains(workers) { throw ValidationError("--workers must be 1…256") }
    }

    func run() throws {
        if let workers { Parallel.setWorkers(workers) }
        try ConvAlgorithm.with(conv) { try measure() }
    }

    private func measure() throws {
        let presets = try names.map { try ModelZoo.preset(named: $0) }
        for preset in presets {
            var rng = Xoshiro(seed: 0)
            let model = preset.build()
            let shape = preset.input.shape
            if profile {
                let (inference, step) = Bench.profile(model, input: Tensor.normal(shape, using: &rng),
                                                      classes: preset.defaultClasses, rng: &rng)
                var batch2 = shape
                batch2[0] = 2
                print(ProfileReport.table(inference, title: "\(preset.name) inference, input \(Profiler.shape(shape))"))
                print()
                print(ProfileReport.table(step, title: "\(preset.name) SGD step, input \(Profiler.shape(batch2))"))
                print()
                fflush(nil)
                continue
            }
            let clip = Tensor.normal(shape, using: &rng)
            let (inferRuns, inferPeak) = try ProcessMemory.peakGrowth { try Bench.forwardSeconds(model, clip, repeats: inferRepeats) }
            let infer = Bench.percentile(inferRuns, 0.5)
            let train = Bench.percentile(try Bench.trainStepSeconds(model, shape: shape, classes: preset.defaultClasses,
                                                                    repeats: trainRepeats, rng: &rng), 0.5)
            let input = "[" + shape.map(String.init).joined(separator: ", ") + "]"
            print("{\"model\": \"\(preset.name)\", \"input\": \(input), \"infer_s_per_clip\": \(String(format: "%.4g", infer)), "
                  + "\"infer_peak_mb\": \(inferPeak.map { String(format: "%.4g", Double($0) / 1_048_576) } ?? "null"), "
                  + "\"train_s_per_step_b2\": \(String(format: "%.4g", train))}")
            fflush(nil)
        }
    }
}

extension ConvAlgorithm: ExpressibleByArgument {}
