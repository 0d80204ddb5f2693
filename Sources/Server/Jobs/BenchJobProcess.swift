import Benchmark
import Foundation
import Support
import Training

/// The child side of a bench job (`motive serve run-job`, like a training job): measures the
/// spec's models, writes the report's files into the job's run directory, and reports
/// `BenchEvent`s on stdout and in `log.jsonl`. A stop request (SIGTERM, SIGINT, the server
/// gone) ends it between two models; the job then runs again from the start.
enum BenchJobProcess {
    static func run(_ spec: BenchSpec, directory: URL, stop: StopFlag, emit: @escaping (Data) -> Void) -> Int32 {
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let logURL = directory.appendingPathComponent("log.jsonl")
            _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)    // a rerun starts a fresh log
            let log = try FileHandle(forWritingTo: logURL)
            defer { try? log.close() }
            func send(_ line: Data, logged: Bool = true) {
                if logged { try? log.write(contentsOf: line) }
                emit(line)
            }
            send(BenchEvent.started(models: spec.models).line(time: Date()))
            var lastLogged = Date.distantPast
            let results = try Bench.run(spec, progress: { progress in
                // Every progress to the server; to the log when the phase starts, ends, or a second has passed.
                let logged = progress.done == 0 || progress.done == progress.total || Date().timeIntervalSince(lastLogged) >= 1
                if logged { lastLogged = Date() }
                send(BenchEvent.progress(progress).line(time: Date()), logged: logged)
            }, measured: { result in
                send(BenchEvent.measured(result).line(time: Date()))
            }, stop: stop)
            var references: [PublishedResult] = []
            if spec.published {
                guard let url = PublishedResult.locate() else {
                    throw BenchError.badPublished(PublishedResult.fileName, "not found in the working folder's Models/ or beside the executable")
                }
                references = try PublishedResult.read(url)
            }
            let report = BenchReport(results: results, published: references)
            try report.write(to: directory)
            send(BenchEvent.finished(files: report.fileNames).line(time: Date()))
            return 0
        } catch BenchError.stopped {
            emit(RunEvent.interrupted(epoch: 0, batch: 0, resume: "").line())
            return 0
        } catch {
            let line = RunEvent.failed("\(error)").line(time: Date())
            if let log = try? FileHandle(forWritingTo: directory.appendingPathComponent("log.jsonl")) {
                _ = try? log.seekToEnd()
                try? log.write(contentsOf: line)
                try? log.close()
            }
            emit(line)
            return 1
        }
    }
}
