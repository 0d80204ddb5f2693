import Benchmark
import Datasets
import Foundation
import Support
import Training

/// The child side of a dataset check job (`motive serve run-job`, like a training job): probes
/// every video of an uploaded dataset's lists and writes the report, `report.json`, into the
/// job's run directory, where the daemon reads the dataset's state from. Decoding runs in this
/// process, so a video that crashes a decoder fails the check, never the daemon. A stop request
/// ends it between two files; the job then runs again from the start.
enum DatasetCheckJobProcess {
    static let reportName = "report.json"

    static func run(_ spec: DatasetCheckSpec, confinement: ConfinedPath?, directory: URL, stop: StopFlag,
                    emit: @escaping @Sendable (Data) -> Void) -> Int32 {
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            // The lists were written inside the data root; a list moved since must not lead elsewhere.
            if let confinement {
                for list in [spec.lists.train, spec.lists.root] + [spec.lists.val, spec.lists.classes].compactMap({ $0 })
                where confinement.check(list) == nil {
                    throw TrainingError.outsideDataRoot(list.path)
                }
            }
            let report = try DatasetCheck.run(spec.lists, isCancelled: { stop.isSet })
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try AtomicFile.write(try encoder.encode(report), to: directory.appendingPathComponent(reportName))
            emit(BenchEvent.finished(files: [reportName]).line(time: Date()))
            return 0
        } catch is CancellationError {
            emit(RunEvent.interrupted(epoch: 0, batch: 0, resume: "").line())
            return 0
        } catch {
            emit(RunEvent.failed("\(error)").line(time: Date()))
            return 1
        }
    }

    /// The report a finished check wrote in `directory`, if any.
    static func report(in directory: URL) -> DatasetReport? {
        guard let data = try? Data(contentsOf: directory.appendingPathComponent(reportName)) else { return nil }
        return try? JSONDecoder().decode(DatasetReport.self, from: data)
    }
}
