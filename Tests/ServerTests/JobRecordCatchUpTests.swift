import Foundation
import Logging
import Testing
@testable import Training
@testable import Server

/// A server killed with `kill -9` while its job's training process reported an epoch never
/// records that epoch; the job's next attempt resumes past it, and the record must catch up
/// from the run's log rather than stay one epoch behind for good.
@Suite struct JobRecordCatchUpTests {
    @Test func aResumedAttemptCatchesUpOnEpochsTheServerMissed() throws {
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("motive-catch-up-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: state) }
        let store = try JobStore(stateDirectory: state)
        let board = JobBoard(store: store, metrics: ServerMetrics(), logger: Logger(label: "test"))
        let config = try ConfigLoader.parse(Fixture.jobYAML(epochs: 3, dataRoot: Fixture.dataRoot))
        let job = try board.submit(.train(config), submittedYAML: "", isServed: { _ in false })
        _ = board.claimNext()

        // The run's log holds epochs 1 and 2; the server heard only of epoch 1.
        let run = store.runDirectory(of: job.id)
        try FileManager.default.createDirectory(at: run, withIntermediateDirectories: true)
        let epochs = (1...2).map { n in
            EpochRecord(epoch: n, trainLoss: 1 / Double(n), trainTop1: 0.5, learningRate: 0.01, seconds: 1,
                        clipsPerSecond: 6, failed: 0)
        }
        try Data(epochs.map { RunEvent.epoch($0).line() }.joined()).write(to: run.appendingPathComponent("log.jsonl"))
        board.record(.epoch(epochs[0]), job: job.id)

        // The next attempt resumes from the checkpoint of epoch 2.
        board.record(.started(preset: "mc3_18_tiny", videos: 6, classes: 2, directory: run.path, fromEpoch: 2, step: 4), job: job.id)
        let record = try #require(board.record(job.id))
        #expect(record.epoch == 2 && record.step == 4 && record.lastEpoch == epochs[1])
        let stored = try JobStore.decoder.decode(JobRecord.self, from: Data(contentsOf: store.folder(of: job.id).appendingPathComponent("job.json")))
        #expect(stored.epoch == 2 && stored.lastEpoch == epochs[1])

        // A fresh start (epoch 0) changes nothing.
        board.record(.started(preset: "mc3_18_tiny", videos: 6, classes: 2, directory: run.path, fromEpoch: 0, step: 0), job: job.id)
        #expect(board.record(job.id)?.epoch == 2)
    }
}
