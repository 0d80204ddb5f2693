import Clips
import Engine
import Foundation
import Inference
import Support
import Video
import Training
#if canImport(Glibc)
import Glibc
#endif

/// The child side of a job (started through the server's `JobLauncher`). A bench job runs
/// `BenchJobProcess`; a training job trains the job of
/// `JOB_FOLDER/job.json` in its run directory (resuming from `last.safetensors` when an earlier
/// attempt left one) and reports its `RunEvent`s on stdout, one JSON line each, as `log.jsonl` holds them.
///
/// Jobs train in a process of their own because the engine stops the process on a shape error
/// (`ensure`), and some configs that pass validation reach one (a crop larger than the frame,
/// several views per training clip). In the server itself such a job would take the daemon
/// down — and, being resumed at every start, keep it down.
public enum TrainingJobProcess {
    /// Trains and returns the exit status: 0 when finished or stopped (SIGTERM, SIGINT, or the
    /// server gone), 1 on an error (reported as a `failed` event).
    ///
    /// With a `group` (the server started the job under `mpirun`), every rank trains and rank 0
    /// alone writes the run directory, reports events and checks the model; SIGUSR1 also stops.
    /// The other ranks' errors go to standard error, and the caller ends the job on them.
    public static func run(jobFolder: URL, group: (any ProcessGroup)? = nil) -> Int32 {
        // With the server gone, writes to the pipe fail (and must not kill the process with
        // SIGPIPE): the run notices its parent is gone and saves a checkpoint.
        signal(SIGPIPE, SIG_IGN)
        let primary = (group?.rank ?? 0) == 0
        let output = FileHandle.standardOutput
        func emit(_ event: RunEvent) {
            if primary {
                try? output.write(contentsOf: event.line())
            } else if case .failed(let message) = event {
                FileHandle.standardError.write(Data("rank \(group?.rank ?? 0): \(message)\n".utf8))
            }
        }
        // Listen for stop requests before anything slow, so that none is missed.
        let triggers = StopRequests(distributed: group != nil)
        defer { triggers.cancel() }
        // A process left over from a server that was killed may still be saving its checkpoint:
        // wait for it, so that two processes never train in one run directory.
        let lock = primary ? open(jobFolder.appendingPathComponent("run.lock").path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644) : -1
        if lock >= 0 { flock(lock, LOCK_EX) }
        defer { if lock >= 0 { close(lock) } }
        do {
            let data = try Data(contentsOf: jobFolder.appendingPathComponent("job.json"))
            let record = try JobStore.decoder.decode(JobRecord.self, from: data)
            let directory = jobFolder.appendingPathComponent("run")
            if let check = record.check {
                let flag = StopFlag()
                if triggers.forward(to: flag) {
                    emit(.interrupted(epoch: 0, batch: 0, resume: ""))
                    return 0
                }
                return DatasetCheckJobProcess.run(check, confinement: record.dataRoot, directory: directory, stop: flag) {
                    try? output.write(contentsOf: $0)
                }
            }
            if var spec = record.bench {
                spec.confinement = record.dataRoot
                let flag = StopFlag()
                if triggers.forward(to: flag) {
                    emit(.interrupted(epoch: 0, batch: 0, resume: ""))
                    return 0
                }
                return BenchJobProcess.run(spec, directory: directory, stop: flag) { try? output.write(contentsOf: $0) }
            }
            guard var config = record.config else { throw JobRecordError.noWork(record.id) }
            config.data.confinement = record.dataRoot
            let resumable = CheckpointLocator.resumable(in: directory) != nil
            let run = try TrainingRun(config: config, directory: directory, resume: resumable ? directory : nil, group: group)
            if triggers.forward(to: run.stopFlag) {
                emit(.interrupted(epoch: run.trainer.epoch + 1, batch: 0, resume: ""))    // stopped before the first step
                return 0
            }
            var checkpoint: URL?
            try run.run { event in
                emit(event)
                if case .finished(let last, let best) = event { checkpoint = URL(fileURLWithPath: best ?? last) }
            }
            guard let checkpoint, primary else { return 0 }            // interrupted: already reported
            try smokeTest(checkpoint, data: config.data, scratch: jobFolder)
            let relative = checkpoint.standardizedFileURL.path.replacingOccurrences(of: jobFolder.standardizedFileURL.path + "/", with: "")
            emit(.ready(checkpoint: relative))
            return 0
        } catch {
            emit(.failed("\(error)"))
            return 1
        }
    }

