import Foundation
import Testing
@testable import Training

/// One schema for run events: what `log.jsonl` holds is what the job process sends the daemon.
@Suite struct RunEventTests {
    static let record = EpochRecord(epoch: 3, trainLoss: 0.5, trainTop1: 0.75, learningRate: 0.01, seconds: 12, clipsPerSecond: 4,
                                    failed: 1, valTop1: 0.5, valTop5: 1, valMeanClassAccuracy: 0.5, best: true)

    static let events: [RunEvent] = [
        .started(preset: "r3d_18_tiny", videos: 8, classes: 2, directory: "/runs/a", fromEpoch: 1, step: 4),
        .note("loaded 3 tensors"),
        .step(StepProgress(epoch: 2, epochs: 5, batch: 3, batches: 4, step: 7, loss: 0.7, top1: 0.5, learningRate: 0.1,
                           clipsPerSecond: 3.5, etaSeconds: 42)),
        .evaluating(epoch: 2),
        .epoch(record),
        .checkpoint("/runs/a/epoch_0003.safetensors"),
        .interrupted(epoch: 4, batch: 2, resume: "motive train job.yaml --resume /runs/a"),
        .finished(last: "/runs/a/last.safetensors", best: nil),
        .finished(last: "/runs/a/last.safetensors", best: "/runs/a/best.safetensors"),
        .failed("diverged"),
        .ready(checkpoint: "run/best.safetensors"),
    ]

    @Test func everyEventRoundTrips() throws {
        for event in Self.events {
            let line = event.line(time: Date(timeIntervalSince1970: 1000))
            #expect(line.last == UInt8(ascii: "\n"))
            #expect(RunEvent.decode(line.dropLast()) == event, "\(String(decoding: line, as: UTF8.self))")
            let object = try #require(try JSONSerialization.jsonObject(with: line) as? [String: Any])
            #expect(object["event"] as? String == event.name && object["time"] as? Double == 1000)
        }
    }

    /// The keys a reader of `log.jsonl` or a job's progress sees are snake_case and stable.
    @Test func stepAndEpochKeys() throws {
        let step = try #require(try JSONSerialization.jsonObject(with: Self.events[2].line()) as? [String: Any])
        #expect(Set(step.keys) == ["event", "epoch", "epochs", "batch", "batches", "step", "loss", "top1", "lr", "clips_per_s", "eta_s"])
        let epoch = try #require(try JSONSerialization.jsonObject(with: Self.events[4].line()) as? [String: Any])
        #expect(epoch["train_loss"] as? Double == 0.5 && epoch["val_top1"] as? Double == 0.5 && epoch["best"] as? Bool == true)
    }

    @Test func otherLinesAreNotEvents() {
        #expect(RunEvent.decode(Data("not json".utf8)) == nil)
        #expect(RunEvent.decode(Data(#"{"event":"mystery"}"#.utf8)) == nil)
        #expect(RunEvent.decode(Data(#"{"event":"note"}"#.utf8)) == nil)
    }
}
