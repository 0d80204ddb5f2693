import Engine
import TensorIO
import Foundation
import Synth
import Testing
import Video
@testable import Training
@testable import Inference
@testable import Zoo

/// A tiny synthetic dataset (2 motion classes × 4 videos of 8 frames at 64²), made once.
enum TinyDataset {
    static let root: URL = {
        FFmpegLogLevel.error.apply()
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("motive-train-\(getpid())")
        var o = SynthOptions()
        o.classes = 2; o.perClass = 4; o.frames = 8; o.size = 64; o.seed = 3; o.valFraction = 0
        _ = try! SynthDataset.generate(into: url.path, options: o)
        return url
    }()

    static func config(_ extra: String = "") throws -> JobConfig {
        try ConfigLoader.parse("""
        model: {preset: mc3_18_tiny}
        data:
          train_list: \(root.appendingPathComponent("train.txt").path)
          batch_size: 4
          workers: 2
          train_pipeline: {transforms: [{resize_short_side: {side: 64}}, {centre_crop: {size: 64}}], normalization: kinetics}
        optimizer: {type: adamw, lr: 0.002, weight_decay: 0}
        schedule: {epochs: 40, policy: constant}
        train: {seed: 5}
        """ + extra)
    }
}

@Suite(.serialized) struct TrainerTests {
    /// One batch of four videos, trained through the real trainer until it is memorised.
    @Test func overfitsOneBatch() throws {
        var config = try TinyDataset.config()
        config.data.batchSize = 8
        let data = try TrainingData.load(config.data)
        #expect(data.classNames == ["translate_left", "translate_right"] && data.train.count == 8)
        let trainer = try Trainer(config: config, data: data)
        var last = EpochStats(epoch: 0, loss: .infinity, top1: 0, clips: 0, seconds: 0, failed: 0)
        for _ in 0..<40 where last.loss > 0.05 { last = try trainer.trainEpoch() }
        #expect(last.loss < 0.05, "loss after \(last.epoch) epochs: \(last.loss)")
        #expect(last.top1 == 1 && last.clips == 8 && last.failed == 0)
    }

    /// Two epochs in one go equal one epoch, a checkpoint, a resume in a new trainer, and one more.
    @Test func resumeContinuesExactly() throws {
        var config = try TinyDataset.config()
        config.optimizer.type = .sgd
        config.optimizer.lr = 0.01
        let data = try TrainingData.load(config.data)
        let straight = try Trainer(config: config, data: data)
        try straight.trainEpoch()
        try straight.trainEpoch()

        let first = try Trainer(config: config, data: data)
        try first.trainEpoch()
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("motive-resume-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: file) }
        try first.save(to: file)
        let resumed = try Trainer(config: config, data: data)
        try resumed.resume(from: file)
        #expect(resumed.epoch == 1 && resumed.step == first.step)
        try resumed.trainEpoch()

        for ((key, a), (_, b)) in zip(straight.model.stateDict(), resumed.model.stateDict()) {
            #expect(a.scalars == b.scalars, "\(key) differs after resuming")
        }
    }

    @Test func segmentsBecomeTheTimeAxis() throws {
        let clips = Tensor.zeros([2, 4, 3, 1, 8, 8])      // B, V = 4 segments, C, T = 1, H, W
        #expect(try Trainer.modelInput(clips).shape == [2, 3, 4, 8, 8])
        #expect(try Trainer.modelInput(Tensor.zeros([2, 1, 3, 8, 16, 16])).shape == [2, 3, 8, 16, 16])
        #expect(throws: TrainingError.severalViews(views: 2, frames: 8)) {
            try Trainer.modelInput(Tensor.zeros([2, 2, 3, 8, 16, 16]))
        }
    }

