import Foundation
import Support
import Hummingbird
import NIOCore
import ServiceLifecycle

/// `GET /v1/jobs/{id}/events`: Server-Sent Events following a job until it ends. Each line of
/// the run's `log.jsonl` (start, step, epoch, checkpoint, interrupted, finished…) becomes one
/// event named after its `event` field, with the line number as its id (a reconnecting client's
/// `Last-Event-ID` skips what it has seen). Each change of state is an event `state` carrying
/// the job; the last event is `end`.
struct JobEventStream: Sendable {
    let board: JobBoard
    var pollInterval: Duration = .milliseconds(200)
    var keepAliveInterval: Duration = .seconds(15)

    func response(job id: String, lastEventID: Int) -> Response {
        let log = board.store.runDirectory(of: id).appendingPathComponent("log.jsonl")
        let body = ResponseBody { [self] writer in
            var tail = FileTail(file: log)
            var sent = 0, lastState: JobState?, lastWrite = ContinuousClock.now
            while true {
                guard let view = board.view(id) else { break }
                var events = ""
                if view.state != lastState {
                    lastState = view.state
                    events += Self.event("state", data: Self.json(view))
                }
                for line in tail.readLines().map({ String(decoding: $0, as: UTF8.self) }) {
                    sent += 1
                    if sent > lastEventID { events += Self.event(Self.eventName(of: line), data: line, id: sent) }
                }
                if view.state.isFinished {
                    // The state was read before the log, so every line of the finished run is sent.
                    events += Self.event("end", data: Self.json(view))
                }
                if Task.isShuttingDownGracefully { events += Self.event("shutdown", data: "{}") }
                if !events.isEmpty || ContinuousClock.now - lastWrite > keepAliveInterval {
                    try await writer.write(ByteBuffer(string: events.isEmpty ? ": keep-alive\n\n" : events))
                    lastWrite = .now
                }
                if view.state.isFinished || Task.isShuttingDownGracefully { break }
                try await Task.sleep(for: pollInterval)
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"], body: body)
    }

    static func event(_ name: String, data: String, id: Int? = nil) -> String {
        (id.map { "id: \($0)\n" } ?? "") + "event: \(name)\ndata: \(data)\n\n"
    }

    static func json(_ view: JobView) -> String {
        (try? JSONEncoder.api.encode(view)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    /// The `event` field of a log line ("log" when it has none).
    static func eventName(of line: String) -> String {
        guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
              let name = object["event"] as? String, !name.isEmpty, name.allSatisfy({ $0.isLetter || $0 == "_" }) else { return "log" }
        return name
    }
}
