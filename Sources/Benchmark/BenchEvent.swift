import Foundation

/// What a bench reports as it runs: a daemon job's process writes one JSON line per event to
/// its `log.jsonl` and to the daemon, which relays them over `/v1/jobs/{id}/events`.
public enum BenchEvent: Sendable, Equatable {
    case started(models: [String])
    case progress(BenchProgress)
    /// One model's row, once it is measured.
    case measured(BenchResult)
    /// The report's files, written in the job's run directory.
    case finished(files: [String])

    /// The `event` field of the line.
    public var name: String {
        switch self {
        case .started: "bench_start"
        case .progress: "bench_progress"
        case .measured: "bench_model"
        case .finished: "bench_finished"
        }
    }

    /// One JSON line (with the newline): `event`, `time` when given, and the event's fields.
    public func line(time: Date? = nil) -> Data {
        var object: [String: Any] = ["event": name]
        if let time { object["time"] = time.timeIntervalSince1970 }
        func merge<T: Encodable>(_ value: T) {
            guard let data = try? JSONEncoder().encode(value),
                  let fields = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return }
            object.merge(fields) { current, _ in current }
        }
        switch self {
        case .started(let models): object["models"] = models
        case .progress(let progress): merge(progress)
        case .measured(let result): merge(result)
        case .finished(let files): object["files"] = files
        }
        var data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        data.append(UInt8(ascii: "\n"))
        return data
    }

    /// The event of a line, nil for any other line.
    public static func decode(_ line: some StringProtocol) -> BenchEvent? { decode(Data(line.utf8)) }

    public static func decode(_ data: Data) -> BenchEvent? {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any], let name = object["event"] as? String else { return nil }
        let decoder = JSONDecoder()
        switch name {
        case "bench_start": return (object["models"] as? [String]).map { .started(models: $0) }
        case "bench_progress": return (try? decoder.decode(BenchProgress.self, from: data)).map { .progress($0) }
        case "bench_model": return (try? decoder.decode(BenchResult.self, from: data)).map { .measured($0) }
        case "bench_finished": return (object["files"] as? [String]).map { .finished(files: $0) }
        default: return nil
        }
    }
}
