import NIOConcurrencyHelpers

/// Admits at most `limit` predictions at once; the rest are refused at once (503), not queued,
/// so a burst cannot pile up uploads on disk and work the server will answer too late.
final class AdmissionGate: Sendable {
    let limit: Int
    private let count = NIOLockedValueBox(0)
    private let metrics: ServerMetrics

    init(limit: Int, metrics: ServerMetrics) {
        self.limit = max(1, limit)
        self.metrics = metrics
    }

    /// Runs `body` when a place is free, else returns nil without running it.
    func withAdmission<T>(_ body: () async throws -> T) async throws -> T? {
        let admitted = count.withLockedValue { n in
            guard n < limit else { return false }
            n += 1
            return true
        }
        guard admitted else { return nil }
        metrics.admittedPredictions.increment()
        defer {
            count.withLockedValue { $0 -= 1 }
            metrics.admittedPredictions.decrement()
        }
        return try await body()
    }
}
