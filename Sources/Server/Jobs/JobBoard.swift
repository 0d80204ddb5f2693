import Benchmark
import Foundation
import Support
import Logging
import NIOConcurrencyHelpers
import Inference
import Training

/// The jobs in memory: their records (mirrored to the `JobStore` on every change of state),
/// live progress, the FIFO queue and the stop switch of the running one. Safe from any thread:
/// request handlers, the worker and the training thread's event callback all use it.
final class JobBoard: Sendable {
    private struct State {
        var records: [String: JobRecord] = [:]
        var progress: [String: StepProgress] = [:]
        var benchProgress: [String: BenchProgress] = [:]
        var nextNumber = 1
        /// The running job and, once its process has started, what stops it.
        var running: (id: String, stop: (any JobStopper)?)?
        var shuttingDown = false
        var wake: AsyncStream<Void>.Continuation?
        /// Bumped on every change, so followers of a job can tell when to look again.
        var version = 0
    }

    private let state = NIOLockedValueBox(State())
    let store: JobStore
    private let metrics: ServerMetrics
    private let logger: Logger
    /// The worker waits on this for new work.
    let wakeups: AsyncStream<Void>

    /// Loads the stored jobs. A job that was running when the last process ended goes back to
    /// the queue (it resumes from its last checkpoint); queued jobs stay queued.
    init(store: JobStore, metrics: ServerMetrics, logger: Logger) {
        self.store = store
        self.metrics = metrics
        self.logger = logger
        let (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        wakeups = stream
        let (records, highest, unreadable) = store.loadAll()
        for (file, reason) in unreadable {
            logger.error("job record unreadable, skipped", metadata: ["file": .string(file), "error": .string(reason)])
        }
        for record in records where record.schemaVersion > JobRecord.currentSchemaVersion {
            logger.warning("job record written by a newer Motive; read as far as this one knows", metadata: [
                "job": .string(record.id), "schema_version": .stringConvertible(record.schemaVersion)])
        }
        var loaded: [String: JobRecord] = [:]
        for var record in records {
            if record.state == .running {
                record.state = .queued
                try? store.save(record)
                logger.info("job was running when the server stopped; queued to resume", metadata: ["job": .string(record.id)])
            }
            loaded[record.id] = record
        }
        state.withLockedValue { s in
            s.records = loaded
            s.nextNumber = max(highest, records.map(\.sequence).max() ?? 0) + 1
            s.wake = continuation
        }
        publishCounts()
        continuation.yield()
    }

    // MARK: Reading

    func view(_ id: String) -> JobView? {
        state.withLockedValue { s in s.records[id].map { JobView($0, progress: s.progress[id], benchProgress: s.benchProgress[id]) } }
    }

    func record(_ id: String) -> JobRecord? { state.withLockedValue { $0.records[id] } }

    /// Every job, oldest first.
    func views() -> [JobView] {
        state.withLockedValue { s in
            s.records.values.sorted { $0.sequence < $1.sequence }.map { JobView($0, progress: s.progress[$0.id], benchProgress: s.benchProgress[$0.id]) }
        }
    }

    var version: Int { state.withLockedValue { $0.version } }

    // MARK: Submitting and cancelling

    /// Records a new queued job (already checked) and wakes the worker. A model name a training
    /// job asks for must be free: not served (`isServed`, the shipped `default` included) and
    /// not claimed by another training job that is queued, running or succeeded.
    func submit(_ work: JobWork, submittedYAML: String, dataRoot: ConfinedPath? = nil, isServed: (String) -> Bool) throws -> JobRecord {
        let record: JobRecord = try state.withLockedValue { s in
            if case .train(let config) = work, let name = config.output.modelName {
                let claim = s.records.values.first {
                    $0.kind == .train && $0.modelName == name && $0.state != .failed && $0.state != .cancelled
                }
                if let claim { throw APIError.conflict("model name '\(name)' belongs to job \(claim.id); choose another output.model_name") }
                if isServed(name) { throw APIError.conflict("model name '\(name)' is already served; choose another output.model_name") }
            }
            let number = s.nextNumber
            let id = String(number)
            var record: JobRecord
            switch work {
            case .train(var config):
                config.output.dir = store.runDirectory(of: id).path
                record = JobRecord(id: id, sequence: number, state: .queued, work: .train(config),
                                   modelName: config.output.modelName ?? "job-\(id)", submittedAt: Date())
                record.dataRoot = config.data.confinement
            case .bench(let spec):
                record = JobRecord(id: id, sequence: number, state: .queued, work: .bench(spec), modelName: "", submittedAt: Date())
                record.dataRoot = spec.confinement
            case .check(let spec):
                record = JobRecord(id: id, sequence: number, state: .queued, work: .check(spec), modelName: "", submittedAt: Date())
                record.dataRoot = dataRoot
            }
            try store.saveSubmittedConfig(submittedYAML, id: id)
            try store.save(record)
            s.nextNumber = number + 1
            s.records[id] = record
            s.version += 1
            return record
        }
        publishCounts()
        _ = state.withLockedValue { $0.wake?.yield() }
        return record
    }

    enum CancelOutcome {
        case cancelled(JobView)
        /// Running: its run stops after the current step, then the job is cancelled.
        case stopping(JobView)
        case alreadyFinished(JobState)
        case notFound
    }

    func cancel(_ id: String) -> CancelOutcome {
        let outcome: CancelOutcome = state.withLockedValue { s in
            guard var record = s.records[id] else { return .notFound }
            switch record.state {
            case .succeeded, .failed, .cancelled:
                return .alreadyFinished(record.state)
            case .queued:
                record.state = .cancelled
                record.finishedAt = Date()
                persist(&s, record)
                return .cancelled(JobView(record, progress: nil))
            case .running:
                record.cancelRequested = true
                persist(&s, record)
                if let running = s.running, running.id == id { running.stop?.stop() }
                return .stopping(JobView(record, progress: s.progress[id]))
            }
        }
        publishCounts()
        return outcome
    }

    // MARK: The worker's side

    /// The oldest queued job, now marked running; nil when none is queued or the server is stopping.
    func claimNext() -> JobRecord? {
        let claimed: JobRecord? = state.withLockedValue { s in
            guard !s.shuttingDown, s.running == nil,
                  var record = s.records.values.filter({ $0.state == .queued }).min(by: { $0.sequence < $1.sequence }) else { return nil }
            record.state = .running
            record.attempts += 1
            record.startedAt = record.startedAt ?? Date()
            persist(&s, record)
            s.running = (record.id, nil)
            s.progress[record.id] = nil
            s.benchProgress[record.id] = nil
            return record
        }
        publishCounts()
        return claimed
    }

    /// Hands the board what stops job `id`, and stops it at once when a cancel or a shutdown
    /// came while it was starting.
    func attach(_ stopper: any JobStopper, to id: String) {
        let stopNow: Bool = state.withLockedValue { s in
            if let running = s.running, running.id == id { s.running = (id, stopper) }
            return s.shuttingDown || s.records[id]?.cancelRequested == true
        }
        if stopNow { stopper.stop() }
    }

    /// A training event of the running job.
    func record(_ event: RunEvent, job id: String) {
        state.withLockedValue { s in
            switch event {
            case .step(let progress):
                s.progress[id] = progress
                s.version += 1
            case .started(_, _, _, _, let fromEpoch, let step):
                // A server killed while an epoch was reported never recorded it, and the next
                // attempt resumes past it: the record catches up from the run's own log.
                guard var record = s.records[id], fromEpoch > record.epoch else { return }
                record.epoch = fromEpoch
                record.step = max(record.step, step)
                let history = TrainingRun.readHistory(directory: store.runDirectory(of: id))
                record.lastEpoch = history.last { $0.epoch <= fromEpoch } ?? record.lastEpoch
                persist(&s, record)
            case .epoch(let epoch):
                guard var record = s.records[id] else { return }
                record.epoch = epoch.epoch
                record.step = s.progress[id]?.step ?? record.step
                record.lastEpoch = epoch
                persist(&s, record)
            default:
                break
            }
        }
    }

    /// Where the running bench job `id` is.
    func record(_ progress: BenchProgress, job id: String) {
        state.withLockedValue { s in
            s.benchProgress[id] = progress
            s.version += 1
        }
    }

    /// How a run ended.
    enum RunOutcome: Sendable {
        /// `checkpoint` is relative to the job's folder.
        case finished(checkpoint: String)
        /// A bench job wrote its files.
        case completed
        case stopped
        case failed(String)
    }

    /// Settles the running job: succeeded, cancelled, back in the queue (stopped by a shutdown)
    /// or failed.
    func finish(_ id: String, outcome: RunOutcome) {
        state.withLockedValue { s in
            s.running = nil
            s.progress[id] = nil
            s.benchProgress[id] = nil
            guard var record = s.records[id] else { return }
            switch outcome {
            case .completed:
                record.state = .succeeded
                record.finishedAt = Date()
            case .finished(let checkpoint):
                record.state = .succeeded
                record.checkpoint = checkpoint
                record.finishedAt = Date()
            case .stopped where record.cancelRequested:
                record.state = .cancelled
                record.finishedAt = Date()
            case .stopped:
                record.state = .queued               // stopped by a shutdown: resumes on the next start
            case .failed(let message):
                record.state = .failed
                record.error = message
                record.finishedAt = Date()
            }
            persist(&s, record)
        }
        publishCounts()
    }

    /// Stops handing out jobs and asks the running one to stop after its current step.
    func beginShutdown() {
        state.withLockedValue { s -> (any JobStopper)? in
            s.shuttingDown = true
            s.wake?.finish()
            return s.running?.stop
        }?.stop()
    }

    // MARK: Helpers

    /// Stores `record` and mirrors it in memory. A failed write is logged; the job goes on in
    /// memory and the next change tries again.
    private func persist(_ s: inout State, _ record: JobRecord) {
        do { try store.save(record) } catch {
            logger.error("job record not saved", metadata: ["job": .string(record.id), "error": "\(error)"])
        }
        s.records[record.id] = record
        s.version += 1
    }

    private func publishCounts() {
        let counts = state.withLockedValue { s in Dictionary(grouping: s.records.values, by: \.state).mapValues(\.count) }
        metrics.setJobCounts(counts)
    }
}

/// Stops a running job: it saves a checkpoint after its current step and ends.
protocol JobStopper: Sendable {
    func stop()
}
