import Foundation

/// Where a running epoch is, after each batch: what the CLI's progress line, `log.jsonl`'s
/// `step` events and the daemon's job progress all show.
public struct StepProgress: Codable, Sendable, Equatable {
    /// The epoch in progress (1-based) of `epochs`, and the batches of it done so far.
    public var epoch: Int
    public var epochs: Int
    public var batch: Int
    public var batches: Int
    public var step: Int
    /// Running averages over the epoch so far.
    public var loss: Double
    public var top1: Double
    public var learningRate: Double
    public var clipsPerSecond: Double
    /// Seconds left in the whole run at the current speed (the run fills it in).
    public var etaSeconds: Double?
    /// Seconds left in this epoch at the current speed (not written: the run's ETA covers it).
    public var epochETA: Double = 0
    /// This batch's own loss, on this process; nil for a batch with no clips (not written:
    /// TensorBoard's `batch/loss` curve shows it).
    public var batchLoss: Double?

    public init(epoch: Int, epochs: Int, batch: Int, batches: Int, step: Int, loss: Double, top1: Double, learningRate: Double,
                clipsPerSecond: Double, etaSeconds: Double? = nil, epochETA: Double = 0, batchLoss: Double? = nil) {
        (self.epoch, self.epochs, self.batch, self.batches, self.step) = (epoch, epochs, batch, batches, step)
        (self.loss, self.top1, self.learningRate, self.clipsPerSecond) = (loss, top1, learningRate, clipsPerSecond)
        (self.etaSeconds, self.epochETA, self.batchLoss) = (etaSeconds, epochETA, batchLoss)
    }

    enum CodingKeys: String, CodingKey {
        case epoch, epochs, batch, batches, step, loss, top1, learningRate = "lr", clipsPerSecond = "clips_per_s", etaSeconds = "eta_s"
    }
}

/// What a run reports while it trains. One schema: the CLI shows these, `log.jsonl` holds one
/// per line (with its `time`), and a job's training process writes the same lines to the daemon.
public enum RunEvent: Sendable, Equatable {
    case started(preset: String, videos: Int, classes: Int, directory: String, fromEpoch: Int, step: Int)
    case note(String)
    case step(StepProgress)
    case evaluating(epoch: Int)
    case epoch(EpochRecord)
    case checkpoint(String)
    /// Stopped on request after saving; `resume` is the command that continues it.
    case interrupted(epoch: Int, batch: Int, resume: String)
    case finished(last: String, best: String?)
    /// The run stopped on an error.
    case failed(String)
    /// A job's model is trained and labels a raw video: `checkpoint`, relative to the job's folder.
    case ready(checkpoint: String)

    /// The `event` field of the line.
    public var name: String {
        switch self {
        case .started: "start"
        case .note: "note"
        case .step: "step"
        case .evaluating: "evaluating"
        case .epoch: "epoch"
        case .checkpoint: "checkpoint"
        case .interrupted: "interrupted"
        case .finished: "finished"
        case .failed: "error"
        case .ready: "ready"
        }
    }

    /// One JSON line (with the newline): the event's fields, `event`, and `time` when given.
    public func line(time: Date? = nil) -> Data {
        var data = (try? JSONEncoder.runEvents.encode(Line(event: self, time: time?.timeIntervalSince1970))) ?? Data()
        data.append(UInt8(ascii: "\n"))
        return data
    }

    /// The event of one line, or nil for a line that is not one.
    public static func decode(_ line: Data) -> RunEvent? { try? JSONDecoder().decode(Line.self, from: line).event }

    /// The wire form: a flat object whose `event` names the case.
    struct Line: Codable {
        let event: RunEvent
        let time: Double?

        enum Key: String, CodingKey {
            case event, time, preset, videos, classes, directory, epoch, step, message, path, batch, resume, last, best, checkpoint
        }

        init(event: RunEvent, time: Double?) { (self.event, self.time) = (event, time) }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: Key.self)
            try c.encode(event.name, forKey: .event)
            try c.encodeIfPresent(time, forKey: .time)
            switch event {
            case .started(let preset, let videos, let classes, let directory, let fromEpoch, let step):
                try c.encode(preset, forKey: .preset)
                try c.encode(videos, forKey: .videos)
                try c.encode(classes, forKey: .classes)
                try c.encode(directory, forKey: .directory)
                try c.encode(fromEpoch, forKey: .epoch)
                try c.encode(step, forKey: .step)
            case .note(let message), .failed(let message): try c.encode(message, forKey: .message)
            case .step(let progress): try progress.encode(to: encoder)
            case .evaluating(let epoch): try c.encode(epoch, forKey: .epoch)
            case .epoch(let record): try record.encode(to: encoder)
            case .checkpoint(let path): try c.encode(path, forKey: .path)
            case .interrupted(let epoch, let batch, let resume):
                try c.encode(epoch, forKey: .epoch)
                try c.encode(batch, forKey: .batch)
                try c.encode(resume, forKey: .resume)
            case .finished(let last, let best):
                try c.encode(last, forKey: .last)
                try c.encodeIfPresent(best, forKey: .best)
            case .ready(let checkpoint): try c.encode(checkpoint, forKey: .checkpoint)
            }
        }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: Key.self)
            time = try c.decodeIfPresent(Double.self, forKey: .time)
            switch try c.decode(String.self, forKey: .event) {
            case "start":
                event = .started(preset: try c.decode(String.self, forKey: .preset), videos: try c.decode(Int.self, forKey: .videos),
                                 classes: try c.decodeIfPresent(Int.self, forKey: .classes) ?? 0,
                                 directory: try c.decodeIfPresent(String.self, forKey: .directory) ?? "",
                                 fromEpoch: try c.decode(Int.self, forKey: .epoch), step: try c.decode(Int.self, forKey: .step))
            case "note": event = .note(try c.decode(String.self, forKey: .message))
            case "error": event = .failed(try c.decode(String.self, forKey: .message))
            case "step": event = .step(try StepProgress(from: decoder))
            case "evaluating": event = .evaluating(epoch: try c.decode(Int.self, forKey: .epoch))
            case "epoch": event = .epoch(try EpochRecord(from: decoder))
            case "checkpoint": event = .checkpoint(try c.decode(String.self, forKey: .path))
            case "interrupted":
                event = .interrupted(epoch: try c.decode(Int.self, forKey: .epoch), batch: try c.decode(Int.self, forKey: .batch),
                                     resume: try c.decode(String.self, forKey: .resume))
            case "finished":
                let best = try c.decodeIfPresent(String.self, forKey: .best)
                event = .finished(last: try c.decode(String.self, forKey: .last), best: best?.isEmpty == true ? nil : best)
            case "ready": event = .ready(checkpoint: try c.decode(String.self, forKey: .checkpoint))
            case let other:
                throw DecodingError.dataCorruptedError(forKey: .event, in: c, debugDescription: "unknown run event '\(other)'")
            }
        }
    }
}

extension JSONEncoder {
    /// Sorted keys, so that lines are stable to read and to diff.
    static var runEvents: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}
