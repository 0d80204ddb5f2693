import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Server
import Testing

/// Which routes the token guards under `--auth jobs` (the default) and `--auth all`.
@Suite struct AuthTests {
    struct Route: Sendable, CustomStringConvertible {
        let method: HTTPRequest.Method
        let path: String
        /// Guarded under `jobs` (jobs, streams and rescans); `all` guards these and predictions and models.
        let job: Bool
        let open: Bool
        var description: String { "\(method.rawValue) \(path)" }
    }

    static let routes: [Route] = [
        Route(method: .get, path: "/v1/jobs", job: true, open: false),
        Route(method: .post, path: "/v1/jobs", job: true, open: false),
        Route(method: .get, path: "/v1/jobs/nope", job: true, open: false),
        Route(method: .get, path: "/v1/jobs/nope/log", job: true, open: false),
        Route(method: .get, path: "/v1/jobs/nope/events", job: true, open: false),
        Route(method: .delete, path: "/v1/jobs/nope", job: true, open: false),
        Route(method: .get, path: "/v1/jobs/nope/files", job: true, open: false),
        Route(method: .get, path: "/v1/jobs/nope/files/bench.md", job: true, open: false),
        Route(method: .get, path: "/v1/jobs/nope/files/eval/confusion.svg", job: true, open: false),
        Route(method: .get, path: "/v1//jobs", job: true, open: false),
        Route(method: .get, path: "/v1/streams", job: true, open: false),
        Route(method: .post, path: "/v1/streams", job: true, open: false),
        Route(method: .get, path: "/v1/streams/nope", job: true, open: false),
        Route(method: .get, path: "/v1/streams/nope/events", job: true, open: false),
        Route(method: .get, path: "/v1/streams/nope/ws", job: true, open: false),
        Route(method: .delete, path: "/v1/streams/nope", job: true, open: false),
        Route(method: .get, path: "/v1/datasets", job: true, open: false),
        Route(method: .put, path: "/v1/datasets/nope", job: true, open: false),
        Route(method: .get, path: "/v1/datasets/nope", job: true, open: false),
        Route(method: .delete, path: "/v1/datasets/nope", job: true, open: false),
        Route(method: .post, path: "/v1/predict", job: false, open: false),
        Route(method: .post, path: "/predictions/default", job: false, open: false),
        Route(method: .put, path: "/predictions/default", job: false, open: false),
        Route(method: .get, path: "/ping", job: false, open: true),
        Route(method: .get, path: "/v1/models", job: false, open: false),
        Route(method: .get, path: "/v1/models/default", job: false, open: false),
        Route(method: .post, path: "/v1/models/rescan", job: true, open: false),
        Route(method: .get, path: "/healthz", job: false, open: true),
        Route(method: .get, path: "/metrics", job: false, open: true),
        Route(method: .get, path: "/openapi.yaml", job: false, open: true),
    ]

    @Test(arguments: AuthScope.allCases)
    func tokenGuardsItsScope(scope: AuthScope) async throws {
        let server = try Fixture.server(Fixture.options { $0.token = "s3cret"; $0.auth = scope })
        try await server.makeApplication().test(.router) { client in
            for route in Self.routes {
                let guarded = !route.open && (route.job || scope == .all)
                let without = try await client.execute(uri: route.path, method: route.method)
                #expect((without.status == .unauthorized) == guarded, "\(scope) \(route) without a token: \(without.status)")
                let with = try await client.execute(uri: route.path, method: route.method, headers: [.authorization: "Bearer s3cret"])
                #expect(with.status != .unauthorized, "\(scope) \(route) with the token: \(with.status)")
                let wrong = try await client.execute(uri: route.path, method: route.method, headers: [.authorization: "Bearer s3cre"])
                #expect((wrong.status == .unauthorized) == guarded, "\(scope) \(route) with a wrong token: \(wrong.status)")
            }
        }
    }

    /// Without a token, nothing is guarded, whatever the scope.
    @Test func noTokenGuardsNothing() async throws {
        let server = try Fixture.server(Fixture.options { $0.auth = .all })
        try await server.makeApplication().test(.router) { client in
            for route in Self.routes {
                let answer = try await client.execute(uri: route.path, method: route.method)
                #expect(answer.status != .unauthorized, "\(route): \(answer.status)")
            }
        }
    }

    /// Which paths each scope guards, streams included before they have routes.
    @Test func scopesByPath() {
        for path in ["/v1/jobs", "/v1/jobs/3/events", "/v1/streams", "/v1/streams/cam-1", "/v1/models/rescan", "/v1/datasets", "/v1/datasets/ucf"] {
            #expect(AuthScope.jobs.guards(path: path) && AuthScope.all.guards(path: path), "\(path)")
        }
        for path in ["/v1/predict", "/v1/models", "/v1/models/default"] {
            #expect(!AuthScope.jobs.guards(path: path) && AuthScope.all.guards(path: path), "\(path)")
        }
        for path in ["/healthz", "/ping", "/metrics", "/v1/jobsx", "/v1/streamsx", "/v1/datasetsx"] {
            #expect(!AuthScope.jobs.guards(path: path) && !AuthScope.all.guards(path: path), "\(path)")
        }
    }
}
