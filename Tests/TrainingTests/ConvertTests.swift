import Engine
import Foundation
import TensorIO
import Testing
import Training
@testable import Inference

/// `motive convert` and `motive predict --weights` end to end, through the real binary: a
/// torch.save checkpoint gives the same logits loaded directly, converted, or as safetensors,
/// and those of PyTorch (fixtures from Tests/Fixtures/make_keymap_fixtures.py).
@Suite(.serialized) struct ConvertTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("ZooTests/Fixtures/keymaps")

    /// The `motive` executable built next to this test bundle, or `MOTIVE_BINARY`.
    static let motive: URL? = {
        if let path = ProcessInfo.processInfo.environment["MOTIVE_BINARY"] { return URL(fileURLWithPath: path) }
        for start in [URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath(), Bundle.main.bundleURL] {
            var folder = start.deletingLastPathComponent()
            for _ in 0..<4 {
                let candidate = folder.appendingPathComponent("motive")
                var isDirectory: ObjCBool = false
                if FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDirectory), !isDirectory.boolValue { return candidate }
                folder.deleteLastPathComponent()
            }
        }
        return nil
    }()

    struct Run {
        let status: Int32
        let output: String
        let errors: String
    }

    let folder: URL = {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("motive-convert-\(UUID().uuidString.prefix(8))")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }()

    func motive(_ arguments: [String]) throws -> Run {
        let binary = try #require(Self.motive, "no motive executable next to the tests (set MOTIVE_BINARY)")
        let out = folder.appendingPathComponent("stdout-\(UUID().uuidString.prefix(6))"), err = out.appendingPathExtension("err")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        try process.run()
        process.waitUntilExit()
        return Run(status: process.terminationStatus, output: try String(contentsOf: out, encoding: .utf8),
                   errors: try String(contentsOf: err, encoding: .utf8))
    }

    /// The logits `motive predict` prints for one .npy clip.
    func logits(_ arguments: [String]) throws -> [Float] {
        let run = try motive(["predict"] + arguments)
        #expect(run.status == 0, "predict \(arguments): \(run.errors)")
        struct Output: Decodable { let logits: [[Float]] }
        return try JSONDecoder().decode(Output.self, from: Data(run.output.utf8)).logits.flatMap { $0 }
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
        let clip = try sinClip([1, 3, 8, 64, 64]).path

        let direct = try logits(["--model", "mc3_18_tiny", "--weights", pth, clip])

        let converted = folder.appendingPathComponent("mc3.safetensors")
        let run = try motive(["convert", pth, converted.path, "--from", "torchvision", "--model", "mc3_18_tiny"])
        #expect(run.status == 0, "\(run.errors)")
        #expect(run.output.contains("mc3_18_tiny, 10 classes"))
        let viaCheckpoint = try logits(["--model", converted.path, clip])

        // The same state dict as plain safetensors, in our keys.
        let checkpoint = try Checkpoint.read(converted)
        #expect(checkpoint.info.preset == "mc3_18_tiny" && checkpoint.info.classNames.count == 10)
        let plain = folder.appendingPathComponent("plain.safetensors")
        try SafeTensors(checkpoint.model.sorted { $0.key < $1.key }.map { (name: $0.key, tensor: $0.value) }).write(to: plain)
        let viaSafetensors = try logits(["--model", "mc3_18_tiny", "--weights", plain.path, clip])

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
        let clip = try sinClip([1, 3, 8, 64, 64]).path

        let loaded = try logits(["--model", "slow_r50_tiny", "--weights", weights.path, "--from", "mmaction2", clip])
        let converted = folder.appendingPathComponent("slow.safetensors")
        let run = try motive(["convert", weights.path, converted.path, "--from", "mmaction2", "--model", "slow_r50_tiny"])
        #expect(run.status == 0, "\(run.errors)")
        #expect(try logits(["--model", converted.path, clip]) == loaded)
        #expect(loaded.count == 10 && loaded.contains { $0 != 0 })
    }

    @Test func badInputIsRefusedByName() throws {
        defer { try? FileManager.default.removeItem(at: folder) }
        let pth = Self.fixtures.appendingPathComponent("torchvision_mc3_18_tiny.pth").path
        let out = folder.appendingPathComponent("out.safetensors").path
        func refused(_ arguments: [String], _ message: String) throws {
            let run = try motive(arguments)
            #expect(run.status != 0, "\(arguments) succeeded")
            #expect(run.errors.contains(message), "\(arguments): \(run.errors)")
        }
        try refused(["convert", pth, out, "--from", "caffe2", "--model", "mc3_18_tiny"], "unknown checkpoint layout \"caffe2\"")
        try refused(["convert", pth, out, "--from", "torchvision", "--model", "mc3_19_tiny"], "unknown model \"mc3_19_tiny\"")
        try refused(["convert", pth, out, "--from", "mmaction2", "--model", "mc3_18_tiny"], "no mmaction2 key map for mc3_18_tiny")
        // Every key of the torchvision file is foreign to PySlowFast's layout, and each is named.
        try refused(["convert", pth, out, "--from", "pyslowfast", "--model", "slow_r50_tiny"], "\n  layer4.1.conv2.0.weight")
        // r3d's layers 2–4 have 3×3×3 kernels where mc3's have 1×3×3.
        try refused(["convert", pth, out, "--from", "torchvision", "--model", "r3d_18_tiny"],
                    "shape mismatch layer2.0.conv1.0.weight: model [32, 16, 3, 3, 3], weights [32, 16, 1, 3, 3]")
        try refused(["convert", pth, out, "--from", "torchvision", "--model", "mc3_18_tiny", "--classes", "7"],
                    "shape mismatch fc.weight: model [7, 128], weights [10, 128]")
        try refused(["convert", folder.appendingPathComponent("absent.pth").path, out, "--from", "torchvision", "--model", "mc3_18_tiny"],
                    "absent.pth")
        try refused(["predict", "--model", "mc3_18_tiny", "--weights", pth, "--from", "tsm", "x.npy"], "no tsm key map for mc3_18_tiny")
        #expect(!FileManager.default.fileExists(atPath: out))

        // Not strict: the classifier of another size stays as initialised, the rest loads.
        let lenient = try motive(["convert", pth, out, "--from", "torchvision", "--model", "mc3_18_tiny", "--classes", "7", "--strict", "false"])
        #expect(lenient.status == 0 && lenient.errors.contains("not loaded: shape mismatch fc.weight"))
        #expect(try Checkpoint.read(URL(fileURLWithPath: out)).info.classNames.count == 7)
    }
}
