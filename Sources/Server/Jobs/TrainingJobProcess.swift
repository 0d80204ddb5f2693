import Clips
import Engine
import Foundation
import Training
#if canImport(Glibc)
import Glibc
#endif

/// The child side of a job: `motive serve run-job JOB_FOLDER` trains the job of
/// `JOB_FOLDER/job.json` in its run directory (resuming from `last.safetensors` when an earlier
/// attempt left one) and reports `JobEvent`s on stdout.
///
/// Jobs train in a process of their own because the engine stops the process on a shape error
/// (`ensure`), and some configs that pass validation reach one (a crop larger than the frame,
/// several views per training clip). In the server itself such a job would take the daemon
/// down — and, being resumed at every start, keep it down.
public enum TrainingJobProcess {
    /// Trains and returns the exit status: 0 when finished or stopped (SIGTERM, SIGINT, or the
    /// server gone), 1 on an error (reported as a `failed` event).
    public static func run(jobFolder: URL) -> Int32 {
        // With the server gone, writes to the pipe fail (and must not kill the process with
        // SIGPIPE): the run notices its parent is gone and saves a checkpoint.
        signal(SIGPIPE, SIG_IGN)
        let output = FileHandle.standardOutput
        func emit(_ event: JobEvent) { try? output.write(contentsOf: event.line) }
        // Listen for stop requests before anything slow, so that none is missed.
        let triggers = StopTriggers()
        defer { triggers.cancel() }
        // A process left over from a server that was killed may still be saving its checkpoint:
        // wait for it, so that two processes never train in one run directory.
        let lock = open(jobFolder.appendingPathComponent("run.lock").path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        if lock >= 0 { flock(lock, LOCK_EX) }
        defer { if lock >= 0 { close(lock) } }
        do {
            let data = try Data(contentsOf: jobFolder.appendingPathComponent("job.json"))
            let record = try JobStore.decoder.decode(JobRecord.self, from: data)
            let directory = jobFolder.appendingPathComponent("run")
            let hasCheckpoint = FileManager.default.fileExists(atPath: directory.appendingPathComponent("last.safetensors").path)
            let run = try TrainingRun(config: record.config, directory: directory, resume: hasCheckpoint ? directory : nil)
            if triggers.forward(to: run.stopFlag) {
                emit(.interrupted)                             // stopped before the first step
                return 0
            }
            var checkpoint: URL?
            try run.run { event in
                if let jobEvent = JobEvent(event) { emit(jobEvent) }
                if case .finished(let last, let best) = event { checkpoint = best ?? last }
            }
            guard let checkpoint else { return 0 }            // interrupted: already reported
            try smokeTest(checkpoint, data: record.config.data)
            let relative = checkpoint.standardizedFileURL.path.replacingOccurrences(of: jobFolder.standardizedFileURL.path + "/", with: "")
            emit(.finished(checkpoint: relative))
            return 0
        } catch {
            emit(.failed(message: "\(error)"))
            return 1
        }
    }

    /// Labels a training video with the checkpoint exactly as the server will, so that a model
    /// whose test pipeline cannot run fails here, in the job's process, and is never served.
    /// Videos that fail to decode are skipped: the point is the pipeline, not the data.
    static func smokeTest(_ checkpoint: URL, data section: DataSection) throws {
        let predictor = try Predictor(checkpoint: checkpoint)
        let data = try TrainingData.load(section)
        for item in data.train.items.prefix(3) {
            var rng = Xoshiro(seed: 0)
            guard let sample = try? predictor.plan.recipe.load(item, root: data.root, using: &rng) else { continue }
            let plan = predictor.plan, model = predictor.model
            _ = plan.combine(GradMode.noGrad { model(plan.arrange(sample.unsqueezed(0))) })
            return
        }
    }
}

/// Stops a run on SIGTERM or SIGINT, or when the parent process goes away (the server was
/// killed): its stop flag is set, and the run saves `last.safetensors` and returns. Listens from
/// the start; a request that comes before the run exists is passed on when it does.
final class StopTriggers: @unchecked Sendable {
    private var sources: [any DispatchSourceProtocol] = []
    private let lock = NSLock()
    private var requested = false
    private var target: StopFlag?

    init() {
        for sig in [SIGTERM, SIGINT] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { self.request() }          // the cycle ends with `cancel`
            source.resume()
            sources.append(source)
        }
        let parent = getppid()
        let timer = DispatchSource.makeTimerSource(queue: .global())
        timer.schedule(deadline: .now() + 0.5, repeating: 0.5)
        timer.setEventHandler { if getppid() != parent { self.request() } }
        timer.resume()
        sources.append(timer)
    }

    private func request() {
        lock.withLock {
            requested = true
            target?.set()
        }
    }

    /// From now on, stop requests set `flag`; returns whether one has come already.
    func forward(to flag: StopFlag) -> Bool {
        lock.withLock {
            target = flag
            if requested { flag.set() }
            return requested
        }
    }

    func cancel() { for source in sources { source.cancel() } }
}
