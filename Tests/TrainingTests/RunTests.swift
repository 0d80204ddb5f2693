import Engine
import Foundation
import NN
import Testing
import Yams
@testable import Training
@testable import Inference

@Suite(.serialized) struct RunTests {
    func scratch() -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("motive-run-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    func weights(_ model: Module) -> [[Float]] { model.stateDict().map(\.1.scalars) }

    /// Stopping after the first batch of an epoch, saving, and resuming in a new trainer gives
    /// the weights of an uninterrupted run, batch for batch.
    @Test func interruptMidEpochResumesExactly() throws {
        var config = try TinyDataset.config()
        config.optimizer.type = .sgd
        config.model.dropout = 0.3                       // dropout masks must replay too
        let data = try TrainingData.load(config.data)
        let straight = try Trainer(config: config, data: data)
        try straight.trainEpoch()
        try straight.trainEpoch()

        let first = try Trainer(config: config, data: data)
        first.shouldStop = { true }
        let partial = try first.trainEpoch()
        #expect(!partial.complete && first.epoch == 0 && first.batchInEpoch == 1 && partial.clips == 4)
        let file = scratch().appendingPathComponent("last.safetensors")
        try first.save(to: file)

        let resumed = try Trainer(config: config, data: data)
        try resumed.resume(from: file)
        #expect(resumed.batchInEpoch == 1 && resumed.step == 1)
        let rest = try resumed.trainEpoch()
        #expect(rest.complete && rest.clips == 4 && resumed.epoch == 1)
        try resumed.trainEpoch()
        #expect(weights(resumed.model) == weights(straight.model))
    }

    /// A whole run: every file of the run directory, pruning to `keep_last`, best and last links,
    /// and a resolved config that loads back to the same job.
    @Test func runDirectoryHoldsEverything() throws {
        let dir = scratch()
        let train = TinyDataset.root.appendingPathComponent("train.txt").path
        var config = try TinyDataset.config("""

        eval: {interval: 1}
        output: {keep_last: 1}
        """)
        config.data.valList = train
        config.schedule.epochs = 2
        let run = try TrainingRun(config: config, directory: dir)
        var events: [String] = []
        try run.run { event in
            switch event {
            case .epoch(let r): events.append("epoch \(r.epoch)")
            case .finished: events.append("finished")
            default: break
            }
        }
        #expect(events == ["epoch 1", "epoch 2", "finished"])
        let names = Set(try FileManager.default.contentsOfDirectory(atPath: dir.path))
        for name in ["config.yaml", "log.jsonl", "metrics.csv", "curves.svg", "epoch_0002.safetensors", "last.safetensors",
                     "best.safetensors", "eval"] {
            #expect(names.contains(name), "missing \(name)")
        }
        #expect(!names.contains("epoch_0001.safetensors"), "keep_last 1 keeps one epoch file")
        let eval = try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("eval").path)
        #expect(Set(eval) == ["metrics.json", "confusion.csv", "confusion.svg", "predictions.json"])

        let csv = try String(contentsOf: dir.appendingPathComponent("metrics.csv"), encoding: .utf8).split(separator: "\n")
        #expect(csv.count == 3 && csv[0].hasPrefix("epoch,train_loss,train_top1"))
        #expect(TrainingRun.readHistory(directory: dir).map(\.epoch) == [1, 2])
        #expect(run.history.allSatisfy { $0.valTop1 != nil })
        let svg = try String(contentsOf: dir.appendingPathComponent("curves.svg"), encoding: .utf8)
        #expect(svg.contains("train loss") && svg.contains("val top-1"))

        let reloaded = try ConfigLoader.load(dir.appendingPathComponent("config.yaml").path)
        #expect(reloaded == config)
        let (info, _, _) = try Checkpoint.read(dir.appendingPathComponent("last.safetensors"))
        #expect(info.epoch == 2 && info.classNames == ["translate_left", "translate_right"] && info.config.flatMap { try? JSONDecoder().decode(JobConfig.self, from: JSONEncoder().encode($0)) } == config)
    }

