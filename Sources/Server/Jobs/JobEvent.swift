import Foundation
import Inference
import Training

/// What a training process tells the server, one JSON object per line on its stdout.
enum JobEvent: Codable, Sendable, Equatable {
    case started(fromEpoch: Int)
    case step(JobProgress)
    case epoch(EpochRecord)
    /// Stopped on request after saving `last.safetensors`.
    case interrupted
    /// Trained and checked: `checkpoint` (relative to the job's folder) labels a training video.
    case finished(checkpoint: String)
    case failed(message: String)

    /// The training run's event as the server needs it; nil for events it has no use for.
    init?(_ event: RunEvent) {
        switch event {
        case .started(_, _, _, _, let fromEpoch): self = .started(fromEpoch: fromEpoch)
        case .step(let p, let eta):
            self = .step(JobProgress(epoch: p.epoch + 1, epochs: p.epochs, batch: p.batch, batches: p.batches, step: p.step,
                                     loss: p.loss, top1: p.top1, learningRate: p.learningRate,
                                     clipsPerSecond: p.clipsPerSecond, etaSeconds: eta))
        case .epoch(let record): self = .epoch(record)
        case .interrupted: self = .interrupted
        case .note, .evaluating, .checkpoint, .finished: return nil
        }
    }

    var line: Data {
        var data = (try? JSONEncoder().encode(self)) ?? Data()
        data.append(UInt8(ascii: "\n"))
        return data
    }

    static func decode(_ line: Data) -> JobEvent? { try? JSONDecoder().decode(JobEvent.self, from: line) }
}
