import Clips
import Engine
import Foundation
import TensorIO
import Testing
import Video
@testable import Training
@testable import Inference
@testable import Zoo

/// The temporal stream end to end: videos of textures sliding right or left, their flow extracted
/// by `FlowDataset` as `motive flow --list` does, tsn_r18_flow_tiny trained on the flow folders
/// through the real trainer, then tested on the folders and on the raw videos (live flow).
@Suite(.serialized) struct FlowTrainingTests {
    /// Eight 8-frame 40×40 videos: class 0 slides right by 2 px a frame, class 1 left.
    static func video(_ path: String, label: Int, seed: Int) throws {
        let (w, h, frames) = (40, 40, 8)
        var pixels = [UInt8](repeating: 0, count: frames * w * h * 3)
        let dx = label == 0 ? 2 : -2, phase = Double(seed) * 0.7
        for t in 0..<frames { for y in 0..<h { for x in 0..<w {
            let u = Double(x - dx * t), v = Double(y)
            let value = 128 + 55 * sin(0.37 * u + 0.21 * v + phase) + 45 * cos(0.29 * v - 0.33 * u + 2 * phase)
            let b = UInt8(clamping: Int(value.rounded())), p = ((t * h + y) * w + x) * 3
            (pixels[p], pixels[p + 1], pixels[p + 2]) = (b, b, b)
        } } }
        let writer = try VideoWriter(path: path, width: w, height: h, options: EncodeOptions(codec: .h264, quality: 8))
        try writer.append(FrameStack(count: frames, height: h, width: w, pixels: pixels))
        try writer.finish()
    }

    static let root: URL = {
        FFmpegLogLevel.error.apply()
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("motive-flowtrain-\(getpid())")
        try! FileManager.default.createDirectory(at: url.appendingPathComponent("videos"), withIntermediateDirectories: true)
        var items: [Annotation] = []
        for label in 0..<2 {
            for i in 0..<4 {
                let name = "c\(label)_\(i).mp4"
                try! video(url.appendingPathComponent("videos/" + name).path, label: label, seed: 4 * label + i)
                items.append(Annotation(path: name, label: label))
            }
        }
        try! "right\nleft\n".write(to: url.appendingPathComponent("videos/classes.txt"), atomically: true, encoding: .utf8)
        try! items.map { "\($0.path) \($0.label)" }.joined(separator: "\n")
            .write(to: url.appendingPathComponent("videos/train.txt"), atomically: true, encoding: .utf8)
        let summary = try! FlowDataset.extract(list: AnnotationList(items: items), listName: "train.txt",
                                               root: DataRoot(url.appendingPathComponent("videos")),
                                               out: url.appendingPathComponent("flow"), options: .init(), jobs: 2)
        precondition(summary.failures.isEmpty && summary.extracted == 8)
        try! FileManager.default.copyItem(at: url.appendingPathComponent("videos/classes.txt"),
                                          to: url.appendingPathComponent("flow/classes.txt"))
        return url
    }()