    /// An epoch's record (log.jsonl, metrics.csv) and its best link are on disk before its
    /// checkpoint becomes `last.safetensors`, whose metadata a resume trusts: a run killed just
    /// after that step loses nothing. Here the step itself fails (`last.safetensors` is a folder).
    @Test func epochIsRecordedBeforeItBecomesLast() throws {
        let dir = scratch()
        let blocker = dir.appendingPathComponent("last.safetensors")
        try FileManager.default.createDirectory(at: blocker.appendingPathComponent("x"), withIntermediateDirectories: true)
        var config = try TinyDataset.config("\neval: {interval: 1}")
        config.data.valList = TinyDataset.root.appendingPathComponent("train.txt").path
        config.schedule.epochs = 2
        let run = try TrainingRun(config: config, directory: dir)
        #expect(throws: (any Error).self) { try run.run() }
        #expect(TrainingRun.readHistory(directory: dir).map(\.epoch) == [1])
        let csv = try String(contentsOf: dir.appendingPathComponent("metrics.csv"), encoding: .utf8)
        #expect(csv.split(separator: "\n").count == 2)
        let (info, _, _) = try Checkpoint.read(dir.appendingPathComponent("best.safetensors"))
        #expect(info.epoch == 1)
    }

    /// A stop request during a run saves `last.safetensors` and says how to resume; resuming
    /// the directory finishes the job with the same weights as a run that never stopped.
    @Test func stoppedRunResumesFromItsDirectory() throws {
        var config = try TinyDataset.config()
        config.schedule.epochs = 2
        config.optimizer.type = .sgd
        let straight = try TrainingRun(config: config, directory: scratch())
        try straight.run()

        let dir = scratch()
        let first = try TrainingRun(config: config, directory: dir)
        first.stopFlag.set()
        var hint = ""
        try first.run { if case .interrupted(_, _, let resume) = $0 { hint = resume } }
        #expect(hint.contains("--resume \(dir.path)"))
        #expect(first.trainer.epoch == 0 && first.trainer.batchInEpoch == 1)

        let second = try TrainingRun(config: config, resume: dir)
        #expect(second.directory == dir.standardizedFileURL)
        try second.run()
        #expect(second.trainer.epoch == 2)
        #expect(weights(second.trainer.model) == weights(straight.trainer.model))
    }

    /// The same seed and config give the same weights; another seed does not.
    @Test func sameSeedSameWeights() throws {
        var config = try TinyDataset.config()
        config.model.dropout = 0.5
        config.train.mixupAlpha = 0.4
        let data = try TrainingData.load(config.data)
        let a = try Trainer(config: config, data: data), b = try Trainer(config: config, data: data)
        try a.trainEpoch()
        try b.trainEpoch()
        #expect(weights(a.model) == weights(b.model))
        config.train.seed = 6
        let c = try Trainer(config: config, data: data)
        try c.trainEpoch()
        #expect(weights(c.model) != weights(a.model))
    }

    /// Gradient accumulation over two batches of 4 steps once per 8 clips.
    @Test func accumulationStepsOncePerGroup() throws {
        var config = try TinyDataset.config()
        config.train.accumulate = 2
        config.optimizer.type = .sgd
        let data = try TrainingData.load(config.data)
        let trainer = try Trainer(config: config, data: data)
        let before = trainer.model.namedParameters().map(\.1.scalars)
        var afterFirst: [[Float]] = []
        let model = trainer.model                       // not `trainer`: the trainer holding a closure that holds it would never be freed
        trainer.onStep = { p in if p.batch == 1 { afterFirst = model.namedParameters().map(\.1.scalars) } }
        try trainer.trainEpoch()
        #expect(trainer.step == 2)
        #expect(afterFirst == before, "no update after the first of two accumulated batches")
        #expect(trainer.model.namedParameters().map(\.1.scalars) != before)
    }

    /// Precise BN replaces the running statistics by those of the current weights: whatever
    /// they held before, the result is the same.
    @Test func preciseBatchNormForgetsOldStatistics() throws {
        let config = try TinyDataset.config()
        let data = try TrainingData.load(config.data)
        let trainer = try Trainer(config: config, data: data)
        let norms = trainer.model.namedModules().compactMap { $0.1 as? BatchNorm }
        #expect(!norms.isEmpty)
        for bn in norms { bn.runningMean?.fill(7); bn.runningVar?.fill(3) }
        let params = trainer.model.namedParameters().map(\.1.scalars)
        try trainer.recalibrateBatchNorm(batches: 2)
        let first = norms.map { $0.runningMean!.scalars + $0.runningVar!.scalars }
        for bn in norms { bn.runningMean?.fill(-2); bn.runningVar?.fill(9) }
        try trainer.recalibrateBatchNorm(batches: 2)
        #expect(norms.map { $0.runningMean!.scalars + $0.runningVar!.scalars } == first)
        #expect(first[0].contains { $0 != 7 && $0 != 3 })
        #expect(norms.allSatisfy { $0.momentum == 0.1 })
        // Only buffers changed.
        #expect(trainer.model.namedParameters().map(\.1.scalars) == params)
    }

