import Engine
import Foundation
import NN
import TensorIO
import Testing
import Zoo
@testable import Training
@testable import Inference

@Suite struct CheckpointTests {
    func url() -> URL { FileManager.default.temporaryDirectory.appendingPathComponent("motive-ckpt-\(UUID().uuidString).safetensors") }

    @Test func selfContainedRoundTrip() throws {
        let preset = try ModelZoo.preset(named: "c3d_tiny")
        let model = preset.build(classes: 3, seed: 5)
        let optimizer = SGD(parameters: model.namedParameters(), learningRate: 0.1, momentum: 0.9)
        // One step so the optimizer has state worth saving.
        let x = Tensor.uniform(preset.input.shape)
        crossEntropy(model(x), targets: [1]).backward()
        optimizer.step()
        let info = CheckpointInfo(preset: "c3d_tiny", classNames: ["a", "b", "c"], input: preset.input, epoch: 2, step: 40, bestTop1: 0.5)
        let file = url()
        defer { try? FileManager.default.removeItem(at: file) }
        try Checkpoint.save(model: model, optimizer: optimizer, info: info, to: file)

        let (restored, readInfo) = try Checkpoint.loadModel(file)
        #expect(readInfo == info)
        model.eval()
        let (a, b) = GradMode.noGrad { (model(x), restored(x)) }
        #expect(a.scalars == b.scalars)
        let (_, _, optimizerState) = try Checkpoint.read(file)
        let again = SGD(parameters: restored.namedParameters(), learningRate: 0.1, momentum: 0.9)
        try again.loadStateDict(optimizerState)
        #expect(again.stateDict().map(\.0) == optimizer.stateDict().map(\.0))
        for ((_, t1), (_, t2)) in zip(again.stateDict(), optimizer.stateDict()) { #expect(t1.scalars == t2.scalars) }
    }

    /// An exported checkpoint has the same model and description, and no optimizer state.
    @Test func exportDropsTheOptimizer() throws {
        let preset = try ModelZoo.preset(named: "mc3_18_tiny")
        let model = preset.build(classes: 2, seed: 1)
        let optimizer = AdamW(parameters: model.namedParameters(), learningRate: 0.01)
        let x = Tensor.uniform(preset.input.shape)
        crossEntropy(model(x), targets: [1]).backward()
        optimizer.step()
        let info = CheckpointInfo(preset: "mc3_18_tiny", classNames: ["a", "b"], input: preset.input, epoch: 1)
        let full = url(), slim = url()
        defer { try? FileManager.default.removeItem(at: full); try? FileManager.default.removeItem(at: slim) }
        try Checkpoint.save(model: model, optimizer: optimizer, info: info, to: full)
        try Checkpoint.export(full, to: slim)
        let (readInfo, state, optimizerState) = try Checkpoint.read(slim)
        #expect(readInfo == info && optimizerState.isEmpty && state.count == model.stateDict().count)
        let size = { (u: URL) in (try FileManager.default.attributesOfItem(atPath: u.path)[.size] as? Int) ?? 0 }
        #expect(try size(slim) * 2 < size(full))
        let (restored, _) = try Checkpoint.loadModel(slim)
        model.eval()
        #expect(GradMode.noGrad { model(x).scalars == restored(x).scalars })
    }

    /// Class counts from a checkpoint, a flag or a list are bounded before a classifier is built
    /// for them (a count of 1e11 used to abort with "failed to allocate").
    @Test func classCountsAreBoundedBeforeBuilding() throws {
        let preset = try ModelZoo.preset(named: "mc3_18_tiny")
        let file = url()
        defer { try? FileManager.default.removeItem(at: file) }
        let names = (0...ModelPreset.maxClasses).map { "c\($0)" }
        try Checkpoint.save(model: preset.build(classes: 2), info: CheckpointInfo(preset: preset.name, classNames: names, input: preset.input), to: file)
        #expect { _ = try Checkpoint.loadModel(file) } throws: { "\($0)".contains("a model has 1…100000 classes, not 100001") }
        for classes in [0, 100_000_000_000] {
            #expect(throws: ZooError.classCount(classes)) { _ = try Predictor.load(.preset(name: "mc3_18_tiny", weights: nil, layout: .motive, classes: classes, strict: true)) }
        }
        // A list label past the bound is refused by TrainingData, before any count is taken from it.
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("motive-labels-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try "a.mp4 \(Int.max)\n".write(to: folder.appendingPathComponent("train.txt"), atomically: true, encoding: .utf8)
        let config = try ConfigLoader.parse("model: {preset: mc3_18_tiny}\ndata: {train_list: \(folder.path)/train.txt}\n")
        #expect(throws: TrainingError.labelOutOfRange(label: Int.max, classes: ModelPreset.maxClasses)) { _ = try TrainingData.load(config.data) }
    }

    @Test func foreignFilesAreRefused() throws {
        let file = url()
        defer { try? FileManager.default.removeItem(at: file) }
        try SafeTensors([(name: "w", tensor: Tensor.zeros([2]))]).write(to: file)
        #expect(throws: CheckpointError.self) { try Checkpoint.read(file) }
        try Data("not a checkpoint".utf8).write(to: file)
        #expect(throws: CheckpointError.self) { try Checkpoint.read(file) }
    }

    /// A save that dies half-way (the writer process is killed while the new file is being
    /// written) leaves the old checkpoint whole.
    @Test func interruptedSaveKeepsThePreviousCheckpoint() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("motive-ckpt-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("last.safetensors")
        let preset = try ModelZoo.preset(named: "c3d_tiny")
        let info = CheckpointInfo(preset: "c3d_tiny", classNames: ["a", "b"], input: preset.input)
        try Checkpoint.save(model: preset.build(classes: 2), info: info, to: file)
        let before = try Data(contentsOf: file)
        await #expect(processExitsWith: .signal(SIGKILL)) { [dir = dir.path as String] in
            let target = URL(fileURLWithPath: dir).appendingPathComponent("last.safetensors")
            Thread.detachNewThread {
                let big = Linear(4096, 8192)
                try? Checkpoint.save(model: big, info: CheckpointInfo(preset: "c3d_tiny", classNames: ["a"],
                                     input: try! ModelZoo.preset(named: "c3d_tiny").input), to: target)
            }
            // Kill this process once the new file is half written.
            while true {
                let partial = (try? FileManager.default.contentsOfDirectory(atPath: dir))?.first { $0.hasSuffix(".tmp") }
                if let partial, let size = try? FileManager.default.attributesOfItem(atPath: dir + "/" + partial)[.size] as? Int,
                   size > 1 << 20 {
                    kill(getpid(), SIGKILL)
                }
                usleep(200)
            }
        }
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".tmp") }
        #expect(!leftovers.isEmpty, "the writer was not interrupted mid-save")
        #expect(try Data(contentsOf: file) == before)
        #expect(try Checkpoint.read(file).info == info)
    }
}
