import Prometheus
import Support

/// The server's Prometheus metrics, in one registry per server (so tests can run several).
public final class ServerMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    let inFlight: Gauge
    let queueLength: Gauge
    let admittedPredictions: Gauge
    let admittedUploads: Gauge

    static let latencyBuckets: [Duration] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60].map { .milliseconds(Int64($0 * 1000)) }

    public init() {
        inFlight = registry.makeGauge(descriptor: Self.name("http", "requests_in_flight", help: "HTTP requests being handled"))
        queueLength = registry.makeGauge(descriptor: Self.name("jobs", "queue_length", help: "Training jobs waiting to run"))
        admittedPredictions = registry.makeGauge(
            descriptor: Self.name("predictions", "in_progress", help: "Predictions admitted to inference (waiting or running)"))
        admittedUploads = registry.makeGauge(descriptor: Self.name("uploads", "in_progress", help: "Prediction uploads being received"))
    }

    static func name(_ subsystem: String, _ metric: String, unit: String = "", help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "motive", subsystem: subsystem, metricName: metric, unitName: unit, helpText: help)
    }

    /// One finished request: its route pattern (`/v1/jobs/{id}`), method, status and latency.
    func recordRequest(route: String, method: String, status: Int, duration: Duration) {
        registry.makeCounter(descriptor: Self.name("http", "requests", unit: "total", help: "HTTP requests by route, method and status"),
                             labels: [("route", route), ("method", method), ("status", String(status))]).increment()
        registry.makeDurationHistogram(descriptor: Self.name("http", "request_duration", unit: "seconds", help: "HTTP request latency by route"),
                                       labels: [("route", route)], buckets: Self.latencyBuckets).record(duration)
    }

    /// Seconds spent decoding or running the model for one prediction.
    func recordPredictionStage(_ stage: String, duration: Duration) {
        registry.makeDurationHistogram(descriptor: Self.name("prediction", "stage_duration", unit: "seconds",
                                                             help: "Prediction time by stage (decode, infer, timeline)"),
                                       labels: [("stage", stage)], buckets: Self.latencyBuckets).record(duration)
    }

    /// The number of jobs in each state.
    func setJobCounts(_ counts: [JobState: Int]) {
        for state in JobState.allCases {
            registry.makeGauge(descriptor: Self.name("jobs", "by_state", help: "Training jobs by state"), labels: [("state", state.rawValue)])
                .set(Double(counts[state] ?? 0))
        }
        queueLength.set(Double(counts[.queued] ?? 0))
    }

    /// How long a model took to load (checkpoint read, build, FLOP count).
    func recordModelLoad(name: String, seconds: Double) {
        registry.makeGauge(descriptor: Self.name("model", "load_duration", unit: "seconds", help: "Seconds each served model took to load"),
                           labels: [("model", name)]).set(seconds)
    }

    /// Live streams being labelled.
    func setStreamsRunning(_ count: Int) {
        registry.makeGauge(descriptor: Self.name("streams", "running", help: "Live streams being labelled")).set(Double(count))
    }

    /// Frames decoded and dropped by live streams since the last call for the same stream.
    func recordStreamFrames(decoded: Int, dropped: Int) {
        registry.makeCounter(descriptor: Self.name("stream", "frames_decoded", unit: "total", help: "Frames decoded from live streams"))
            .increment(by: Int64(max(0, decoded)))
        registry.makeCounter(descriptor: Self.name("stream", "frames_dropped", unit: "total",
                                                   help: "Frames of live streams not labelled (dropped behind, or skipped to catch up)"))
            .increment(by: Int64(max(0, dropped)))
    }

    /// One live-stream decision's latency, from the frame that made it possible.
    func recordStreamDecision(latencyMs: Double) {
        registry.makeDurationHistogram(descriptor: Self.name("stream", "decision_latency", unit: "seconds",
                                                             help: "Live-stream decision latency, from the frame that made it possible"),
                                       buckets: Self.latencyBuckets).record(.milliseconds(Int64(latencyMs.rounded())))
    }

    /// The Prometheus text exposition of every metric, of the build (`motive_build_info`) and of
    /// the process (`process_…`).
    public func exposition() -> String { registry.emitToString() + Self.buildInfo + ProcessStatistics.exposition() }

    /// The build as a metric whose labels carry the facts and whose value is always 1, as
    /// Prometheus exporters write theirs (`go_build_info`): a query joins on it to group by version.
    static let buildInfo = """
        # HELP motive_build_info Motive's version and the git commit it was built from.
        # TYPE motive_build_info gauge
        motive_build_info{version="\(BuildInfo.version)",commit="\(BuildInfo.commit)"} 1

        """
}
