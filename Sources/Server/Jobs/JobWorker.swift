import Foundation
import Logging
import ServiceLifecycle
import Training

/// Runs queued jobs one at a time, oldest first, each on a thread of its own (training blocks
/// for minutes). On shutdown it asks the running job to stop: the run saves `last.safetensors`
/// after its current step and the job goes back to the queue, to resume on the next start.
final class JobWorker: Service, Sendable {
    let board: JobBoard
    let models: ModelRegistry
    let logger: Logger

    init(board: JobBoard, models: ModelRegistry, logger: Logger) {
        self.board = board
        self.models = models
        self.logger = logger
    }

    func run() async throws {
        await withGracefulShutdownHandler {
            for await _ in board.wakeups {
                while let job = board.claimNext() { await execute(job) }
            }
        } onGracefulShutdown: { [board] in
            board.beginShutdown()
        }
    }

    /// Trains `job` on a new thread and settles it.
    func execute(_ job: JobRecord) async {
        var logger = self.logger
        logger[metadataKey: "job"] = .string(job.id)
        logger.info("job started", metadata: ["attempt": .stringConvertible(job.attempts), "preset": .string(job.config.model.preset)])
        let outcome = await withCheckedContinuation { (continuation: CheckedContinuation<JobBoard.RunOutcome, Never>) in
            let thread = Thread { [self] in continuation.resume(returning: train(job)) }
            thread.name = "motive-job-\(job.id)"
            thread.stackSize = 16 << 20
            thread.start()
        }
        switch outcome {
        case .finished(let checkpoint):
            do {
                let model = try ServedModel(name: job.modelName, checkpoint: checkpoint, source: "job", job: job.id)
                let folder = board.store.folder(of: job.id).standardizedFileURL.path
                let relative = checkpoint.standardizedFileURL.path.replacingOccurrences(of: folder + "/", with: "")
                board.finish(job.id, outcome: outcome, servedCheckpoint: relative)
                if models.add(model) != nil { logger.warning("model replaced by the job's", metadata: ["model": .string(job.modelName)]) }
                logger.info("job succeeded", metadata: ["model": .string(job.modelName)])
            } catch {
                board.finish(job.id, outcome: .failed("trained, but its checkpoint cannot be served: \(error)"))
                logger.error("job's model not loaded", metadata: ["error": "\(error)"])
            }
        case .stopped:
            board.finish(job.id, outcome: outcome)
            logger.info("job stopped", metadata: ["state": .string(board.record(job.id)?.state.rawValue ?? "")])
        case .failed(let message):
            board.finish(job.id, outcome: outcome)
            logger.error("job failed", metadata: ["error": .string(message)])
        }
    }

    /// The blocking part: builds the run (resuming from `last.safetensors` when an earlier
    /// attempt left one) and trains until it finishes, stops or fails.
    private func train(_ job: JobRecord) -> JobBoard.RunOutcome {
        let directory = board.store.runDirectory(of: job.id)
        let last = directory.appendingPathComponent("last.safetensors")
        let resume = FileManager.default.fileExists(atPath: last.path) ? directory : nil
        do {
            let run = try TrainingRun(config: job.config, directory: directory, resume: resume)
            if board.attach(run.stopFlag, to: job.id) { return .stopped }
            var checkpoint: URL?
            try run.run { [board] event in
                board.record(event, job: job.id)
                if case .finished(let last, let best) = event { checkpoint = best ?? last }
            }
            return checkpoint.map { .finished(checkpoint: $0) } ?? .stopped
        } catch {
            return .failed("\(error)")
        }
    }
}