    @Test func theFlowStreamLearnsTheDirection() throws {
        let config = try ConfigLoader.parse("""
        model: {preset: tsn_r18_flow_tiny}
        data:
          train_list: \(Self.root.appendingPathComponent("flow/train.txt").path)
          modality: flow
          batch_size: 8
          train_pipeline: {transforms: [{resize: {size: 64}}], normalization: flow}
        optimizer: {type: adamw, lr: 0.002, weight_decay: 0}
        schedule: {epochs: 40, policy: constant}
        train: {seed: 2}
        """)
        let data = try TrainingData.load(config.data)
        #expect(data.train.items.allSatisfy { $0.frameCount == 7 } && data.classNames == ["right", "left"])
        let trainer = try Trainer(config: config, data: data)
        var last = EpochStats(epoch: 0, loss: .infinity, top1: 0, clips: 0, seconds: 0, failed: 0)
        // Every epoch, not only until the loss is low, so that batch norm's running statistics settle.
        for _ in 0..<40 { last = try trainer.trainEpoch() }
        #expect(last.loss < 0.05 && last.top1 == 1 && last.failed == 0, "loss \(last.loss) after \(last.epoch) epochs")

        let preset = try ModelZoo.preset(named: "tsn_r18_flow_tiny")
        let result = try Evaluator.run(model: trainer.model, list: data.train, root: data.root,
                                       plan: ViewPlan(input: preset.input, clips: 2, crops: 3), classNames: data.classNames)
        #expect(result.metrics.top1 == 1)
        // A mirror turns right into left: the same folders, mirrored, are all misread.
        var mirrored = ViewPlan(input: preset.input)
        mirrored.pipeline = ClipPipeline([.resizeShortSide(side: 73), .centreCrop(size: .square(64)), .flip(HorizontalFlip(probability: 1))],
                                         normalization: Normalization(.flow))
        let flipped = try Evaluator.run(model: trainer.model, list: data.train, root: data.root, plan: mirrored, classNames: data.classNames)
        #expect(flipped.metrics.top1 == 0)

        // The checkpoint carries the extraction's options; its predictor labels the raw videos
        // by computing their flow.
        let file = Self.root.appendingPathComponent("flow-model.safetensors")
        try trainer.save(to: file)
        let predictor = try Predictor.load(.checkpoint(file.path)).predictor
        #expect(predictor.plan.flowOptions == FlowExtractionOptions())
        #expect(try Checkpoint.read(file).info.flow == FlowExtractionOptions())
        for item in try AnnotationList.readList(Self.root.appendingPathComponent("flow/train.txt")).items {
            let video = Self.root.appendingPathComponent("videos/\(item.path).mp4").path
            let labels = try predictor.predict(file: video, PredictionRequest(topK: 1))
            #expect(labels.labels.first?.label == data.classNames[item.label], "\(video): \(labels.labels)")
        }
    }

    /// Live flow from a raw video is what the flow folders hold, up to the JPEG's loss.
    @Test func liveFlowMatchesExtractedFlow() throws {
        let preset = try ModelZoo.preset(named: "tsn_r18_flow_tiny")
        let recipe = ViewPlan(input: preset.input).recipe
        var rng = Xoshiro(seed: 0)
        let stored = try recipe.load(Annotation(path: "c0_1", label: 0, frameCount: 7), root: DataRoot(Self.root.appendingPathComponent("flow")),
                                     using: &rng)
        let live = try recipe.sample(VideoReader(path: Self.root.appendingPathComponent("videos/c0_1.mp4").path), using: &rng)
        #expect(live.shape == stored.shape)
        let meanDifference = zip(live.scalars, stored.scalars).map { Double(abs($0 - $1)) }.reduce(0, +) / Double(live.count)
        #expect(meanDifference < 0.02, "mean difference \(meanDifference) (1 byte is 0.0078)")
    }

    /// Untrained stream checkpoints are enough to check the joining, the fused evaluation with
    /// each stream's own results, and prediction on raw videos.
    @Test func twoStreamsJoinEvaluateAndPredict() throws {
        func checkpoint(_ preset: String, list: String, _ extra: String = "") throws -> URL {
            let config = try ConfigLoader.parse("""
            model: {preset: \(preset)}
            data:
              train_list: \(Self.root.appendingPathComponent(list).path)
            """ + extra)
            let trainer = try Trainer(config: config, data: try TrainingData.load(config.data))
            let file = Self.root.appendingPathComponent("\(preset)-\(UUID().uuidString).safetensors")
            try trainer.save(to: file)
            return file
        }
        let rgb = try checkpoint("tsn_r18_tiny", list: "videos/train.txt")
        let flow = try checkpoint("tsn_r18_flow_tiny", list: "flow/train.txt", "\n  modality: flow")
        let fusion = TwoStream.Fusion(rgbWeight: 1, flowWeight: 2, softmax: true)
        let (model, info) = try TwoStreamJoin.join(rgb: rgb, flow: flow, fusion: fusion)
        #expect(info.preset == "two_stream_tsn_tiny" && info.fusion == fusion && info.flow == FlowExtractionOptions())
        #expect(info.classNames == ["right", "left"] && info.input.normalization == .imagenet)
        #expect(throws: TwoStreamJoin.JoinError.noTwoStreamPreset(rgb: "tsn_r18_flow_tiny", flow: "tsn_r18_flow_tiny")) {
            try TwoStreamJoin.join(rgb: flow, flow: flow)
        }

