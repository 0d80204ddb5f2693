import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOConcurrencyHelpers
import Server
import Support
import Testing
import Yams

/// Health, metrics, the OpenAPI document, request ids and the error envelope.
@Suite struct OperationTests {
    @Test func healthz() async throws {
        let server = try Fixture.server(Fixture.options())
        try await server.makeApplication().test(.router) { client in
            let response = try await client.execute(uri: "/healthz", method: .get)
            #expect(response.status == .ok)
            #expect(response.json["status"].string == "ok" && response.json["models"].int == 2)
        }
    }

    @Test func metricsCountRequestsByRouteAndStatus() async throws {
        let server = try Fixture.server(Fixture.options())
        try await server.makeApplication().test(.router) { client in
            _ = try await client.execute(uri: "/v1/models", method: .get)
            _ = try await client.execute(uri: "/v1/models/nope", method: .get)
            _ = try await client.execute(uri: "/v1/predict", method: .post, headers: .contentType("video/mp4"), body: Fixture.bytes(Fixture.video()))
            let response = try await client.execute(uri: "/metrics", method: .get)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType]?.hasPrefix("text/plain; version=0.0.4") == true)
            let text = response.text
            for line in [#"motive_http_requests_total{route="/v1/models",method="GET",status="200"} 1"#,
                         #"motive_http_requests_total{route="/v1/models/{name}",method="GET",status="404"} 1"#,
                         #"motive_http_requests_total{route="/v1/predict",method="POST",status="200"} 1"#,
                         #"motive_http_request_duration_seconds_count{route="/v1/predict"} 1"#,
                         "motive_http_requests_in_flight 1.0", "motive_jobs_queue_length 0.0",
                         #"motive_jobs_by_state{state="queued"} 0.0"#, #"motive_prediction_stage_duration_seconds_count{stage="infer"} 1"#] {
                #expect(text.contains(line), "missing: \(line)")
            }
            #expect(text.contains(#"motive_model_load_duration_seconds{model="default"}"#))
            // The process, read from /proc at the scrape.
            func value(_ name: String) -> Double? {
                text.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { Double($0.split(separator: " ")[1]) }
            }
            #expect(text.contains("# TYPE process_cpu_seconds_total counter"))
            let rss = try #require(value("process_resident_memory_bytes"), "\(text)")
            #expect(rss > 10e6 && rss < 64e9, "resident bytes: \(rss)")
            let cpu = try #require(value("process_cpu_seconds_total"))
            #expect(cpu > 0, "CPU seconds: \(cpu)")
            // Standard input, output and error at least (other tests open and close files beside it).
            let fds = try #require(value("process_open_fds"))
            #expect(fds >= 3, "open fds: \(fds)")
        }
    }

    /// The build's version and commit, as a metric whose value is 1.
    @Test func metricsCarryTheBuild() async throws {
        let server = try Fixture.server(Fixture.options())
        try await server.makeApplication().test(.router) { client in
            let text = try await client.execute(uri: "/metrics", method: .get).text
            #expect(text.contains("# TYPE motive_build_info gauge"))
            let line = #"motive_build_info{version="\#(BuildInfo.version)",commit="\#(BuildInfo.commit)"} 1"#
            #expect(text.split(separator: "\n").contains { $0 == line }, "\(text)")
            // Stamped by the build: a commit of this checkout, or "unknown" outside git.
            #expect(BuildInfo.commit == "unknown" || BuildInfo.commit.count == 12 && BuildInfo.commit.allSatisfy(\.isHexDigit))
            #expect(!BuildInfo.version.isEmpty)
        }
    }

    /// Every path and method of /openapi.yaml is a route, and every route is in it; each answers
    /// (with path parameters filled in) without the router's "no route".
    @Test func openAPIMatchesTheRoutes() async throws {
        let server = try Fixture.server(Fixture.options())
        try await server.makeApplication().test(.router) { client in
            let response = try await client.execute(uri: "/openapi.yaml", method: .get)
            #expect(response.status == .ok)
            let document = try #require(try Yams.load(yaml: response.text) as? [String: Any])
            #expect(document["openapi"] as? String == "3.1.0")
            let paths = try #require(document["paths"] as? [String: Any])
            var listed: Set<String> = []
            for (path, item) in paths {
                for method in (item as? [String: Any] ?? [:]).keys where ["get", "post", "put", "delete", "patch"].contains(method) {
                    listed.insert("\(method.uppercased()) \(path)")
                }
            }
            let served = Set(server.routes.map(\.description))
            #expect(listed == served, "only documented: \(listed.subtracting(served)); only served: \(served.subtracting(listed))")
            for route in server.routes where route.path != "/v1/jobs/{id}/events" {
                let uri = route.path.replacingOccurrences(of: "{name}", with: "default").replacingOccurrences(of: "{id}", with: "1")
                let answer = try await client.execute(uri: uri, method: .init(rawValue: route.method) ?? .get)
                #expect(answer.errorCode != "route_not_found", "\(route) is not routed")
            }
            let unrouted = try await client.execute(uri: "/v1/nothing", method: .get)
            #expect(unrouted.status == .notFound && unrouted.errorCode == "route_not_found")
            let wrongMethod = try await client.execute(uri: "/healthz", method: .put)
            #expect(wrongMethod.errorCode == "route_not_found")
        }
    }

    /// Every response has an X-Request-Id; errors repeat it in their body; a plain id from the
    /// client is kept, a strange one replaced; every log line of a request carries it.
    @Test func requestIDs() async throws {
        let lines = LogCapture()
        let server = try Fixture.server(Fixture.options(), logger: Logger(label: "test") { _ in lines.handler() })
        let header = HeaderName("X-Request-Id")!
        try await server.makeApplication().test(.router) { client in
            let ok = try await client.execute(uri: "/healthz", method: .get)
            let id = try #require(ok.headers[header])
            #expect(id.count >= 16)
            let error = try await client.execute(uri: "/v1/models/nope", method: .get)
            #expect(error.json["error"]["request_id"].string == error.headers[header])
            #expect(error.headers[header] != id)
            let adopted = try await client.execute(uri: "/v1/models/nope", method: .get, headers: [header: "trace-42"])
            #expect(adopted.headers[header] == "trace-42" && adopted.json["error"]["request_id"].string == "trace-42")
            let refused = try await client.execute(uri: "/healthz", method: .get, headers: [header: "evil\"id with spaces"])
            #expect(refused.headers[header] != "evil\"id with spaces")
        }
        let requestLines = lines.all.filter { $0.message == "request" }
        #expect(requestLines.count == 4)
        #expect(requestLines.allSatisfy { $0.metadata["request_id"] != nil })
        #expect(requestLines.contains { $0.metadata["request_id"] == "trace-42" })
    }

    @Test func errorEnvelopeShape() async throws {
        let server = try Fixture.server(Fixture.options())
        try await server.makeApplication().test(.router) { client in
            let response = try await client.execute(uri: "/v1/jobs/999", method: .get)
            #expect(response.status == .notFound)
            #expect(response.headers[.contentType]?.hasPrefix("application/json") == true)
            let error = response.json["error"]
            #expect(error["code"].string == "job_not_found" && error["message"].string?.isEmpty == false && error["request_id"].string != nil)
        }
    }
}

/// Collects log lines in memory.
final class LogCapture: Sendable {
    struct Line: Sendable { let message: String; let metadata: [String: String] }
    private let lines = NIOLockedValueBox<[Line]>([])
    var all: [Line] { lines.withLockedValue { $0 } }

    func handler() -> Handler { Handler(capture: self) }

    func append(_ line: Line) { lines.withLockedValue { $0.append(line) } }

    struct Handler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            let merged = metadata.merging(event.metadata ?? [:]) { $1 }
            capture.append(Line(message: event.message.description, metadata: merged.mapValues { "\($0)" }))
        }
    }
}
