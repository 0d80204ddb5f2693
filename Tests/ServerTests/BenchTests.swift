import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Hummingbird
import HummingbirdTesting
import NIOCore
import Server
import Testing

/// `motive bench` and bench jobs: the fields, the figures agreeing with `motive flops` and
/// `motive eval`, the charts, refusals, and the daemon's job and file routes. The processes run
/// on one thread, so that they do not starve the suites running beside them.
@Suite(.serialized) struct BenchTests {
    static let checkpoint = Fixture.modelsDirectory.appendingPathComponent("default/model.safetensors")
    static let valList = Fixture.dataRoot.appendingPathComponent("val.txt")

    /// Runs the `motive` binary; its exit status, stdout and stderr.
    static func motive(_ arguments: [String]) throws -> (status: Int32, out: String, err: String) {
        let binary = try #require(Fixture.motiveExecutable, "the motive executable is built beside the tests")
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        (process.standardOutput, process.standardError) = (out, err)
        try process.run()
        let outData = out.fileHandleForReading.readDataToEndOfFile(), errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
    }

    static func rows(_ folder: URL) throws -> [[String: Any]] {
        try String(contentsOf: folder.appendingPathComponent("bench.jsonl"), encoding: .utf8).split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
    }

    static let costFields = ["params_m", "gflops_per_view", "gflops_per_video", "latency_ms_p50", "latency_ms_p90", "clips_per_s",
                             "achieved_gflops_per_s", "peak_rss_mb"]
    static let accuracyFields = ["top1", "top5", "mean_class_accuracy", "decode_ms_per_video", "infer_ms_per_video"]

    /// Two presets, cost only: every field is there and a finite number, GFLOPs are `motive
    /// flops`'s, and the charts without accuracy are the cost chart alone.
    @Test func presetsGetEveryCostFieldAndTheFlopsOfMotiveFlops() throws {
        let out = Fixture.scratch("bench-presets")
        let run = try Self.motive(["bench", "mc3_18_tiny", "fast=tsn_r18_tiny", "--repeats", "2", "--batch", "2", "--train-step",
                                   "--threads", "1", "--out", out.path])
        #expect(run.status == 0, "\(run.err)")
        let rows = try Self.rows(out)
        #expect(rows.map { $0["model"] as? String } == ["mc3_18_tiny", "fast"])
        #expect(rows.map { $0["preset"] as? String } == ["mc3_18_tiny", "tsn_r18_tiny"])
        for row in rows {
            for field in Self.costFields + ["train_s_per_step_b2"] {
                let value = (row[field] as? NSNumber)?.doubleValue
                #expect(value.map { $0.isFinite && $0 >= 0 } == true, "\(row["model"] ?? "") \(field): \(String(describing: row[field]))")
            }
            #expect(row["views"] as? String == "1x1" && (row["input"] as? [Int])?.count == 5)
            #expect(Self.accuracyFields.allSatisfy { row[$0] == nil })
            let flops = try Self.motive(["flops", row["preset"] as! String, "--json"])
            let counted = try #require(try JSONSerialization.jsonObject(with: Data(flops.out.utf8)) as? [String: Any])["flops"] as? Int
            #expect((row["gflops_per_view"] as? NSNumber)?.doubleValue == Double(try #require(counted)) / 1e9)
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: out.path).sorted()
        #expect(files == ["bench.csv", "bench.jsonl", "bench.md", "latency_vs_gflops.svg"])
        let csv = try String(contentsOf: out.appendingPathComponent("bench.csv"), encoding: .utf8).split(separator: "\n")
        #expect(csv.count == 3 && csv[0].hasPrefix("model,preset,input,params_m,gflops_per_view"))
        let chart = try SVGReader(out.appendingPathComponent("latency_vs_gflops.svg"))
        #expect(chart.markers == ["mc3_18_tiny", "fast"] && chart.axisTitles.count == 2)
    }

