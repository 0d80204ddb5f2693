import Clips
import Engine
import Foundation
import Testing
import Video
@testable import Training
@testable import Zoo

/// The temporal stream through the real trainer and evaluator: flow folders whose class is the
/// sign of the x flow, learnt by tsn_r18_flow_tiny.
@Suite struct FlowTrainingTests {
    static let root: URL = {
        FFmpegLogLevel.error.apply()
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("motive-flowtrain-\(getpid())")
        var lines: [String] = []
        for label in 0..<2 {
            for i in 0..<4 {
                let name = "flow/c\(label)_\(i)"
                try! FileManager.default.createDirectory(at: url.appendingPathComponent(name), withIntermediateDirectories: true)
                // x: right (above 128) for class 0, left for class 1, with a per-folder pattern;
                // y: the same random-looking pattern for both classes.
                let x = label == 0 ? 190 + 5 * i : 66 - 5 * i
                for (template, base) in [("flow_x_%05d.jpg", x), ("flow_y_%05d.jpg", 100 + 15 * i)] {
                    var pixels = [UInt8](repeating: 0, count: 8 * 32 * 32 * 3)
                    for p in 0..<(8 * 32 * 32) {
                        let v = UInt8(clamping: base + (p * 7919 + i * 31) % 23 - 11)
                        (pixels[3 * p], pixels[3 * p + 1], pixels[3 * p + 2]) = (v, v, v)
                    }
                    let writer = try! VideoWriter(path: url.appendingPathComponent(name).path + "/" + template, width: 32, height: 32,
                                                  options: EncodeOptions(codec: .mjpeg, quality: 5))
                    try! writer.append(FrameStack(count: 8, height: 32, width: 32, pixels: pixels))
                    try! writer.finish()
                }
                lines.append("\(name) 8 \(label)")
            }
        }
        try! lines.joined(separator: "\n").write(to: url.appendingPathComponent("train.txt"), atomically: true, encoding: .utf8)
        try! "right\nleft\n".write(to: url.appendingPathComponent("classes.txt"), atomically: true, encoding: .utf8)
        return url
    }()

    @Test func theFlowStreamLearnsTheDirection() throws {
        let config = try ConfigLoader.parse("""
        model: {preset: tsn_r18_flow_tiny}
        data:
          train_list: \(Self.root.appendingPathComponent("train.txt").path)
          modality: flow
          batch_size: 8
          train_pipeline: {transforms: [{resize: {size: 64}}], normalization: flow}
        optimizer: {type: adamw, lr: 0.002, weight_decay: 0}
        schedule: {epochs: 40, policy: constant}
        train: {seed: 2}
        """)
        let data = try TrainingData.load(config.data)
        #expect(data.train.items.allSatisfy { $0.frameCount == 8 })
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
    }

    @Test func aFlowModelRefusesRawFrames() throws {
        let preset = try ModelZoo.preset(named: "tsn_r18_flow_tiny")
        let predictor = Predictor(model: preset.build(), preset: preset.name, classNames: (0..<10).map { "c\($0)" },
                                  plan: ViewPlan(input: preset.input))
        let video = Self.root.appendingPathComponent("clip.avi").path
        let writer = try VideoWriter(path: video, width: 32, height: 32, options: EncodeOptions(codec: .mjpeg))
        try writer.append(FrameStack(count: 8, height: 32, width: 32, pixels: [UInt8](repeating: 90, count: 8 * 32 * 32 * 3)))
        try writer.finish()
        #expect(throws: PredictionError.flowModelNeedsFlow(preset: "tsn_r18_flow_tiny")) {
            try predictor.scores(VideoReader(path: video))
        }
    }
}
