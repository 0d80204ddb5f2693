import Foundation
import Testing
@testable import Training
@testable import Inference

@Suite struct ConfigTests {
    static let minimal = """
    model:
      preset: r2plus1d_18_tiny
      classes: 10
    data:
      train_list: train.txt
      val_list: val.txt
    """

    func folder() -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("motive-config-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test func defaultsFillWhatIsNotWritten() throws {
        let c = try ConfigLoader.parse(Self.minimal)
        #expect(c.model.preset == "r2plus1d_18_tiny" && c.model.classes == 10)
        #expect(c.optimizer.type == .sgd && c.optimizer.lr == 0.01 && c.schedule.policy == .cosine)
        #expect(c.data.batchSize == 8 && c.output.keepLast == 3 && c.eval.average == .prob)
    }

    @Test func fullConfigDecodesEveryKey() throws {
        let yaml = Self.minimal + """

          root: data
          batch_size: 4
          sampler: {clip_len: 8, frame_interval: 2, num_clips: 1}
        optimizer: {type: adamw, lr: 0.001, weight_decay: 0.05, no_decay_norm_bias: true}
        schedule: {epochs: 20, warmup_epochs: 2, policy: multistep, milestones: [10, 15], gamma: 0.1}
        train: {accumulate: 2, clip_norm: 40, label_smoothing: 0.1, mixup_alpha: 0.2, seed: 7, precise_bn_batches: 4}
        eval: {interval: 2, clips: 10, crops: 3, average: logit}
        output: {dir: runs/x, keep_last: 2, save_best_by: top1}
        """
        let c = try ConfigLoader.parse(yaml)
        #expect(c.data.sampler?.clipLength == 8 && c.data.root == "data" && c.data.batchSize == 4)
        #expect(c.optimizer.type == .adamw && c.optimizer.noDecayNormBias && c.schedule.milestones == [10, 15])
        #expect(c.train.clipNorm == 40 && c.train.seed == 7 && c.eval.clips == 10 && c.eval.average == .score)
        #expect(c.output.dir == "runs/x")
    }

    @Test func distributedKeysDecodeAndAreChecked() throws {
        let c = try ConfigLoader.parse(Self.minimal + "\ndistributed: {processes: 4, timeout: 60}")
        #expect(c.distributed.processes == 4 && c.distributed.timeout == 60)
        #expect(try ConfigLoader.parse(Self.minimal).distributed.timeout == 300)
        #expect(try ConfigLoader.parse(Self.minimal + "\ntrain: {sync_bn: true}").train.syncBN)
        for (yaml, key) in [("distributed: {processes: 0}", "distributed.processes"), ("distributed: {timeout: 0}", "distributed.timeout"),
                            ("distributed: {procesess: 2}", "distributed.procesess"),
                            ("train: {sync_bn: true, compute: data_parallel}", "train.sync_bn")] {
            #expect { try ConfigLoader.parse(Self.minimal + "\n" + yaml) } throws: { "\($0)".contains(key) }
        }
        // The fingerprint that processes compare: equal for equal configs, not for another lr.
        var other = c
        other.optimizer.lr = 0.5
        #expect(DistributedTraining.fingerprint(c) == DistributedTraining.fingerprint(try ConfigLoader.parse(Self.minimal + "\ndistributed: {processes: 4, timeout: 60}")))
        #expect(DistributedTraining.fingerprint(c) != DistributedTraining.fingerprint(other))
    }

    @Test func baseFilesMergeAndOverridesWin() throws {
        let dir = folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        try (Self.minimal + "\noptimizer: {lr: 0.1, momentum: 0.8}\n").write(to: dir.appendingPathComponent("base.yaml"), atomically: true, encoding: .utf8)
        try "_base_: base.yaml\noptimizer: {lr: 0.05}\nschedule: {epochs: 3}\n".write(to: dir.appendingPathComponent("child.yaml"), atomically: true, encoding: .utf8)
        let c = try ConfigLoader.load(dir.appendingPathComponent("child.yaml").path, overrides: ["train.seed=9", "data.batch_size=2"])
        #expect(c.optimizer.lr == 0.05 && c.optimizer.momentum == 0.8)    // deep merge: momentum kept from the base
        #expect(c.schedule.epochs == 3 && c.train.seed == 9 && c.data.batchSize == 2 && c.model.classes == 10)
    }

