import Foundation
import Inference
import Support

/// A benchmark's files: `bench.jsonl`, `bench.csv`, `bench.md` (sorted by GFLOPs per video) and
/// the charts: `latency_vs_gflops.svg` always, and `accuracy_vs_gflops.svg` and
/// `accuracy_vs_latency.svg` when some point has an accuracy (measured, or published).
public struct BenchReport: Sendable {
    public var results: [BenchResult]
    /// Overlaid on the accuracy plots as hollow markers.
    public var published: [PublishedResult]

    public init(results: [BenchResult], published: [PublishedResult] = []) {
        (self.results, self.published) = (results, published)
    }

    /// Adds `latency_vs_torch` and `train_step_vs_torch` from a PyTorch JSONL file (`bench/torch_zoo.py
    /// --bench-fields`): each row is matched to the PyTorch row named as its label, else as its preset.
    public mutating func compare(with url: URL) throws(BenchError) {
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { throw .badCompare(url.path, "cannot be read") }
        var rows: [String: [String: Any]] = [:]
        for (i, line) in text.split(separator: "\n").enumerated() where !line.trimmingCharacters(in: .whitespaces).isEmpty {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let name = object["model"] as? String else {
                throw .badCompare(url.path, "line \(i + 1) is not a JSON object with a \"model\"")
            }
            rows[name] = object
        }
        for i in results.indices {
            guard let torch = rows[results[i].model] ?? rows[results[i].preset] else { continue }
            if let latency = (torch["latency_ms_p50"] as? NSNumber)?.doubleValue, latency > 0 {
                results[i].latencyVsTorch = results[i].latencyMsP50 / latency
            }
            if let mine = results[i].trainSPerStepB2, let step = (torch["train_s_per_step_b2"] as? NSNumber)?.doubleValue, step > 0 {
                results[i].trainStepVsTorch = mine / step
            }
        }
    }

    /// Names of the files `write` makes.
    public var fileNames: [String] {
        ["bench.jsonl", "bench.csv", "bench.md", "latency_vs_gflops.svg"] + (hasAccuracy ? ["accuracy_vs_gflops.svg", "accuracy_vs_latency.svg"] : [])
    }

    var hasAccuracy: Bool { results.contains { $0.top1 != nil } || !published.isEmpty }