    /// A trained checkpoint on a validation list: top-1 is `motive eval`'s on the same list and
    /// views, and the accuracy charts mark it, with the published results as hollow markers.
    @Test func accuracyIsThatOfMotiveEval() throws {
        let out = Fixture.scratch("bench-accuracy"), eval = Fixture.scratch("eval-accuracy")
        let run = try Self.motive(["bench", "mine=\(Self.checkpoint.path)", Fixture.modelsDirectory.appendingPathComponent("other").path,
                                   "--data", Self.valList.path, "--views", "2x1", "--repeats", "1", "--batch", "1", "--threads", "1",
                                   "--published-file", Self.publishedCSV.path, "--out", out.path])
        #expect(run.status == 0, "\(run.err)")
        let rows = try Self.rows(out)
        #expect(rows.map { $0["model"] as? String } == ["mine", "other"])
        for row in rows {
            for field in Self.costFields + Self.accuracyFields {
                #expect(((row[field] as? NSNumber)?.doubleValue).map(\.isFinite) == true, "\(field)")
            }
            #expect(row["views"] as? String == "2x1")
            #expect(((row["decode_ms_per_video"] as? NSNumber)?.doubleValue ?? 0) > 0 && ((row["infer_ms_per_video"] as? NSNumber)?.doubleValue ?? 0) > 0)
            #expect((row["gflops_per_video"] as? NSNumber)?.doubleValue == 2 * ((row["gflops_per_view"] as? NSNumber)?.doubleValue ?? 0))
        }
        let evaluated = try Self.motive(["eval", Self.checkpoint.path, "--data", Self.valList.path, "--views", "2x1", "--workers", "1",
                                         "--out", eval.path])
        #expect(evaluated.status == 0, "\(evaluated.err)")
        let metrics = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: eval.appendingPathComponent("metrics.json"))) as? [String: Any])
        #expect((rows[0]["top1"] as? NSNumber)?.doubleValue == (metrics["top1"] as? NSNumber)?.doubleValue)
        #expect((rows[0]["mean_class_accuracy"] as? NSNumber)?.doubleValue == (metrics["mean_class_accuracy"] as? NSNumber)?.doubleValue)

        for name in ["accuracy_vs_gflops.svg", "accuracy_vs_latency.svg", "latency_vs_gflops.svg"] {
            let chart = try SVGReader(out.appendingPathComponent(name))
            #expect(chart.markers == ["mine", "other"], "\(name)")
            #expect(chart.axisTitles.count == 2, "\(name)")
        }
        let withReferences = try SVGReader(out.appendingPathComponent("accuracy_vs_gflops.svg"))
        #expect(withReferences.published == ["Reference A", "Reference B"])
        let table = try String(contentsOf: out.appendingPathComponent("bench.md"), encoding: .utf8)
        #expect(table.contains("| top-1 |") && table.contains("Reference A"))
    }

    /// A small published-results file in the shipped format.
    static let publishedCSV: URL = {
        let url = Fixture.scratch("published").appendingPathComponent("published.csv")
        try? """
        name,preset,top1,gflops_per_view,views,source,config
        Reference A,mc3_18,60.5,40.1,10x1,https://example.org/a,"a config, 16x112"
        Reference B,r3d_18,63.2,40.6,1x1,https://example.org/b,b
        """.write(to: url, atomically: true, encoding: .utf8)
        return url
    }()

    /// Bad input: a clear message and a non-zero exit, before anything is measured.
    @Test(arguments: [
        (["bench", "mc3_18_tyni"], "did you mean \"mc3_18_tiny\""),
        (["bench", "mc3_18_tiny", "--data", "/nonexistent/val.txt"], "/nonexistent/val.txt does not exist"),
        (["bench", "mc3_18_tiny", "--data", BenchTests.valList.path], "random weights"),
        (["bench", "/nonexistent/model.safetensors"], "/nonexistent/model.safetensors does not exist"),
        (["bench", "mc3_18_tiny", "--views", "2x2"], "views"),
        (["bench", "a=mc3_18_tiny", "a=tsn_r18_tiny"], "two models are labelled"),
    ])
    func badInputIsRefused(arguments: [String], message: String) throws {
        let run = try Self.motive(arguments + ["--out", Fixture.scratch("bench-bad").path])
        #expect(run.status != 0)
        #expect(run.err.contains(message), "\(run.err)")
    }

    @Test func anUnreadableCheckpointIsRefused() throws {
        let bad = Fixture.scratch("bench-unreadable").appendingPathComponent("broken.safetensors")
        try Data("not a checkpoint at all".utf8).write(to: bad)
        let run = try Self.motive(["bench", bad.path, "--out", Fixture.scratch("bench-bad").path])
        #expect(run.status != 0)
        #expect(run.err.contains("cannot load \(bad.path)"), "\(run.err)")
    }

    /// A bench job runs in the queue to success, follows over /events, and its files are served
    /// with their content types; names that try to leave the run directory are 400.
    @Test func benchJobRunsAndServesItsFiles() async throws {
        let server = try Fixture.server(Fixture.options())
        try await server.makeApplication().test(.router) { client in
            let yaml = "kind: bench\nmodels: [default, mine=other]\ndata: val.txt\nviews: 1x1\nrepeats: 1\nbatch: 1\ntrain_step: true\nthreads: 1\n"
            let created = try await client.submitJob(yaml)
            #expect(created.status == .created, "\(created.text)")
            #expect(created.json["kind"].string == "bench" && created.json["model_name"].string == nil)
            let id = try #require(created.json["id"].string)
            let job = try await client.waitForJob(id, in: ["succeeded", "failed"], timeout: 120)
            #expect(job["state"].string == "succeeded", "\(job["error"].string ?? "")")
            #expect(job["kind"].string == "bench" && job["models"].array.map(\.string) == ["default", "mine"])

            let listing = try await client.execute(uri: "/v1/jobs/\(id)/files", method: .get).json["files"].array
            let names = listing.compactMap { $0["name"].string }
            for name in ["bench.jsonl", "bench.csv", "bench.md", "accuracy_vs_gflops.svg", "accuracy_vs_latency.svg", "latency_vs_gflops.svg", "log.jsonl"] {
                #expect(names.contains(name), "\(name) in \(names)")
            }
            let svg = try await client.execute(uri: "/v1/jobs/\(id)/files/accuracy_vs_gflops.svg", method: .get)
            #expect(svg.status == .ok && svg.headers[.contentType] == "image/svg+xml")
            let chart = try SVGReader(Data(buffer: svg.body))
            #expect(chart.markers == ["default", "mine"])
            let table = try await client.execute(uri: "/v1/jobs/\(id)/files/bench.jsonl", method: .get)
            #expect(table.status == .ok && table.text.split(separator: "\n").count == 2 && table.text.contains("\"top1\":"))

            for bad in ["..", "..%2Fjob.json", ".hidden", "%2E%2E"] {
                let refused = try await client.execute(uri: "/v1/jobs/\(id)/files/\(bad)", method: .get)
                #expect(refused.status == .badRequest && refused.errorCode == "bad_file_name", "\(bad): \(refused.status)")
            }
            let climbing = try await client.execute(uri: "/v1/jobs/\(id)/files/../job.json", method: .get)
            #expect(climbing.status != .ok, "files/../job.json: \(climbing.status)")
            let missing = try await client.execute(uri: "/v1/jobs/\(id)/files/nothing.svg", method: .get)
            #expect(missing.status == .notFound)

            let events = try await client.execute(uri: "/v1/jobs/\(id)/events", method: .get).text
            for name in ["state", "bench_start", "bench_progress", "bench_model", "bench_finished", "end"] {
                #expect(events.contains("event: \(name)\n"), "event \(name)")
            }
        }
    }

    /// Cancelling a running bench stops it between two timed runs, and the job ends cancelled.
    @Test func aRunningBenchIsCancelled() async throws {
        let server = try Fixture.server(Fixture.options())
        try await server.makeApplication().test(.router) { client in
            let created = try await client.submitJob("kind: bench\nmodels: [mc3_18_tiny]\nrepeats: 1000\nthreads: 1\n")
            let id = try #require(created.json["id"].string)
            try await client.waitForJob(id, in: ["running"])
            let deadline = Date().addingTimeInterval(30)
            while try await client.execute(uri: "/v1/jobs/\(id)", method: .get).json["bench_progress"]["phase"].string != "latency",
                  Date() < deadline {
                try await Task.sleep(for: .milliseconds(50))
            }
            let cancelled = try await client.execute(uri: "/v1/jobs/\(id)", method: .delete)
            #expect(cancelled.status == .accepted)
            let job = try await client.waitForJob(id, in: ["cancelled", "failed", "succeeded"], timeout: 30)
            #expect(job["state"].string == "cancelled", "\(job["error"].string ?? "")")
        }
    }

    /// Bench jobs are checked like training jobs: a preset with a list, unknown models and keys,
    /// and paths out of the data root are 400 naming the problem.
    @Test func badBenchJobsAre400() async throws {
        let server = try Fixture.server(Fixture.options())
        try await server.makeApplication().test(.router) { client in
            let cases: [(String, String, String)] = [
                ("kind: bench\nmodels: [mc3_18_tiny]\ndata: val.txt\n", "invalid_config", "random weights"),
                ("kind: bench\nmodels: [mc3_18_tyni]\n", "invalid_config", "did you mean"),
                ("kind: bench\nmodels: [runs/nothing]\n", "bad_path", "runs/nothing does not exist"),
                ("kind: bench\nmodels: [/etc/passwd]\n", "path_outside_root", "/etc/passwd"),
                ("kind: bench\nmodels: [mc3_18_tiny]\nrepeat: 3\n", "invalid_config", "did you mean repeats"),
                ("kind: bench\nmodels: [mc3_18_tiny]\ndata: ../../../etc/passwd\n", "path_outside_root", "data"),
                ("kind: benchmark\nmodels: [mc3_18_tiny]\n", "invalid_config", "kind: benchmark"),
                ("kind: bench\nmodels: []\n", "invalid_config", "models"),
            ]
            for (yaml, code, message) in cases {
                let response = try await client.submitJob(yaml)
                #expect(response.status == .badRequest && response.errorCode == code, "\(yaml): \(response.status) \(response.text)")
                #expect(response.text.contains(message), "\(yaml): \(response.text)")
            }
        }
    }
}