    /// Data-parallel replicas train deterministically and keep every replica equal to the primary.
    @Test func dataParallelReplicasStayInStep() throws {
        var config = try TinyDataset.config()
        config.train.compute = .dataParallel
        config.model.dropout = 0.3
        let data = try TrainingData.load(config.data)
        Parallel.setWorkers(2)
        let a = try Trainer(config: config, data: data), b = try Trainer(config: config, data: data)
        #expect(a.replicas?.models.count == 2)
        var losses: [Double] = []
        for _ in 0..<3 { losses.append(try a.trainEpoch().loss) }
        for _ in 0..<3 { try b.trainEpoch() }
        #expect(weights(a.model) == weights(b.model))
        #expect(weights(a.replicas!.models[1]) == weights(a.model))
        #expect(losses.last! < losses.first!)
    }

    @Test func localReducerSumsInOrder() {
        let g0 = Tensor([1, 2, 3], shape: [3]), g1 = Tensor([10, 20, 30], shape: [3]), g2 = Tensor([100, 200, 300], shape: [3])
        LocalSumReducer().reduce([[g0, nil], [g1, Tensor([5], shape: [1])], [g2, nil]])
        #expect(g0.scalars == [111, 222, 333])
        #expect(g1.scalars == [10, 20, 30])
    }

    @Test func seriallyRunsOnOneWorker() {
        let outside = Parallel.workers
        let inside = Parallel.serially { Parallel.workers }
        #expect(inside == 1)
        #expect(Parallel.workers == outside)
    }

    @Test func seededDropoutReplays() {
        let x = Tensor.ones([1000])
        let a = GlobalRandom.withSeed(9) { x.dropout(p: 0.5, training: true).scalars }
        let b = GlobalRandom.withSeed(9) { x.dropout(p: 0.5, training: true).scalars }
        let c = GlobalRandom.withSeed(10) { x.dropout(p: 0.5, training: true).scalars }
        #expect(a == b && a != c)
    }

    @Test func atomicFilesReplaceWhole() throws {
        let dir = scratch()
        let file = dir.appendingPathComponent("a.txt"), alias = dir.appendingPathComponent("b.txt")
        try AtomicFile.write(Data("one".utf8), to: file)
        try AtomicFile.write(Data("two".utf8), to: file)
        try AtomicFile.link(file, as: alias)
        #expect(try String(contentsOf: alias, encoding: .utf8) == "two")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["a.txt", "b.txt"])
        #expect(throws: AtomicFileError.self) { try AtomicFile.write(Data(), to: dir.appendingPathComponent("no/such/dir")) }
    }

    /// A loss that turns NaN stops the run, naming the epoch and step; the checkpoint of the
    /// last good epoch stays as it was.
    @Test func divergenceStopsAndKeepsTheLastCheckpoint() throws {
        let dir = scratch()
        var config = try TinyDataset.config()
        config.schedule.epochs = 2
        config.optimizer.type = .sgd
        let run = try TrainingRun(config: config, directory: dir)
        // After the first epoch, blow the weights up so that the next forward pass overflows.
        var poisoned = false
        do {
            try run.run { event in
                if case .checkpoint = event, !poisoned {
                    poisoned = true
                    for (_, p) in run.trainer.model.namedParameters() { p.fill(.infinity) }
                }
            }
            Issue.record("a NaN loss did not stop the run")
        } catch let error as TrainingError {
            guard case .diverged(let epoch, let step, _) = error else { Issue.record("\(error)"); return }
            #expect(epoch == 1 && step == 2)
            #expect("\(error)".contains("step 2") && "\(error)".contains("epoch 2"))
        }
        let (info, state, _) = try Checkpoint.read(dir.appendingPathComponent("last.safetensors"))
        #expect(info.epoch == 1 && state.values.allSatisfy { $0.scalars.allSatisfy(\.isFinite) })
        let log = try String(contentsOf: dir.appendingPathComponent("log.jsonl"), encoding: .utf8)
        #expect(log.contains("\"event\":\"error\""))
    }
}