    /// Writes every file into `folder` (made if needed), each atomically.
    public func write(to folder: URL) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        func save(_ name: String, _ text: String) throws { try AtomicFile.write(Data(text.utf8), to: folder.appendingPathComponent(name)) }
        try save("bench.jsonl", jsonLines())
        try save("bench.csv", csv())
        try save("bench.md", markdown())
        for (name, svg) in charts() { try save(name, svg) }
    }

    /// One JSON object per row, its fields in `BenchResult.fieldNames`' order.
    public func jsonLines() -> String {
        results.map { row in
            let object = Self.object(row)
            let members = BenchResult.fieldNames.compactMap { key -> String? in
                guard let value = object[key],
                      let json = try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed, .withoutEscapingSlashes]) else { return nil }
                return "\"\(key)\":" + String(decoding: json, as: UTF8.self)
            }
            return "{" + members.joined(separator: ",") + "}\n"
        }.joined()
    }

    /// A row as `bench.jsonl` holds it: its present fields by name.
    static func object(_ row: BenchResult) -> [String: Any] {
        guard let data = try? JSONEncoder().encode(row), let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return [:] }
        return object
    }

    /// A row's present fields as text for the CSV.
    func fields(_ row: BenchResult) -> [String: String] {
        Self.object(row).mapValues { value in
            if let list = value as? [Any] { return list.map { "\($0)" }.joined(separator: "x") }
            if let number = value as? NSNumber, !(value is String) { return Self.number(number.doubleValue) }
            return "\(value)"
        }
    }

    static func number(_ v: Double) -> String {
        v == v.rounded() && abs(v) < 1e15 ? String(Int(v)) : String(format: "%.6g", v)
    }

    public func csv() -> String {
        let rows = results.map(fields)
        let present = Set(rows.flatMap(\.keys))
        let columns = BenchResult.fieldNames.filter(present.contains)
        let lines = [columns.joined(separator: ",")] + rows.map { values in
            columns.map { CSV.field(values[$0] ?? "") }.joined(separator: ",")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The rows sorted by GFLOPs per video, with readable headings and units.
    public func markdown() -> String {
        let sorted = results.sorted { $0.gflopsPerVideo != $1.gflopsPerVideo ? $0.gflopsPerVideo < $1.gflopsPerVideo : $0.model < $1.model }
        func f(_ v: Double?, _ format: String) -> String { v.map { String(format: format, $0) } ?? "–" }
        func pct(_ v: Double?) -> String { v.map { String(format: "%.1f%%", 100 * $0) } ?? "–" }
        var headings = ["model", "preset", "params (M)", "GFLOPs/view", "views", "GFLOPs/video", "latency p50 (ms)", "p90 (ms)",
                        "clips/s", "GFLOP/s", "peak RSS (MB)"]
        var cells: [[String]] = sorted.map { r in
            [r.model, r.preset, f(r.paramsM, "%.2f"), f(r.gflopsPerView, "%.3f"), r.views, f(r.gflopsPerVideo, "%.3f"),
             f(r.latencyMsP50, "%.1f"), f(r.latencyMsP90, "%.1f"), f(r.clipsPerS, "%.1f"), f(r.achievedGflopsPerS, "%.1f"), f(r.peakRssMb, "%.0f")]
        }
        func add(_ heading: String, _ value: (BenchResult) -> String, when present: Bool) {
            guard present else { return }
            headings.append(heading)
            for i in sorted.indices { cells[i].append(value(sorted[i])) }
        }
        add("train step b2 (s)", { f($0.trainSPerStepB2, "%.3f") }, when: sorted.contains { $0.trainSPerStepB2 != nil })
        let accuracy = sorted.contains { $0.top1 != nil }
        add("top-1", { pct($0.top1) }, when: accuracy)
        add("top-5", { pct($0.top5) }, when: accuracy)
        add("mean class", { pct($0.meanClassAccuracy) }, when: accuracy)
        add("decode ms/video", { f($0.decodeMsPerVideo, "%.1f") }, when: accuracy)
        add("infer ms/video", { f($0.inferMsPerVideo, "%.1f") }, when: accuracy)
        add("latency vs torch", { f($0.latencyVsTorch, "%.2f") }, when: sorted.contains { $0.latencyVsTorch != nil })
        add("train step vs torch", { f($0.trainStepVsTorch, "%.2f") }, when: sorted.contains { $0.trainStepVsTorch != nil })
        let escape = { (s: String) in s.replacingOccurrences(of: "|", with: "\\|") }
        var lines = ["| " + headings.joined(separator: " | ") + " |", "|" + String(repeating: "---|", count: headings.count)]
        lines += cells.map { "| " + $0.map(escape).joined(separator: " | ") + " |" }
        if !published.isEmpty {
            lines += ["", "Published Kinetics-400 results (hollow markers on the accuracy charts):", "",
                      "| architecture | preset | top-1 | GFLOPs/view | views | GFLOPs/video | source |", "|---|---|---|---|---|---|---|"]
            lines += published.sorted { $0.gflopsPerVideo < $1.gflopsPerVideo }.map { p in
                "| \(escape(p.name)) | \(p.preset) | \(String(format: "%.1f%%", p.top1)) | \(String(format: "%.1f", p.gflopsPerView)) | \(p.views) | "
                    + "\(String(format: "%.0f", p.gflopsPerVideo)) | [\(escape(p.config))](\(p.source)) |"
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The charts, by file name.
    public func charts() -> [(name: String, svg: String)] {
        let costPoints = results.map { SVGPlot.Point(label: $0.model, x: $0.gflopsPerVideo, y: $0.latencyMsP50) }
        var charts = [("latency_vs_gflops.svg",
                       SVGPlot.scatter(title: "Latency against FLOPs", xLabel: "GFLOPs per video", yLabel: "latency per view, batch 1 (ms)",
                                       points: costPoints, logX: true, logY: true))]
        guard hasAccuracy else { return charts }
        let measured = results.compactMap { r in r.top1.map { SVGPlot.Point(label: r.model, x: r.gflopsPerVideo, y: 100 * $0) } }
        let references = published.map { SVGPlot.Point(label: $0.name, x: $0.gflopsPerVideo, y: $0.top1, hollow: true) }
        charts.append(("accuracy_vs_gflops.svg",
                       SVGPlot.scatter(title: "Accuracy against FLOPs", xLabel: "GFLOPs per video", yLabel: "top-1 (%)",
                                       points: measured + references, logX: true, paretoFront: true)))
        let byLatency = results.compactMap { r in
            let views = ViewPlan.parseViews(r.views).map { Double($0.clips * $0.crops) } ?? 1
            return r.top1.map { SVGPlot.Point(label: r.model, x: r.latencyMsP50 * views, y: 100 * $0) }
        }
        charts.append(("accuracy_vs_latency.svg",
                       SVGPlot.scatter(title: "Accuracy against measured latency", xLabel: "latency per video, all views (ms)",
                                       yLabel: "top-1 (%)", points: byLatency, logX: true, paretoFront: true)))
        return charts
    }
}