/// What a chart shows: its point markers' labels, its hollow (published) markers' labels, and
/// its axis titles. Parsing fails on anything that is not well-formed XML.
struct SVGReader {
    var markers: [String] = []
    var published: [String] = []
    var axisTitles: [String] = []

    init(_ url: URL) throws { try self.init(Data(contentsOf: url)) }

    init(_ data: Data) throws {
        final class Delegate: NSObject, XMLParserDelegate {
            var reader = SVGReader(empty: ())
            var inAxisTitle = false
            func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                        attributes: [String: String] = [:]) {
                if name == "circle", let label = attributes["data-label"] {
                    if attributes["class"] == "point" { reader.markers.append(label) }
                    if attributes["class"] == "published" { reader.published.append(label) }
                }
                inAxisTitle = name == "text" && attributes["class"] == "axis-title"
                if inAxisTitle { reader.axisTitles.append("") }
            }
            func parser(_ parser: XMLParser, foundCharacters string: String) {
                if inAxisTitle { reader.axisTitles[reader.axisTitles.count - 1] += string }
            }
            func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
                inAxisTitle = false
            }
        }
        let parser = XMLParser(data: data), delegate = Delegate()
        parser.delegate = delegate
        guard parser.parse() else { throw SVGError(reason: parser.parserError.map { "\($0)" } ?? "not XML") }
        self = delegate.reader
    }

    private init(empty: Void) {}

    struct SVGError: Error { let reason: String }
}