    /// inflate_from on TimeSformer reads a timm ViT: spatial weights from it, temporal_dense zero.
    @Test func timesformerStartsFromAnImageViT() throws {
        let donor = try ModelZoo.preset(named: "timesformer_tiny").build(classes: 2, seed: 9)
        var vit: [(name: String, tensor: Tensor)] = []
        for (key, t) in donor.stateDict() where !key.contains("temporal") {
            if let name = TimeSformer.timmKey(for: key) { vit.append((name, t)) }
        }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("vit-\(UUID().uuidString).safetensors")
        try SafeTensors(vit).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let config = try TinyDataset.config().replacing(preset: "timesformer_tiny", inflateFrom: file.path)
        let trainer = try Trainer(config: config, data: try TrainingData.load(config.data))
        let state = Dictionary(uniqueKeysWithValues: trainer.model.stateDict().map { ($0.0, $0.1) })
        let given = Dictionary(uniqueKeysWithValues: donor.stateDict().map { ($0.0, $0.1) })
        let qkv = "timesformer.encoder.layer.0.attention.attention.qkv.weight"
        #expect(state[qkv]?.scalars == given[qkv]?.scalars)
        #expect(state["timesformer.encoder.layer.0.temporal_attention.attention.qkv.weight"]?.scalars == given[qkv]?.scalars)
        #expect(state["timesformer.encoder.layer.0.temporal_dense.weight"]?.scalars.allSatisfy { $0 == 0 } == true)
        #expect(trainer.notes.contains { $0.hasPrefix("inflated") })

        let resnet = try TinyDataset.config().replacing(preset: "mc3_18_tiny", inflateFrom: file.path)
        #expect(throws: TrainingError.self) { try Trainer(config: resnet, data: try TrainingData.load(resnet.data)) }
    }
}

extension TrainerTests {
    /// `pretrained` weights saved for another clip length are resampled, not dropped.
    @Test func pretrainedTimeSformerOfAnotherLengthIsResampled() throws {
        var short = TimeSformer.Config()
        short.classes = 2; short.frames = 4; short.size = 64; short.patch = 8; short.dim = 96; short.depth = 4; short.heads = 3; short.mlpDim = 384
        var rng = Xoshiro(seed: 4)
        let donor = TimeSformer(short, using: &rng)
        let time = try #require(donor.stateDict().first { $0.0 == TimeSformer.timeKey }?.1)
        #expect(time.shape == [1, 4, 96])
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("short-\(UUID().uuidString).safetensors")
        try SafeTensors(donor.stateDict().map { (name: $0.0, tensor: $0.1) }).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        var config = try TinyDataset.config()
        config.model.preset = "timesformer_tiny"
        config.model.pretrained = file.path
        let trainer = try Trainer(config: config, data: try TrainingData.load(config.data))
        #expect(trainer.notes.count == 1 && !trainer.notes[0].contains("kept initialised"), "\(trainer.notes)")
        let loaded = try #require(trainer.model.stateDict().first { $0.0 == TimeSformer.timeKey }?.1)
        #expect(loaded.shape == [1, 8, 96])
        // Nearest resampling of 4 frames to 8 repeats each twice.
        let d = 96
        #expect(Array(loaded.scalars[0..<d]) == Array(time.scalars[0..<d]) && Array(loaded.scalars[d..<2 * d]) == Array(time.scalars[0..<d]))
        #expect(Array(loaded.scalars[7 * d..<8 * d]) == Array(time.scalars[3 * d..<4 * d]))
    }
}

extension JobConfig {
    func replacing(preset: String, inflateFrom: String) -> JobConfig {
        var c = self
        c.model.preset = preset
        c.model.inflateFrom = inflateFrom
        return c
    }
}

/// A train list with no entries is named as such, not as a class count of 0.
@Suite struct EmptyListTests {
    @Test func anEmptyTrainListIsNamed() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("motive-empty-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try "\n\n".write(to: folder.appendingPathComponent("train.txt"), atomically: true, encoding: .utf8)
        let list = folder.appendingPathComponent("train.txt").path
        let config = try ConfigLoader.parse("model: {preset: mc3_18_tiny}\ndata: {train_list: \(list)}\n")
        #expect(throws: TrainingError.emptyTrainList(list)) { _ = try TrainingData.load(config.data) }
    }
}
