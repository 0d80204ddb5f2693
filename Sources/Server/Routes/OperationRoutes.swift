import Foundation
import Hummingbird

/// `GET /healthz`, `GET /metrics`, `GET /openapi.yaml`, and TorchServe's `GET /ping`.
struct OperationRoutes: Sendable {
    let models: ModelRegistry
    let board: JobBoard
    let metrics: ServerMetrics
    let started = Date()

    func register(on table: RouteTable) {
        table.on(.get, "/healthz") { _, _ in
            struct Health: Encodable {
                let status: String, models: Int, jobsQueued: Int, jobsRunning: Int, uptimeSeconds: Double
                enum CodingKeys: String, CodingKey {
                    case status, models, jobsQueued = "jobs_queued", jobsRunning = "jobs_running", uptimeSeconds = "uptime_s"
                }
            }
            let jobs = board.views()
            return try .json(Health(status: "ok", models: models.all.count, jobsQueued: jobs.count { $0.state == .queued },
                                    jobsRunning: jobs.count { $0.state == .running },
                                    uptimeSeconds: (Date().timeIntervalSince(started) * 10).rounded() / 10))
        }
        // TorchServe's health check, for clients and probes written for it.
        table.on(.get, "/ping") { _, _ in
            struct Ping: Encodable { let status: String }
            return try .json(Ping(status: "Healthy"))
        }
        table.on(.get, "/metrics") { _, _ in
            .text(metrics.exposition(), contentType: "text/plain; version=0.0.4; charset=utf-8")
        }
        table.on(.get, "/openapi.yaml") { _, _ in
            .text(OpenAPIDocument.yaml, contentType: "application/yaml; charset=utf-8")
        }
    }
}
