import Foundation
import Testing
import Engine
@testable import Benchmark
@testable import Inference
import Training
import Zoo

@Suite struct BenchmarkTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func percentilesAreNearestRank() {
        let values: [Double] = [5, 1, 4, 2, 3, 10, 9, 8, 7, 6]
        #expect(Bench.percentile(values, 0.5) == 5)
        #expect(Bench.percentile(values, 0.9) == 9)
        #expect(Bench.percentile([3], 0.9) == 3)
        #expect(Bench.percentile([2, 1], 0.5) == 1)
        #expect(Bench.percentile([], 0.5).isNaN)
    }

    /// `motive-bench zoo --profile`: one profiled forward and one profiled step of a tiny preset.
    @Test func profileCoversInferenceAndTheTrainingStep() throws {
        let preset = try ModelZoo.preset(named: "r2plus1d_18_tiny")
        var rng = Xoshiro(seed: 1)
        let (inference, step) = Bench.profile(preset.build(), input: Tensor.normal(preset.input.shape, using: &rng),
                                              classes: preset.defaultClasses, rng: &rng)
        #expect(inference.totals[.convForward] != nil && inference.totals[.convBackwardWeight] == nil)
        #expect(inference.totals[.optimizer] == nil)
        for kind in [OpKind.convForward, .convBackwardData, .convBackwardWeight, .norm, .optimizer] {
            #expect(step.totals[kind] != nil, "training step lacks \(kind)")
        }
        // The step runs at batch 2: its first convolution's layer line says so.
        #expect(step.layers.contains { $0.detail.hasPrefix("x [2, 3, ") })
        let table = ProfileReport.table(step, title: "step")
        let lines = table.split(separator: "\n")
        #expect(lines.first?.hasPrefix("step: ") == true)
        #expect(lines.contains { $0.hasPrefix("conv backward-weight") })
        #expect(table.contains("10 slowest layers"))
        #expect(lines.suffix(10).allSatisfy { $0.contains("conv") || $0.contains("GEMM") })
    }

    @Test func paretoFrontKeepsThePointsNothingBeats() {
        let points = [("a", 1.0, 50.0), ("b", 2.0, 40.0), ("c", 3.0, 70.0), ("d", 3.0, 60.0), ("e", 10.0, 70.0), ("f", 20.0, 90.0)]
            .map { SVGPlot.Point(label: $0.0, x: $0.1, y: $0.2) }
        #expect(SVGPlot.paretoFront(points).map(\.label) == ["a", "c", "f"])
        #expect(SVGPlot.paretoFront([]).isEmpty)
    }

    @Test func modelsAreNamedByPresetPathOrLabel() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bench-models-\(UUID().uuidString.prefix(6))")
        let run = folder.appendingPathComponent("my_run")
        try FileManager.default.createDirectory(at: run, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = run.appendingPathComponent("best.safetensors")
        try Data().write(to: file)

        #expect(try BenchModel(parsing: "tsm_r50_tiny").label == "tsm_r50_tiny" && BenchModel(parsing: "tsm_r50_tiny").source == BenchModel.Source.preset("tsm_r50_tiny"))
        #expect(try BenchModel(parsing: "fast=tsm_r50_tiny").label == "fast" && BenchModel(parsing: "fast=tsm_r50_tiny").source == BenchModel.Source.preset("tsm_r50_tiny"))
        #expect(try BenchModel(parsing: run.path).label == "my_run" && BenchModel(parsing: run.path).source == BenchModel.Source.checkpoint(run.path))
        #expect(try BenchModel(parsing: file.path).label == "my_run" && BenchModel(parsing: file.path).source == BenchModel.Source.checkpoint(file.path))
        #expect(try BenchModel(parsing: "mine=\(file.path)").label == "mine")
        #expect(throws: BenchError.unknownModel("tsm_r50_tyni", suggestion: "tsm_r50_tiny")) { try BenchModel(parsing: "tsm_r50_tyni") }
        #expect(throws: BenchError.missingModel("/no/such/run")) { try BenchModel(parsing: "/no/such/run") }
        #expect(throws: BenchError.self) { try BenchModel(parsing: "=tsm_r50_tiny") }
    }

    @Test func specsAreCheckedBeforeAnythingLoads() throws {
        var spec = BenchSpec(models: ["mc3_18_tiny"])
        try spec.validate()
        for (change, option) in [({ (s: inout BenchSpec) in s.batch = 0 }, "batch"), ({ $0.repeats = 0 }, "repeats"),
                                 ({ $0.views = "3x2" }, "views"), ({ $0.threads = 0 }, "threads"), ({ $0.models = [] }, "models"),
                                 ({ $0.models = ["a=mc3_18_tiny", "a=tsn_r18_tiny"] }, "models")] {
            var bad = spec
            change(&bad)
            #expect(throws: BenchError.self, "\(option)") { try bad.validate() }
            do { try bad.validate() } catch { #expect("\(error)".hasPrefix(option + ":"), "\(error)") }
        }
        spec.data = "val.txt"
        #expect(throws: BenchError.randomWeights("mc3_18_tiny")) { try Bench.check(spec) }
    }

    @Test func specsReadFromYAMLWithTheirDefaults() throws {
        let spec = try ConfigLoader.parse(BenchSpec.self, yaml: "kind: bench\nmodels: [a, b]\ntrain_step: true\nviews: 10x3\n", keys: BenchSpec.keys)
        #expect(spec.models == ["a", "b"] && spec.trainStep && spec.views == "10x3" && spec.batch == 8 && spec.repeats == 10 && !spec.published)
        #expect(throws: ConfigError.unknownKey(path: "trainstep", suggestion: "train_step")) {
            try ConfigLoader.parse(BenchSpec.self, yaml: "models: [a]\ntrainstep: true\n", keys: BenchSpec.keys)
        }
        #expect(try ConfigLoader.kind(of: "models: [a]\nkind: bench\n") == "bench")
        #expect(try ConfigLoader.kind(of: "model: {preset: x}\n") == "train")
    }

    @Test func csvQuotingRoundTrips() {
        let rows = CSV.parse("a,b,c\n\"x, y\",\"say \"\"hi\"\"\",z\r\n\n1,,3")
        #expect(rows == [["a", "b", "c"], ["x, y", "say \"hi\"", "z"], ["1", "", "3"]])
        #expect(CSV.field("x, y") == "\"x, y\"" && CSV.field("plain") == "plain" && CSV.field("q\"") == "\"q\"\"\"")
    }

    /// The shipped published results parse, name zoo presets, and cover the architectures the
    /// chart overlays, each with a source.
    @Test func shippedPublishedResultsParse() throws {
        let rows = try PublishedResult.read(Self.repository.appendingPathComponent("Models/published_k400.csv"))
        let presets = Set(ModelZoo.presets.map(\.name))
        for row in rows {
            #expect(presets.contains(row.preset), "\(row.name): \(row.preset)")
            #expect(row.top1 > 50 && row.top1 < 90 && row.gflopsPerView > 1, "\(row.name)")
            #expect(row.source.hasPrefix("https://"), "\(row.name)")
        }
        let covered = Set(rows.map(\.preset))
        for preset in ["tsn_r50", "tsm_r50", "i3d_r50", "r2plus1d_18", "r2plus1d_34", "slowfast_r50_4x16", "slowfast_r50", "slow_r50", "c3d",
                       "timesformer_base", "timesformer_hr"] {
            #expect(covered.contains(preset), "\(preset)")
        }
    }

    @Test func badPublishedFilesAreNamed() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("published-\(UUID().uuidString.prefix(6)).csv")
        defer { try? FileManager.default.removeItem(at: url) }
        try "name,preset,top1\n".write(to: url, atomically: true, encoding: .utf8)
        #expect(throws: BenchError.self) { try PublishedResult.read(url) }
        try "name,preset,top1,gflops_per_view,views,source,config\nA,c3d,many,1,1x1,s,c\n".write(to: url, atomically: true, encoding: .utf8)
        do { _ = try PublishedResult.read(url); Issue.record("read a row without numbers") } catch { #expect("\(error)".contains("line 2")) }
    }

    static func row(_ model: String, gflops: Double, latency: Double, top1: Double? = nil) -> BenchResult {
        var r = BenchResult(model: model, preset: model, input: [1, 3, 8, 64, 64], paramsM: 1, gflopsPerView: gflops, views: "1x1",
                            gflopsPerVideo: gflops, latencyMsP50: latency, latencyMsP90: latency * 1.1, clipsPerS: 1000 / latency,
                            achievedGflopsPerS: gflops * 1000 / latency, peakRssMb: 10)
        r.top1 = top1
        return r
    }

    @Test func reportsSortByCostAndKeepFieldOrder() throws {
        let report = BenchReport(results: [Self.row("big", gflops: 4, latency: 30, top1: 0.9), Self.row("small", gflops: 0.5, latency: 5, top1: 0.6)])
        let table = report.markdown().split(separator: "\n")
        #expect(table[0].hasPrefix("| model | preset | params (M) | GFLOPs/view"))
        #expect(table[2].hasPrefix("| small |") && table[3].hasPrefix("| big |"))
        #expect(table[0].contains("| top-1 |") && table[2].contains("60.0%"))
        let first = try #require(report.jsonLines().split(separator: "\n").first)
        #expect(first.hasPrefix("{\"model\":\"big\",\"preset\":\"big\",\"input\":[1,3,8,64,64],\"params_m\":1,"))
        #expect(!first.contains("train_s_per_step_b2"))
        #expect(report.csv().hasPrefix("model,preset,input,params_m,gflops_per_view,views,gflops_per_video,latency_ms_p50"))
        #expect(report.fileNames.contains("accuracy_vs_gflops.svg"))
        #expect(!BenchReport(results: [Self.row("a", gflops: 1, latency: 1)]).fileNames.contains("accuracy_vs_gflops.svg"))
    }

    @Test func comparisonAddsRatiosToPyTorch() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("torch-\(UUID().uuidString.prefix(6)).jsonl")
        defer { try? FileManager.default.removeItem(at: url) }
        try "{\"model\": \"r\", \"latency_ms_p50\": 20, \"train_s_per_step_b2\": 2}\n{\"model\": \"other\", \"latency_ms_p50\": 1}\n"
            .write(to: url, atomically: true, encoding: .utf8)
        var first = Self.row("r", gflops: 1, latency: 10)
        first.trainSPerStepB2 = 1
        var report = BenchReport(results: [first, Self.row("s", gflops: 1, latency: 10)])
        try report.compare(with: url)
        #expect(report.results[0].latencyVsTorch == 0.5 && report.results[0].trainStepVsTorch == 0.5)
        #expect(report.results[1].latencyVsTorch == nil)
        #expect(report.markdown().contains("| latency vs torch |"))
        try "not json\n".write(to: url, atomically: true, encoding: .utf8)
        #expect(throws: BenchError.self) { try report.compare(with: url) }
    }

    @Test func scatterChartsLabelEveryPointOnLogAxes() throws {
        let svg = SVGPlot.scatter(title: "t <&>", xLabel: "GFLOPs", yLabel: "top-1", points: [
            .init(label: "a&b", x: 0.05, y: 40), .init(label: "c", x: 3, y: 80), .init(label: "ref", x: 100, y: 70, hollow: true),
            .init(label: "gone", x: 0, y: 10), .init(label: "nan", x: .nan, y: 1),
        ], logX: true, paretoFront: true)
        #expect(svg.components(separatedBy: "class=\"point\"").count - 1 == 2)
        #expect(svg.components(separatedBy: "class=\"published\"").count - 1 == 1)
        #expect(svg.contains("data-label=\"a&amp;b\"") && svg.contains("class=\"pareto-front\"") && svg.contains("GFLOPs (log scale)"))
        #expect(!svg.contains("data-label=\"gone\"") && !svg.contains("data-label=\"nan\""))
        // Ticks at decades from 0.01 to 100.
        for tick in [">0.01<", ">0.1<", ">1<", ">10<", ">100<"] { #expect(svg.contains(tick), "\(tick)") }
    }

    @Test func eventsRoundTrip() throws {
        let events: [BenchEvent] = [
            .started(models: ["a", "b"]),
            .progress(BenchProgress(index: 1, models: 2, model: "b", phase: .trainStep, done: 1, total: 3)),
            .measured(Self.row("a", gflops: 1, latency: 2, top1: 0.5)),
            .finished(files: ["bench.md"]),
        ]
        for event in events {
            let line = event.line(time: Date(timeIntervalSince1970: 1))
            #expect(line.last == UInt8(ascii: "\n"))
            #expect(BenchEvent.decode(line) == event, "\(String(decoding: line, as: UTF8.self))")
        }
        #expect(BenchEvent.decode(Data("{\"event\":\"step\"}".utf8)) == nil)
    }
}
