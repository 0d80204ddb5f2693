import Clips
import Engine
import Foundation
import Testing
import Video
import Zoo
@testable import Training
@testable import Inference

/// A stand-in model whose logits are known: it reads the mean brightness of each view and
/// votes for the class whose index is that brightness / 64 (0–3), with logit 4, others 0.
final class BrightnessModel: VideoModel {
    override func forward(_ x: Tensor) -> Tensor {
        let n = x.shape[0], per = x.count / n
        let out = Tensor.zeros([n, 4])
        for i in 0..<n {
            var sum: Float = 0
            for j in 0..<per { sum += x.data[i * per + j] }
            let mean = sum / Float(per) * 255                  // the pipeline maps bytes to [0, 1]
            out.data[i * 4 + min(3, max(0, Int(mean / 64)))] = 4
        }
        return out
    }
}

@Suite struct EvaluationTests {
    /// Five grey videos (brightness 32, 96, 160, 224, 96 → predicted classes 0, 1, 2, 3, 1) with
    /// labels 0, 1, 3, 3, 2. By hand: top-1 = 3/5 (videos 0, 1, 3); per class: class 0 1/1,
    /// class 1 1/1, class 2 0/1 (predicted 1), class 3 1/2 (video 2 predicted 2) → mean class
    /// accuracy (1 + 1 + 0 + 0.5) / 4 = 0.625; confusion rows (true) × columns (predicted):
    /// [1 0 0 0], [0 1 0 0], [0 1 0 0], [0 0 1 1]. Every view of a video agrees, so 2×3 views
    /// give the same answer.
    @Test func handCheckedMetrics() throws {
        FFmpegLogLevel.error.apply()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("motive-eval-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let levels: [UInt8] = [32, 96, 160, 224, 96], labels = [0, 1, 3, 3, 2]
        var list = ""
        for (i, level) in levels.enumerated() {
            let path = dir.appendingPathComponent("v\(i).mp4").path
            var options = EncodeOptions()
            options.quality = 0
            let writer = try VideoWriter(path: path, width: 32, height: 32, options: options)
            try writer.append(FrameStack(count: 6, height: 32, width: 32, pixels: Array(repeating: level, count: 6 * 32 * 32 * 3)))
            try writer.finish()
            list += "v\(i).mp4 \(labels[i])\n"
        }
        try list.write(to: dir.appendingPathComponent("val.txt"), atomically: true, encoding: .utf8)
        let annotations = try AnnotationList.readVideoList(dir.appendingPathComponent("val.txt"))
        let input = InputSpec(frames: 4, size: 16, normalization: .kinetics, clipLength: 4, frameInterval: 1, clips: 1)
        let plain = ClipPipeline([.resizeShortSide(side: 16), .threeCrop(size: .square(16))],
                                 normalization: Normalization(mean: [0, 0, 0], std: [1, 1, 1], inputScale: 1 / 255))
        let plan = ViewPlan(input: input, clips: 2, crops: 3, pipeline: plain)
        let names = ["a", "b", "c", "d"]
        let result = try Evaluator.run(model: BrightnessModel(), list: annotations, root: DataRoot(dir), plan: plan,
                                       classNames: names, batchSize: 4, workers: 2)
        let m = result.metrics
        #expect(m.count == 5 && result.failed.isEmpty)
        #expect(abs(m.top1 - 0.6) < 1e-12)
        #expect(abs(m.meanClassAccuracy - 0.625) < 1e-12)
        #expect(m.confusion == [[1, 0, 0, 0], [0, 1, 0, 0], [0, 1, 0, 0], [0, 0, 1, 1]])
        #expect(m.top5 == 1)
        #expect(result.videos.map(\.predicted) == [0, 1, 2, 3, 1])
        #expect(result.videos.map(\.correct) == [true, true, false, true, false])
        // softmax([4, 0, 0, 0]) = e⁴ / (e⁴ + 3)
        let expected = exp(4.0) / (exp(4.0) + 3)
        #expect(abs(result.videos[0].labels[0].score - expected) < 1e-5)

        let out = dir.appendingPathComponent("report")
        try result.write(to: out)
        let csv = try String(contentsOf: out.appendingPathComponent("confusion.csv"), encoding: .utf8)
        #expect(csv.split(separator: "\n")[4].hasSuffix(",0,0,1,1"))
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("metrics.json"))) as? [String: Any]
        #expect(json?["top1"] as? Double == m.top1 && json?["views"] as? String == "2x3")
    }

    /// A segment model's 2 clips of 3 segments: 6 evenly spaced frames dealt into 2 interleaved views.
    @Test func segmentViewsInterleave() {
        let input = InputSpec(frames: 3, size: 8, normalization: .imagenet, clipLength: 1, frameInterval: 1, clips: 3)
        let plan = ViewPlan(input: input, clips: 2, crops: 1)
        #expect(plan.sampler.clipCount == 6 && plan.sampler.testMode)
        // Sample k holds the value k: [B=1, V'=6, C=1, L=1, H=1, W=1]
        let batch = Tensor([0, 1, 2, 3, 4, 5], shape: [1, 6, 1, 1, 1, 1])
        let views = plan.arrange(batch)
        #expect(views.shape == [2, 1, 3, 1, 1])
        #expect(views.scalars == [0, 2, 4, 1, 3, 5])
    }

    /// Averaging softmax scores and averaging logits differ, as they should.
    @Test func scoreAndLogitAveraging() {
        let input = InputSpec(frames: 1, size: 8, normalization: .imagenet, clipLength: 1, frameInterval: 1, clips: 1)
        let logits = Tensor([10, 0, 0, 1], shape: [2, 2])      // view 1 sure of class 0, view 2 mildly class 1
        let byScore = ViewPlan(input: input, clips: 2, crops: 1, averaging: .prob).combine(logits)[0]
        let byLogit = ViewPlan(input: input, clips: 2, crops: 1, averaging: .score).combine(logits)[0]
        let s1 = Float(1 / (1 + exp(-10.0))), s2 = Float(1 / (1 + exp(1.0)))
        #expect(abs(byScore[0] - (s1 + s2) / 2) < 1e-6)
        #expect(abs(byLogit[0] - Float(1 / (1 + exp(-4.5)))) < 1e-6)     // mean logits (5, 0.5) → softmax
    }

    @Test func viewsAndDurationsParse() {
        #expect(ViewPlan.parseViews("10x3")! == (10, 3))
        #expect(ViewPlan.parseViews("1X1")! == (1, 1))
        #expect(ViewPlan.parseViews("2x4") == nil && ViewPlan.parseViews("0x1") == nil && ViewPlan.parseViews("3") == nil)
        #expect(parseDuration("2s") == 2 && parseDuration("500ms") == 0.5 && parseDuration("1.5") == 1.5 && parseDuration("1m") == 60)
        #expect(parseDuration("-1s") == nil && parseDuration("abc") == nil && parseDuration("0") == nil)
    }

    /// Labels for a whole synthetic video and a timeline of its windows, from a trained checkpoint.
    @Test func predictorLabelsAndTimeline() throws {
        let config = try TinyDataset.config()
        let data = try TrainingData.load(config.data)
        let trainer = try Trainer(config: config, data: data)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("motive-pred-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: file) }
        try trainer.save(to: file)
        let predictor = try Predictor.load(.checkpoint(file.path), ViewOverrides(views: (clips: 1, crops: 3))).predictor
        #expect(predictor.classNames == ["translate_left", "translate_right"])
        let video = try data.root.resolve(data.train.items[0].path)
        let reader = try VideoReader(path: video.path)
        let result = try predictor.predict(reader, PredictionRequest(topK: 5))
        #expect(result.labels.count == 2 && abs(result.scores.reduce(0, +) - 1) < 1e-5)
        #expect(result.labels[0].score >= result.labels[1].score)
        // 8 frames at 25 fps = 0.32 s: windows of 0.16 s every 0.08 s start at 0, 0.08, 0.16.
        let timeline = try #require(try predictor.predict(reader, PredictionRequest(topK: 1, timeline: (0.16, 0.08))).timeline)
        #expect(timeline.map(\.start).map { ($0 * 100).rounded() } == [0, 8, 16])
        #expect(timeline.allSatisfy { $0.labels.count == 1 && abs($0.end - $0.start - 0.16) < 1e-6 })
        #expect(throws: PredictionError.self) { try predictor.predict(reader, PredictionRequest(timeline: (0, 1))) }
    }
}