        let file = Self.root.appendingPathComponent("two-stream.safetensors")
        try Checkpoint.save(model: model, info: info, to: file)
        let predictor = try Predictor.load(.checkpoint(file.path)).predictor
        #expect((predictor.model as? TwoStream)?.fusion == fusion)
        let video = try VideoReader(path: Self.root.appendingPathComponent("videos/c0_0.mp4").path)
        let sample = try predictor.sample(video)
        #expect(sample.shape == [4, 13, 1, 64, 64])
        let scores = try predictor.scores(video)
        #expect(scores.count == 2 && abs(scores.reduce(0, +) - 1) < 1e-4)

        let list = try AnnotationList.readList(Self.root.appendingPathComponent("videos/train.txt"))
        let result = try Evaluator.run(model: predictor.model, list: list, root: DataRoot(Self.root.appendingPathComponent("videos")),
                                       plan: predictor.plan, classNames: info.classNames)
        let (r, f) = (try #require(result.streams["rgb"]), try #require(result.streams["flow"]))
        #expect(result.metrics.count == 8 && r.metrics.count == 8 && f.metrics.count == 8)
        #expect(result.videos.map(\.video) == list.items.map(\.path))
        // The fused result of the first video is the one the predictor gives.
        #expect(result.videos[0].labels[0].index == (scores[0] >= scores[1] ? 0 : 1))
        let out = Self.root.appendingPathComponent("eval-two-stream")
        try result.write(to: out)
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("flow/metrics.json").path))
    }

    /// `inflate_from` an RGB image ResNet starts the flow stream: conv1 averaged over colour and
    /// repeated to 10 channels, the rest as it is.
    @Test func inflateFromAnImageResNetIsCrossModality() throws {
        let donor = try ModelZoo.preset(named: "tsn_r18_tiny").build(classes: 7, seed: 9)
        let file = Self.root.appendingPathComponent("resnet-\(UUID().uuidString).safetensors")
        try SafeTensors(donor.stateDict().map { (name: $0.0, tensor: $0.1) }).write(to: file)
        let config = try ConfigLoader.parse("""
        model: {preset: tsn_r18_flow_tiny, inflate_from: \(file.path)}
        data:
          train_list: \(Self.root.appendingPathComponent("flow/train.txt").path)
          modality: flow
        """)
        let trainer = try Trainer(config: config, data: try TrainingData.load(config.data))
        let state = Dictionary(uniqueKeysWithValues: trainer.model.stateDict().map { ($0.0, $0.1) })
        let given = Dictionary(uniqueKeysWithValues: donor.stateDict().map { ($0.0, $0.1) })
        #expect(state["conv1.weight"]?.scalars == ResNet2D.crossModality(try #require(given["conv1.weight"]), channels: 10).scalars)
        #expect(state["layer2.0.conv1.weight"]?.scalars == given["layer2.0.conv1.weight"]?.scalars)
        // The donor's classifier has 7 classes, the job 2: it stays initialised, and the note says so.
        #expect(state["fc.weight"]?.shape == [2, 128])
        #expect(trainer.notes.contains { $0.hasPrefix("inflated") && $0.contains("fc.weight") })
    }
}