    /// Labels a raw video with the checkpoint through the server's own entry point
    /// (`Predictor.predict`, with live TV-L1 for flow models), so that a model whose test
    /// pipeline cannot run fails here, in the job's process, and is never served. The video is
    /// one of the training videos when the list holds video files, else a short generated one.
    static func smokeTest(_ checkpoint: URL, data section: DataSection, scratch: URL) throws {
        let (predictor, _) = try Predictor.load(.checkpoint(checkpoint.path))
        let data = try TrainingData.load(section)
        var isFolder: ObjCBool = false
        for item in data.train.items.prefix(3) where item.frameCount == nil {
            guard let url = try? data.root.resolve(item.path),
                  FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder), !isFolder.boolValue,
                  (try? VideoReader(path: url.path)) != nil else { continue }
            _ = try predictor.predict(file: url.path)
            return
        }
        let video = scratch.appendingPathComponent("smoke-test.mp4")
        defer { try? FileManager.default.removeItem(at: video) }
        try writeSmokeVideo(to: video, size: max(predictor.plan.input.size, 32))
        _ = try predictor.predict(file: video.path)
    }

    /// Two seconds of a moving gradient at 25 frames per second.
    static func writeSmokeVideo(to url: URL, size: Int) throws {
        let frames = 50, side = (size + 1) / 2 * 2
        var pixels = [UInt8](repeating: 0, count: frames * side * side * 3)
        for t in 0..<frames {
            for y in 0..<side {
                for x in 0..<side {
                    let i = ((t * side + y) * side + x) * 3
                    pixels[i] = UInt8((x + 3 * t) & 255)
                    pixels[i + 1] = UInt8((y * 2) & 255)
                    pixels[i + 2] = UInt8((x + y + t) & 255)
                }
            }
        }
        let writer = try VideoWriter(path: url.path, width: side, height: side)
        try writer.append(FrameStack(count: frames, height: side, width: side, pixels: pixels))
        try writer.finish()
    }
}

enum JobRecordError: Error, CustomStringConvertible {
    case noWork(String)
    var description: String {
        switch self { case .noWork(let id): "job \(id)'s record holds neither a training config nor a bench" }
    }
}

/// Stops a run on SIGTERM or SIGINT, or when the parent process goes away (the server was
/// killed): its stop flag is set, and the run saves `last.safetensors` and returns. Listens from
/// the start; a request that comes before the run exists is passed on when it does.
final class StopRequests: Sendable {
    /// Whether a request has come, and the run's flag once there is a run.
    private final class State: Sendable {
        let value = Locked<(requested: Bool, target: StopFlag?)>((false, nil))
    }
    private let state = State()
    private let signals: StopSignals

    /// In a distributed run SIGUSR1 also stops, and the signals stay ignored after `cancel`.
    init(distributed: Bool = false) {
        let state = state
        signals = StopSignals(watchParent: true, signals: distributed ? DistributedTraining.stopSignals : [SIGINT, SIGTERM],
                              restoreDefaults: !distributed) { _ in
            state.value.withLock { value in
                value.requested = true
                value.target?.set()
            }
        }
    }

    /// From now on, stop requests set `flag`; returns whether one has come already.
    func forward(to flag: StopFlag) -> Bool {
        state.value.withLock { value in
            value.target = flag
            if value.requested { flag.set() }
            return value.requested
        }
    }

    func cancel() { signals.cancel() }
}
