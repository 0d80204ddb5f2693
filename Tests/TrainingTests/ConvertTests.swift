import Engine
import Foundation
import TensorIO
import Testing
import Training
@testable import Inference
import Zoo

/// What `motive convert` and `motive predict --weights` call (`Checkpoint.convert`,
/// `Predictor.load`): a torch.save checkpoint gives the same logits loaded directly, converted,
/// or as safetensors, and those of PyTorch (fixtures from Tests/Fixtures/make_keymap_fixtures.py).
@Suite(.serialized) struct ConvertTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("ZooTests/Fixtures/keymaps")

    let folder: URL = {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("motive-convert-\(UUID().uuidString.prefix(8))")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }()

    /// `motive predict --model MODEL [--weights W --from LAYOUT] CLIP.npy`: the clip's logits.
    func logits(_ model: String, weights: String? = nil, from layout: String = "motive", clip: URL) throws -> [Float] {
        let source: PredictorSource = FileManager.default.fileExists(atPath: model)
            ? .checkpoint(model)
            : .preset(name: model, weights: weights, layout: try KeyMaps.layout(named: layout), classes: nil, strict: true)
        let model = try Predictor.load(source).predictor.model
        let x = try NPY.read(clip)
        return GradMode.noGrad { model(x) }.scalars
    }

    /// `motive convert INPUT OUTPUT --from LAYOUT --model PRESET [--classes N] [--strict false]`.
    @discardableResult
    func convert(_ input: String, _ output: String, from layout: String, model: String, classes: Int? = nil,
                 strict: Bool = true) throws -> ForeignWeights {
        try Checkpoint.convert(readStateDict(URL(fileURLWithPath: input)), layout: KeyMaps.layout(named: layout),
                               preset: ModelZoo.preset(named: model), classes: classes, classNames: nil, strict: strict,
                               to: URL(fileURLWithPath: output))
    }

    /// x[i] = sin(0.05·i), as the fixtures' inputs.
    func sinClip(_ shape: [Int]) throws -> URL {
        let url = folder.appendingPathComponent("clip-\(shape.map(String.init).joined(separator: "x")).npy")
        try NPY.write(Tensor((0..<shape.reduce(1, *)).map { Float(sin(0.05 * Double($0))) }, shape: shape), to: url)
        return url
    }

    struct Reference: Decodable {
        let keys: [String]
        let shapes: [[Int]]
        let logits: [Float]?
    }

    func reference(_ name: String) throws -> Reference {
        try JSONDecoder().decode(Reference.self, from: Data(contentsOf: Self.fixtures.appendingPathComponent(name + ".json")))
    }

    @Test func torchSaveWeightsGiveTheSameLogitsLoadedConvertedOrAsSafetensors() throws {
        defer { try? FileManager.default.removeItem(at: folder) }
        let pth = Self.fixtures.appendingPathComponent("torchvision_mc3_18_tiny.pth").path
        let clip = try sinClip([1, 3, 8, 64, 64])

        let direct = try logits("mc3_18_tiny", weights: pth, clip: clip)

        let converted = folder.appendingPathComponent("mc3.safetensors")
        #expect(try convert(pth, converted.path, from: "torchvision", model: "mc3_18_tiny").classes == 10)
        let viaCheckpoint = try logits(converted.path, clip: clip)

        // The same state dict as plain safetensors, in our keys.
        let checkpoint = try Checkpoint.read(converted)
        #expect(checkpoint.info.preset == "mc3_18_tiny" && checkpoint.info.classNames.count == 10)
        let plain = folder.appendingPathComponent("plain.safetensors")
        try SafeTensors(checkpoint.model.sorted { $0.key < $1.key }.map { (name: $0.key, tensor: $0.value) }).write(to: plain)
        let viaSafetensors = try logits("mc3_18_tiny", weights: plain.path, clip: clip)

        #expect(direct.count == 10)
        #expect(direct == viaCheckpoint)
        #expect(direct == viaSafetensors)
        let expected = try #require(try reference("torchvision_mc3_18_tiny").logits)
        let scale = expected.map(abs).max() ?? 1
        for (i, (a, e)) in zip(direct, expected).enumerated() where abs(a - e) > 1e-3 * max(abs(e), scale * 1e-2) {
            Issue.record("logit \(i) is \(a), PyTorch's \(e)")
        }
    }

    /// An MMAction2 state dict (the real key list of its SlowOnly at ¼ width) converts to the
    /// checkpoint that `predict --weights --from mmaction2` loads.
    @Test func foreignLayoutConvertsAsItLoads() throws {
        defer { try? FileManager.default.removeItem(at: folder) }
        let layout = try reference("mmaction2_slow_r50_tiny")
        var entries: [(name: String, tensor: Tensor)] = []
        for (k, (key, shape)) in zip(layout.keys, layout.shapes).enumerated() {
            let n = shape.reduce(1, *)
            let values: [Float] = key.hasSuffix("running_var") ? Array(repeating: 1.5, count: n)
                : key.hasSuffix("num_batches_tracked") ? Array(repeating: 0, count: n)
                : (0..<n).map { Float(sin(0.37 * Double($0) + Double(k))) * (shape.count > 1 ? Float(1.5 / Double(n / shape[0])).squareRoot() : 0.1) }
            entries.append((key, Tensor(values, shape: shape)))
        }
        let weights = folder.appendingPathComponent("slowonly.safetensors")
        try SafeTensors(entries).write(to: weights)
        let clip = try sinClip([1, 3, 8, 64, 64])

        let loaded = try logits("slow_r50_tiny", weights: weights.path, from: "mmaction2", clip: clip)
        let converted = folder.appendingPathComponent("slow.safetensors")
        try convert(weights.path, converted.path, from: "mmaction2", model: "slow_r50_tiny")
        #expect(try logits(converted.path, clip: clip) == loaded)
        #expect(loaded.count == 10 && loaded.contains { $0 != 0 })
    }

    @Test func badInputIsRefusedByName() throws {
        defer { try? FileManager.default.removeItem(at: folder) }
        let pth = Self.fixtures.appendingPathComponent("torchvision_mc3_18_tiny.pth").path
        let out = folder.appendingPathComponent("out.safetensors").path
        func refused(_ message: String, _ body: () throws -> Void) {
            do {
                try body()
                Issue.record("succeeded; expected an error naming \(message)")
            } catch {
                #expect("\(error)".contains(message), "\(error)")
            }
        }
        refused("unknown checkpoint layout \"caffe2\"") { try convert(pth, out, from: "caffe2", model: "mc3_18_tiny") }
        refused("unknown model \"mc3_19_tiny\"") { try convert(pth, out, from: "torchvision", model: "mc3_19_tiny") }
        refused("no mmaction2 key map for mc3_18_tiny") { try convert(pth, out, from: "mmaction2", model: "mc3_18_tiny") }
        // Every key of the torchvision file is foreign to PySlowFast's layout: the first 20 are
        // named, and the rest counted.
        refused("\n  fc.weight") { try convert(pth, out, from: "pyslowfast", model: "slow_r50_tiny") }
        refused("\n  … and 102 more") { try convert(pth, out, from: "pyslowfast", model: "slow_r50_tiny") }
        // r3d's layers 2–4 have 3×3×3 kernels where mc3's have 1×3×3.
        refused("shape mismatch layer2.0.conv1.0.weight: model [32, 16, 3, 3, 3], weights [32, 16, 1, 3, 3]") {
            try convert(pth, out, from: "torchvision", model: "r3d_18_tiny")
        }
        refused("shape mismatch fc.weight: model [7, 128], weights [10, 128]") {
            try convert(pth, out, from: "torchvision", model: "mc3_18_tiny", classes: 7)
        }
        refused("absent.pth") { try convert(folder.appendingPathComponent("absent.pth").path, out, from: "torchvision", model: "mc3_18_tiny") }
        refused("no tsm key map for mc3_18_tiny") { _ = try logits("mc3_18_tiny", weights: pth, from: "tsm", clip: folder.appendingPathComponent("x.npy")) }
        #expect(!FileManager.default.fileExists(atPath: out))

        // Not strict: the classifier of another size stays as initialised, the rest loads.
        let lenient = try convert(pth, out, from: "torchvision", model: "mc3_18_tiny", classes: 7, strict: false)
        #expect(lenient.warnings.contains { $0.contains("not loaded: shape mismatch fc.weight") })
        #expect(try Checkpoint.read(URL(fileURLWithPath: out)).info.classNames.count == 7)
    }
}