    /// `.inf` and `.nan` decode from YAML; validation refuses them by key instead of failing later.
    @Test func nonFiniteNumbersAreRefusedByKey() {
        let cases: [(String, String, String)] = [
            ("\noptimizer: {lr: .inf}", "optimizer.lr", "inf"),
            ("\nschedule: {gamma: .nan}", "schedule.gamma", "nan"),
            ("\noptimizer: {weight_decay: .inf}", "optimizer.weight_decay", "inf"),
            ("\ntrain: {clip_norm: -.inf}", "train.clip_norm", "-inf"),
            ("\n  train_pipeline: {transforms: [], normalization: {mean: [1, .nan, 3], std: [1, 1, 1]}}",
             "data.train_pipeline.normalization.mean.1", "nan"),
        ]
        for (extra, path, value) in cases {
            #expect(throws: ConfigError.invalidValue(path: path, value: value, expected: "a finite number"), "\(extra)") {
                try ConfigLoader.parse(Self.minimal + extra)
            }
        }
    }

    /// A few nested aliases stand for billions of nodes: refused by count, quickly, with a short message.
    @Test func aliasBombIsRefused() {
        var yaml = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
        for i in 1...9 { yaml += "a\(i): &a\(i) [" + Array(repeating: "*a\(i - 1)", count: 10).joined(separator: ", ") + "]\n" }
        yaml += Self.minimal.replacingOccurrences(of: "preset: r2plus1d_18_tiny", with: "preset: *a9")
        let start = Date()
        #expect(throws: ConfigError.invalidYAML(file: "<config>", reason: "the document has more than 100000 nodes once its aliases are expanded")) {
            try ConfigLoader.parse(yaml)
        }
        #expect(Date().timeIntervalSince(start) < 5)
        #expect(throws: ConfigError.invalidYAML(file: "<config>", reason: "the document is larger than 1 MB")) {
            try ConfigLoader.parse(Self.minimal + "\n# " + String(repeating: "x", count: 1 << 20))
        }
    }

    /// Values quoted in messages are cut to 200 characters.
    @Test func quotedValuesAreTruncated() throws {
        let name = String(repeating: "p", count: 900_000)
        do {
            _ = try ConfigLoader.parse(Self.minimal.replacingOccurrences(of: "r2plus1d_18_tiny", with: name))
            Issue.record("a 900 KB preset name was accepted")
        } catch {
            let message = "\(error)"
            #expect(message.count < 600, "\(message.count) characters")
            #expect(message.contains("(899800 more characters)"), "\(message.prefix(300))")
        }
    }

    /// Sizes that decode but cannot fit in memory are refused by key, before any run; each of
    /// these aborted the training process with "failed to allocate".
    @Test func sizesAreBounded() throws {
        let cases: [(String, String)] = [
            ("preset: r2plus1d_18_tiny\n  classes: 10", "preset: r2plus1d_18_tiny\n  classes: 100000000"),
            ("val_list: val.txt", "val_list: val.txt\n  sampler: {clip_len: 100000000}"),
            ("val_list: val.txt", "val_list: val.txt\n  sampler: {clip_len: 1, num_clips: 1000000000}"),
            ("val_list: val.txt", "val_list: val.txt\n  train_pipeline: {transforms: [{resize: {size: {width: 1000000, height: 1000000}}}], normalization: kinetics}"),
            ("val_list: val.txt", "val_list: val.txt\n  test_pipeline: {transforms: [{resize_short_side: {side: 1000000}}], normalization: kinetics}"),
            ("val_list: val.txt", "val_list: val.txt\neval: {clips: 1000000}"),
            ("val_list: val.txt", "val_list: val.txt\n  batch_size: 4096\n  train_pipeline: {transforms: [{resize_short_side: {side: 4096}}], normalization: kinetics}"),
            ("val_list: val.txt", "val_list: val.txt\n  test_pipeline: {transforms: [{resize_short_side: {side: 1024}}], normalization: kinetics}\neval: {clips: 100, crops: 10}"),
        ]
        let paths = ["model.classes", "data.sampler.clip_len", "data.sampler.num_clips", "data.train_pipeline", "data.test_pipeline",
                     "eval.clips", "data", "eval"]
        for ((from, to), path) in zip(cases, paths) {
            let yaml = Self.minimal.replacingOccurrences(of: from, with: to)
            do {
                _ = try ConfigLoader.parse(yaml)
                Issue.record("accepted: \(to)")
            } catch let ConfigError.invalidValue(found, _, _) {
                #expect(found == path, "\(to)")
            } catch {
                Issue.record("\(to): \(error)")
            }
        }
        // A large but sane config still passes: a 16-clip batch of 32 frames at 256 pixels.
        _ = try ConfigLoader.parse(Self.minimal + "\n  batch_size: 16\n  sampler: {clip_len: 32}\n"
                                   + "  test_pipeline: {transforms: [{resize_short_side: {side: 256}}, {centre_crop: {size: 224}}], normalization: kinetics}\neval: {clips: 10, crops: 3}")
    }

    @Test func errorsNameTheKey() throws {
        #expect(throws: ConfigError.unknownKey(path: "optimizer.lrr", suggestion: "optimizer.lr")) {
            try ConfigLoader.parse(Self.minimal + "\noptimizer: {lrr: 0.1}\n")
        }
        #expect(throws: ConfigError.unknownKey(path: "data.sampler.clip_length", suggestion: "data.sampler.clip_len")) {
            try ConfigLoader.parse(Self.minimal + "\n  sampler: {clip_length: 8}\n")
        }
        #expect(throws: ConfigError.unknownKey(path: "optimiser", suggestion: "optimizer")) {
            try ConfigLoader.parse(Self.minimal + "\noptimiser: {lr: 0.1}\n")
        }
        #expect(throws: ConfigError.typeMismatch(path: "data.batch_size", value: "eight", expected: "an integer")) {
            try ConfigLoader.parse(Self.minimal + "\n  batch_size: eight\n")
        }
        #expect(throws: ConfigError.typeMismatch(path: "optimizer.lr", value: "fast", expected: "a number")) {
            try ConfigLoader.parse(Self.minimal, overrides: ["optimizer.lr=fast"])
        }
        #expect(throws: ConfigError.invalidValue(path: "optimizer.lr", value: "-0.1", expected: "a positive number")) {
            try ConfigLoader.parse(Self.minimal, overrides: ["optimizer.lr=-0.1"])
        }
        #expect(throws: ConfigError.missingKey("model.preset")) {
            try ConfigLoader.parse("model: {classes: 3}\ndata: {train_list: t.txt}\n")
        }
        #expect(throws: ConfigError.badOverride("optimizer.lr")) { try ConfigLoader.parse(Self.minimal, overrides: ["optimizer.lr"]) }
        #expect(throws: ConfigError.unknownKey(path: "optimizer.rate", suggestion: nil)) {
            try ConfigLoader.parse(Self.minimal, overrides: ["optimizer.rate=3"])
        }
        #expect(throws: ConfigError.fileNotFound("/nonexistent/job.yaml")) { try ConfigLoader.load("/nonexistent/job.yaml") }
    }

    @Test func enumAndPresetMistakesExplainWhatIsExpected() {
        do {
            _ = try ConfigLoader.parse(Self.minimal + "\noptimizer: {type: adam}\n")
            Issue.record("accepted optimizer.type adam")
        } catch {
            guard case .invalidValue(let path, let value, _) = error else { Issue.record("\(error)"); return }
            #expect(path == "optimizer.type" && value == "adam")
        }
        #expect(throws: ConfigError.invalidValue(path: "model.preset", value: "r2plus1d18",
                                                 expected: "a zoo preset (did you mean r2plus1d_18?); `motive models` lists them")) {
            try ConfigLoader.parse(Self.minimal, overrides: ["model.preset=r2plus1d18"])
        }
    }

    @Test func baseCyclesAreCaught() throws {
        let dir = folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        try "_base_: b.yaml\n".write(to: dir.appendingPathComponent("a.yaml"), atomically: true, encoding: .utf8)
        try "_base_: a.yaml\n".write(to: dir.appendingPathComponent("b.yaml"), atomically: true, encoding: .utf8)
        #expect(throws: ConfigError.self) { try ConfigLoader.load(dir.appendingPathComponent("a.yaml").path) }
        do { _ = try ConfigLoader.load(dir.appendingPathComponent("a.yaml").path) } catch {
            if case .baseCycle(let chain) = error { #expect(chain.count == 3) } else { Issue.record("\(error)") }
        }
    }

    /// Data paths are relative to the file that writes them, also through `_base_`; `--set`
    /// paths to the current folder; `output.dir` stays as written.
    @Test func pathsAreAnchoredWhereTheyAreWritten() throws {
        let dir = folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let sub = dir.appendingPathComponent("jobs")
        try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: true)
        try "model: {preset: r2plus1d_18_tiny, classes: 10, pretrained: w.safetensors}\ndata: {train_list: train.txt, root: videos}\n"
            .write(to: dir.appendingPathComponent("base.yaml"), atomically: true, encoding: .utf8)
        try "_base_: ../base.yaml\ndata: {val_list: mine.txt}\noutput: {dir: runs/x}\n"
            .write(to: sub.appendingPathComponent("job.yaml"), atomically: true, encoding: .utf8)
        let c = try ConfigLoader.load(sub.appendingPathComponent("job.yaml").path, overrides: ["data.root=here"])
        let top = dir.standardizedFileURL.path
        #expect(c.data.trainList == top + "/train.txt")
        #expect(c.data.valList == top + "/jobs/mine.txt")
        #expect(c.model.pretrained == top + "/w.safetensors")
        #expect(c.data.root == FileManager.default.currentDirectoryPath + "/here")
        #expect(c.output.dir == "runs/x")
        let cleared = try ConfigLoader.load(sub.appendingPathComponent("job.yaml").path, overrides: ["data.val_list=null"])
        #expect(cleared.data.valList == nil)
    }

    @Test func trainerKeysAreChecked() {
        #expect(throws: ConfigError.invalidValue(path: "eval.crops", value: "4", expected: "1, 3 or 10")) {
            try ConfigLoader.parse(Self.minimal, overrides: ["eval.crops=4"])
        }
        #expect(throws: ConfigError.invalidValue(path: "output.save_best_by", value: "top2",
                                                 expected: "top1, top5, mean_class_accuracy")) {
            try ConfigLoader.parse(Self.minimal, overrides: ["output.save_best_by=top2"])
        }
        #expect(throws: ConfigError.self) { try ConfigLoader.parse(Self.minimal, overrides: ["train.compute=gpu"]) }
        #expect(throws: ConfigError.self) { try ConfigLoader.parse(Self.minimal, overrides: ["output.model_name=../x"]) }
        #expect(throws: ConfigError.typeMismatch(path: "train.precise_bn_batches", value: "many", expected: "an integer")) {
            try ConfigLoader.parse(Self.minimal, overrides: ["train.precise_bn_batches=many"])
        }
        // Configs that would otherwise fail only once training has started.
        #expect(throws: ConfigError.self) {
            try ConfigLoader.parse(Self.minimal + "\n  sampler: {clip_len: 8, num_clips: 2}")
        }
        let bigCrop = Self.minimal + "\n  test_pipeline: {transforms: [{resize_short_side: {side: 64}}, {centre_crop: {size: 96}}], normalization: kinetics}"
        #expect(throws: ConfigError.invalidValue(path: "data.test_pipeline", value: "centre_crop 96×96",
                                                 expected: "a crop no larger than the short-side 64 frames it receives")) {
            try ConfigLoader.parse(bigCrop)
        }
        #expect(throws: ConfigError.self) {
            try ConfigLoader.parse(Self.minimal + "\n  train_pipeline: {transforms: [{resize: {size: 64}}, {three_crop: {size: 64}}], normalization: kinetics}")
        }
        #expect((try? ConfigLoader.parse(Self.minimal + "\n  sampler: {clip_len: 1, num_clips: 4}")) != nil)
        let ok = try? ConfigLoader.parse(Self.minimal, overrides: ["train.compute=data_parallel", "output.model_name=motion-v2", "eval.average=logit"])
        #expect(ok?.train.compute == .dataParallel && ok?.output.modelName == "motion-v2" && ok?.eval.average == .score)
    }

    static let flow = """
    model:
      preset: tsn_r18_flow_tiny
    data:
      train_list: train.txt
      modality: flow
    """

    /// Flow models take flow data, with the preset's stack length and no colour steps.
    @Test func flowConfigsAreChecked() throws {
        let ok = try ConfigLoader.parse(Self.flow + "\n  sampler: {clip_len: 5, num_clips: 4}")
        #expect(ok.data.modality == .flow)
        #expect(throws: ConfigError.invalidValue(path: "data.modality", value: "rgb",
                                                 expected: "flow, as tsn_r18_flow_tiny takes stacks of optical flow")) {
            try ConfigLoader.parse(Self.flow, overrides: ["data.modality=rgb"])
        }
        #expect(throws: ConfigError.invalidValue(path: "data.modality", value: "flow",
                                                 expected: "rgb, as r2plus1d_18_tiny takes RGB frames")) {
            try ConfigLoader.parse(Self.minimal + "\n  modality: flow")
        }
        #expect(throws: ConfigError.self) { try ConfigLoader.parse(Self.flow, overrides: ["model.preset=two_stream_tsn_tiny"]) }
        #expect(throws: ConfigError.invalidValue(path: "data.sampler.clip_len", value: "3",
                                                 expected: "5: tsn_r18_flow_tiny takes 10 channels, 5 flow frames of x and y")) {
            try ConfigLoader.parse(Self.flow + "\n  sampler: {clip_len: 3, num_clips: 4}")
        }
        #expect(throws: ConfigError.invalidValue(path: "data.train_pipeline", value: "color_jitter",
                                                 expected: "no colour steps on optical flow (its bytes are displacements)")) {
            try ConfigLoader.parse(Self.flow + "\n  train_pipeline: {transforms: [{color_jitter: {brightness: 0.2}}], normalization: flow}")
        }
    }
}
