import Prometheus
import NIOConcurrencyHelpers

/// Admits at most `limit` requests to one stage at once (receiving uploads, or inference); the
/// rest are refused at once (503), not queued, so a burst cannot pile up uploads on disk and
/// work the server will answer too late.
final class AdmissionGate: Sendable {
    let limit: Int
    private let count = NIOLockedValueBox(0)
    /// How many are admitted now, exported as a metric.
    private let gauge: Gauge

    init(limit: Int, gauge: Gauge) {
        self.limit = max(1, limit)
        self.gauge = gauge
    }

    /// Runs `body` when a place is free, else returns nil without running it.
    func withAdmission<T>(_ body: () async throws -> T) async throws -> T? {
        let admitted = count.withLockedValue { n in
            guard n < limit else { return false }
            n += 1
            return true
        }
        guard admitted else { return nil }
        gauge.increment()
        defer {
            count.withLockedValue { $0 -= 1 }
            gauge.decrement()
        }
        return try await body()
    }
}
