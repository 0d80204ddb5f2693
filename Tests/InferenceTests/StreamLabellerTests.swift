// Labelling a live source against labelling the file: window mode must give the decisions of
// `Predictor.predict`'s timeline, window for window; online mode must be `OnlineTSM` stepped over
// the same frames through the same centre-crop pipeline. The sources here are files read as
// streams (`LiveInput.file`), so no network or external tool is needed.
//
// Labelling a source waits on its decoding thread, so it runs on a thread of its own (`onThread`),
// off the cooperative pool that every test in the process shares; the forward passes the tests
// make themselves (a timeline of at most 3 windows, OnlineTSM steps) take 0.1 s or less each and
// stay in the test's task.
import Engine
import Foundation
import Testing
import Video
import Zoo
@testable import Inference

@Suite struct StreamLabellerTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    /// The bundled model (R(2+1)D-18 tiny, camera motions) and a zoom_in video it has not trained on.
    static let defaultModel = repository.appendingPathComponent("Models/default").path
    static let zoomIn = repository.appendingPathComponent("Samples/zoom_in.mp4").path

    /// The same video remuxed (not re-encoded) into MPEG-TS, the container streams use, by the
    /// ffmpeg tool (`make deps` installs it); once per process, by the first test that asks.
    static let zoomInTS = Task<String, any Error> {
        let folders = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        guard let ffmpeg = folders.map({ "\($0)/ffmpeg" }).first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw StreamTestError(description: "ffmpeg is not installed (make deps installs it): this test remuxes a video into MPEG-TS with it")
        }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("motive-stream-\(getpid())-zoom_in.ts").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ffmpeg)
        process.arguments = ["-v", "error", "-nostdin", "-y", "-i", zoomIn, "-c", "copy", "-f", "mpegts", path]
        (process.standardInput, process.standardOutput, process.standardError) = (FileHandle.nullDevice, FileHandle.nullDevice, FileHandle.nullDevice)
        try process.run()
        let deadline = ContinuousClock.now + .seconds(30)
        while process.isRunning && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()                                // exited or killed: at once
        guard process.terminationReason == .exit && process.terminationStatus == 0 else {
            throw StreamTestError(description: "ffmpeg could not remux \(zoomIn) into MPEG-TS")
        }
        return path
    }

    static func load(_ source: PredictorSource) throws -> Predictor { try Predictor.load(source).predictor }
    static func preset(_ name: String, classes: Int = 10) throws -> Predictor {
        try load(.preset(name: name, weights: nil, layout: .motive, classes: classes, strict: true))
    }

    /// Every decision a labeller makes on `input` until the source ends (a stall of 5 s fails it).
    static func decisions(_ labeller: StreamLabeller, _ input: LiveInput) async throws -> [StreamDecision] {
        try await onThread {
            var decisions: [StreamDecision] = []
            var options = LiveOptions()
            options.stallTimeout = 5
            try labeller.run(try LiveSource(input, options: options)) { decisions.append($0) }
            return decisions
        }
    }

    // MARK: - Window mode

    @Test(arguments: [(0.64, 0.32), (0.5, 0.3), (0.4, 0.4), (2.0, 0.5)])
    func windowsAreTheFilesTimeline(window: Double, stride: Double) async throws {
        let predictor = try Self.load(.checkpoint(Self.defaultModel))
        // The file's own timeline (VideoReader), against the file and its MPEG-TS remux read as streams.
        let timeline = try #require(try predictor.predict(file: Self.zoomIn, PredictionRequest(topK: 3, timeline: (window, stride))).timeline)
        for video in [Self.zoomIn, try await Self.zoomInTS.value] {
            let labeller = try StreamLabeller(predictor: predictor, mode: .window(window: window, stride: stride), topK: 3)
            let decisions = try await Self.decisions(labeller, .file(video))
            try #require(decisions.count == timeline.count, "\(video): \(decisions.count) decisions, the timeline has \(timeline.count) windows")
            for (k, (decision, entry)) in zip(decisions, timeline).enumerated() {
                #expect(abs(decision.tStart - entry.start) < 1e-6 && abs(decision.tEnd - entry.end) < 1e-6,
                        "window \(k): \(decision.tStart)…\(decision.tEnd) s, the timeline's \(entry.start)…\(entry.end) s")
                #expect(decision.labels == entry.labels, "window \(k) of \(video): labels differ")
                #expect(decision.dropped == 0 && decision.latencyMs >= 0)
                // A window as long as the model's clip (8 frames, every 2nd: 0.64 s) sees the motion;
                // a shorter one repeats frames, which looks like oscillation to it.
                if window >= 0.64 {
                    #expect(decision.labels.first?.label == "zoom_in", "window \(k) of \(video): \(decision.labels.first?.label ?? "none")")
                }
            }
        }
    }

    // MARK: - Online mode

    /// Decision k: the softmax of `OnlineTSM` after frames 0, every, 2·every, … k·every (centre
    /// crop of the model's test pipeline), averaged over the last `smoothing` decisions.
    @Test(arguments: [(1, 1), (2, 3)])
    func onlineIsOnlineTSMFrameByFrame(every: Int, smoothing: Int) async throws {
        let predictor = try Self.preset("tsm_r50_tiny")
        let labeller = try StreamLabeller(predictor: predictor, mode: .online(every: every, smoothing: smoothing), topK: 10)
        let decisions = try await Self.decisions(labeller, .file(Self.zoomIn))

        let reader = try VideoReader(path: Self.zoomIn)
        let frames = try reader.decodeAll(), times = reader.timestamps.map { $0 - reader.timestamps[0] }
        let picked = Array(Swift.stride(from: 0, to: frames.count, by: every))
        try #require(decisions.count == picked.count, "\(decisions.count) decisions for \(picked.count) frames")
        let online = OnlineTSM(try #require(predictor.model as? ResNet2D))
        let pipeline = predictor.plan.with(clips: 1, crops: 1).recipe.pipeline
        var rng = Xoshiro(seed: 0)
        var recent: [(index: Int, scores: [Float])] = []
        for (k, index) in picked.enumerated() {
            await Task.yield()                                 // ~20 ms a step: other tests get a turn between them
            let views = pipeline(frames.frame(index), using: &rng)                             // [1, C, 1, H, W]
            let x = views.reshaped([1, views.shape[1], views.shape[3], views.shape[4]])         // [1, C, H, W]
            recent.append((index, online.step(x).softmax(axis: 1).scalars))
            if recent.count > smoothing { recent.removeFirst() }
            var mean = [Float](repeating: 0, count: 10)
            for entry in recent { for i in mean.indices { mean[i] += entry.scores[i] / Float(recent.count) } }

            let decision = decisions[k]
            #expect(decision.labels.count == 10)
            var got = [Double](repeating: .nan, count: 10)
            for label in decision.labels { got[label.index] = label.score }
            #expect(got == mean.map(Double.init), "decision \(k) (frame \(index)): probabilities differ")
            #expect(abs(decision.tEnd - times[index]) < 1e-6 && abs(decision.tStart - times[recent[0].index]) < 1e-6,
                    "decision \(k): \(decision.tStart)…\(decision.tEnd) s")
            #expect(decision.dropped == 0)
        }
    }

    // MARK: - What a labeller refuses

    @Test func onlineNeedsATSMModel() throws {
        let mode = StreamMode.online(every: 1, smoothing: 4)
        let r2plus1d = try Self.load(.checkpoint(Self.defaultModel))
        #expect(throws: StreamError.notOnline(preset: r2plus1d.preset)) { try StreamLabeller(predictor: r2plus1d, mode: mode) }
        // The same ResNet without the temporal shift.
        #expect(throws: StreamError.notOnline(preset: "tsn_r50_tiny")) { try StreamLabeller(predictor: try Self.preset("tsn_r50_tiny"), mode: mode) }
        // Window mode takes any RGB model.
        _ = try StreamLabeller(predictor: r2plus1d, mode: .window(window: 1, stride: 0.5))
    }

    @Test func flowModelsAreRefused() throws {
        let flow = try Self.preset("tsn_r18_flow_tiny")
        for mode in [StreamMode.window(window: 1, stride: 0.5), .online(every: 1, smoothing: 1)] {
            #expect(throws: StreamError.notRGB(preset: "tsn_r18_flow_tiny")) { try StreamLabeller(predictor: flow, mode: mode) }
        }
    }

    @Test(arguments: [StreamMode.window(window: 0, stride: 1), .window(window: 1, stride: 0), .window(window: -1, stride: 1),
                      .window(window: .nan, stride: 1), .window(window: 1, stride: .infinity), .online(every: 0, smoothing: 1),
                      .online(every: 1, smoothing: 0), .online(every: -2, smoothing: 4)])
    func badModesAreRefused(_ mode: StreamMode) throws {
        let predictor = try Self.preset("tsm_r50_tiny")
        let error = #expect(throws: StreamError.self) { try StreamLabeller(predictor: predictor, mode: mode) }
        guard case .badMode? = error else {
            Issue.record("\(mode) was not refused as a bad mode"); return
        }
    }

    @Test func topKIsClampedToTheClasses() throws {
        let predictor = try Self.preset("tsm_r50_tiny", classes: 4)
        #expect(try StreamLabeller(predictor: predictor, mode: .window(window: 1, stride: 1), topK: 50).topK == 4)
        #expect(try StreamLabeller(predictor: predictor, mode: .window(window: 1, stride: 1), topK: 0).topK == 1)
    }

    // MARK: - The decision's JSON

    @Test func decisionJSON() throws {
        let labels = [LabelScore(label: "zoom_in", score: 0.75, index: 6)]
        let decision = StreamDecision(tStart: 0.1 + 0.2, tEnd: 2.0 / 3, labels: labels, latencyMs: 12.5, dropped: 3)
        #expect(decision.tStart == 0.3 && decision.tEnd == 0.666667, "times print to the microsecond")
        let data = try JSONEncoder().encode(decision)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(Set(object.keys) == ["t_start", "t_end", "labels", "latency_ms", "dropped"])
        #expect(object["t_start"] as? Double == 0.3 && object["dropped"] as? Int == 3 && object["latency_ms"] as? Double == 12.5)
        #expect(try JSONDecoder().decode(StreamDecision.self, from: data) == decision)
    }
}

private struct StreamTestError: Error, CustomStringConvertible { let description: String }

/// Runs blocking work on a thread of its own, never on the cooperative pool.
private func onThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try work() }) }.start()
    }
}
