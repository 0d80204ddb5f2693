import Engine
import Foundation
import Testing
@testable import NN

/// torchvision's BasicBlock, small: two 3×3 convs with batch norm and an optional 1×1 downsample.
private final class BasicBlock: Layer {
    let conv1: Conv, bn1: BatchNorm, conv2: Conv, bn2: BatchNorm
    let downsample: Sequential?

    init(_ cin: Int, _ cout: Int, stride: Int, using rng: inout Xoshiro) {
        conv1 = Conv(cin, cout, kernelSize: [3, 3], stride: [stride, stride], padding: [1, 1], bias: false, using: &rng)
        bn1 = BatchNorm(cout)
        conv2 = Conv(cout, cout, kernelSize: [3, 3], padding: [1, 1], bias: false, using: &rng)
        bn2 = BatchNorm(cout)
        downsample = stride != 1 || cin != cout
            ? Sequential(Conv(cin, cout, kernelSize: [1, 1], stride: [stride, stride], bias: false, using: &rng), BatchNorm(cout))
            : nil
        super.init()
        registerModule("conv1", conv1)
        registerModule("bn1", bn1)
        registerModule("conv2", conv2)
        registerModule("bn2", bn2)
        if let downsample { registerModule("downsample", downsample) }
    }

    override func forward(_ x: Tensor) -> Tensor {
        // [N, Cin, H, W] → [N, Cout, H/stride, W/stride]
        let y = bn2(conv2(bn1(conv1(x)).relu()))
        return (y + (downsample.map { $0(x) } ?? x)).relu()
    }
}

private final class TinyResNet: Layer {
    let conv1: Conv, bn1: BatchNorm, layer1: Sequential, fc: Linear

    init(using rng: inout Xoshiro) {
        conv1 = Conv(1, 4, kernelSize: [3, 3], padding: [1, 1], bias: false, using: &rng)
        bn1 = BatchNorm(4)
        layer1 = Sequential(BasicBlock(4, 8, stride: 2, using: &rng), BasicBlock(8, 8, stride: 1, using: &rng))
        fc = Linear(8, 3, using: &rng)
        super.init()
        registerModule("conv1", conv1)
        registerModule("bn1", bn1)
        registerModule("layer1", layer1)
        registerModule("fc", fc)
    }

    override func forward(_ x: Tensor) -> Tensor {
        fc(globalAvgPool(layer1(bn1(conv1(x)).relu())))  // [N, 1, H, W] → [N, 3]
    }
}

private let bnKeys = ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]

@Suite struct ModuleTests {
    @Test func sequentialKeysAreIndexedInOrder() {
        var rng = Xoshiro(seed: 1)
        let net = Sequential(Conv(3, 4, kernelSize: [1, 3, 3], using: &rng), BatchNorm(4), ReLU(), Linear(4, 2, using: &rng))
        let keys = net.stateDict().map(\.0)
        #expect(keys == ["0.weight", "0.bias"] + bnKeys.map { "1.\($0)" } + ["3.weight", "3.bias"])
        #expect(net.namedParameters().map(\.0) == ["0.weight", "0.bias", "1.weight", "1.bias", "3.weight", "3.bias"])
        #expect(net.namedBuffers().map(\.0) == ["1.running_mean", "1.running_var", "1.num_batches_tracked"])
        #expect(net.stateDict().first { $0.0 == "0.weight" }!.1.shape == [4, 3, 1, 3, 3])
        #expect(net.stateDict().first { $0.0 == "1.num_batches_tracked" }!.1.shape == [])
    }

    @Test func nestedResNetKeysMatchPyTorch() {
        var rng = Xoshiro(seed: 2)
        let net = TinyResNet(using: &rng)
        func bn(_ p: String) -> [String] { bnKeys.map { "\(p).\($0)" } }
        let expected = ["conv1.weight"] + bn("bn1")
            + ["layer1.0.conv1.weight"] + bn("layer1.0.bn1") + ["layer1.0.conv2.weight"] + bn("layer1.0.bn2")
            + ["layer1.0.downsample.0.weight"] + bn("layer1.0.downsample.1")
            + ["layer1.1.conv1.weight"] + bn("layer1.1.bn1") + ["layer1.1.conv2.weight"] + bn("layer1.1.bn2")
            + ["fc.weight", "fc.bias"]
        #expect(net.stateDict().map(\.0) == expected)
        // Parameters come before buffers within each module, and buffers are not parameters.
        #expect(net.namedParameters().map(\.0) == expected.filter { !$0.contains("running") && !$0.contains("num_batches") })
        #expect(net.parameters().allSatisfy { $0.requiresGrad })
        #expect(net.namedBuffers().allSatisfy { !$0.1.requiresGrad })
        #expect(net.namedModules().map(\.0).prefix(4) == ["", "conv1", "bn1", "layer1"])
        // The network runs: [2, 1, 8, 8] → [2, 3].
        #expect(net(Tensor.normal([2, 1, 8, 8], using: &rng)).shape == [2, 3])
    }

    @Test func sharedParameterIsListedOnce() {
        var rng = Xoshiro(seed: 3)
        let a = Linear(2, 2, using: &rng)
        let net = Sequential(a, a)
        #expect(net.namedParameters().map(\.0) == ["0.weight", "0.bias"])
        #expect(net.stateDict().map(\.0) == ["0.weight", "0.bias", "1.weight", "1.bias"])
    }

    @Test func loadStateDictCopiesIntoExistingTensors() throws {
        var rng = Xoshiro(seed: 4)
        let source = TinyResNet(using: &rng), target = TinyResNet(using: &rng)
        source.bn1.runningMean!.fill(0.25)
        source.bn1.numBatchesTracked!.fill(7)
        let weight = target.conv1.weight
        #expect(weight.scalars != source.conv1.weight.scalars)
        let dict = Dictionary(uniqueKeysWithValues: source.stateDict().map { ($0.0, $0.1.copy()) })
        try target.loadStateDict(dict)
        #expect(target.conv1.weight === weight)
        #expect(weight.scalars == source.conv1.weight.scalars)
        #expect(target.bn1.runningMean!.scalars == [0.25, 0.25, 0.25, 0.25])
        #expect(target.bn1.numBatchesTracked!.item == 7)
        #expect(target.fc.bias!.scalars == source.fc.bias!.scalars)
        #expect(target.conv1.weight.requiresGrad)
    }

    @Test func loadStateDictNamesTheBadKey() {
        var rng = Xoshiro(seed: 5)
        let net = Sequential(Conv(1, 8, kernelSize: [3, 3], using: &rng), BatchNorm(8))
        var dict = Dictionary(uniqueKeysWithValues: net.stateDict().map { ($0.0, $0.1.copy()) })
        let before = net.stateDict().map { $0.1.scalars }

        var missing = dict
        missing["1.running_var"] = nil
        #expect(throws: StateDictError.missingKey("1.running_var")) { try net.loadStateDict(missing) }

        var unexpected = dict
        unexpected["2.weight"] = Tensor.zeros([1])
        #expect(throws: StateDictError.unexpectedKey("2.weight")) { try net.loadStateDict(unexpected) }

        dict["0.weight"] = Tensor.ones([8, 1, 3])
        #expect(throws: StateDictError.shapeMismatch(key: "0.weight", expected: [8, 1, 3, 3], found: [8, 1, 3])) {
            try net.loadStateDict(dict)
        }
        let message = StateDictError.shapeMismatch(key: "0.weight", expected: [8, 1, 3, 3], found: [8, 1, 3]).description
        #expect(message.contains("0.weight") && message.contains("[8, 1, 3, 3]") && message.contains("[8, 1, 3]"))
        // A shape mismatch is an error even when not strict, and failed loads change nothing.
        #expect(throws: StateDictError.self) { try net.loadStateDict(dict, strict: false) }
        #expect(net.stateDict().map { $0.1.scalars } == before)
    }

    /// A NaN or an infinity anywhere in the weights is refused at load, naming the tensor, and
    /// the module keeps its weights.
    @Test func nonFiniteWeightsAreRefused() {
        var rng = Xoshiro(seed: 7)
        let net = Sequential(Conv(1, 8, kernelSize: [3, 3], using: &rng), BatchNorm(8))
        let before = net.stateDict().map { $0.1.scalars }
        for (key, index, value) in [("0.weight", 17, Float.nan), ("1.running_var", 3, .infinity), ("1.bias", 0, -.infinity)] {
            var dict = Dictionary(uniqueKeysWithValues: net.stateDict().map { ($0.0, $0.1.copy()) })
            dict[key]!.data[index] = value
            do {
                try net.loadStateDict(dict)
                Issue.record("\(key) with \(value) loaded")
            } catch {
                if case .nonFinite(let k, let i, let v) = error {
                    #expect(k == key && i == index && (v.isNaN ? value.isNaN : v == value))
                } else {
                    Issue.record("\(error)")
                }
                #expect(error.description.contains(key))
            }
            // Not strict, the same: an unusable tensor is not a missing one.
            #expect(throws: StateDictError.self) { try net.loadStateDict(dict, strict: false) }
        }
        #expect(net.stateDict().map { $0.1.scalars } == before)
    }

    /// Load messages list 20 keys of each kind and count the rest, so a dict of a million stray
    /// keys gives a short message.
    @Test func loadMessagesSummariseLongKeyLists() throws {
        var rng = Xoshiro(seed: 8)
        let net = Sequential(Linear(2, 3, using: &rng))
        var dict = Dictionary(uniqueKeysWithValues: net.stateDict().map { ($0.0, $0.1.copy()) })
        for i in 0..<25_000 { dict[String(format: "stray.%05d", i)] = Tensor.zeros([0]) }
        let report = net.loadReport(for: dict)
        #expect(report.unexpected.count == 25_000)
        let lines = report.lines()
        #expect(lines.count == 21)
        #expect(lines.first == "unexpected stray.00000 [0]" && lines[19] == "unexpected stray.00019 [0]")
        #expect(lines.last == "… and 24980 more")
        do {
            try net.load(dict)
            Issue.record("stray keys loaded strictly")
        } catch {
            #expect("\(error)".count < 1_000)
        }
        #expect(LoadReport.abbreviated(["a", "b"]) { $0 } == ["a", "b"])
        #expect(LoadReport.abbreviated(["a", "b", "c"], limit: 2) { $0 } == ["a", "b", "… and 1 more"])
    }

    @Test func nonStrictLoadIgnoresMissingAndUnexpectedKeys() throws {
        var rng = Xoshiro(seed: 6)
        let net = Sequential(Linear(2, 3, using: &rng), Linear(3, 1, using: &rng))
        try net.loadStateDict(["0.weight": Tensor.full([3, 2], 0.5), "extra.weight": Tensor.zeros([1])], strict: false)
        #expect(net.stateDict()[0].1.scalars == Array(repeating: 0.5, count: 6))
        #expect(throws: StateDictError.duplicateKey("0.bias")) {
            try net.loadStateDict([("0.bias", Tensor.zeros([3])), ("0.bias", Tensor.zeros([3]))])
        }
    }

    @Test func trainAndEvalReachEveryDescendant() {
        var rng = Xoshiro(seed: 7)
        let net = TinyResNet(using: &rng)
        #expect(net.namedModules().allSatisfy { $0.1.isTraining })
        net.eval()
        #expect(net.namedModules().allSatisfy { !$0.1.isTraining })
        #expect(!net.layer1[1].namedChildren()[0].1.isTraining)
        net.train()
        #expect(net.namedModules().allSatisfy { $0.1.isTraining })
    }

    @Test func parameterFreeLayers() {
        let x = Tensor([-1, 2, -3, 4, 0, 6], shape: [1, 2, 3])
        #expect(ReLU()(x).scalars == [0, 2, 0, 4, 0, 6])
        #expect(Identity()(x) === x)
        #expect(Flatten()(x).shape == [1, 6])
        #expect(Sequential(ReLU(), Flatten()).stateDict().isEmpty)
        expectClose(GELU()(Tensor([1], shape: [1])).scalars, [0.8413447])
        let image = Tensor.arange(16).reshaped([1, 1, 4, 4])
        #expect(MaxPool(kernelSize: [2, 2])(image).scalars == [5, 7, 13, 15])
        #expect(AvgPool(kernelSize: [2, 2])(image).scalars == [2.5, 4.5, 10.5, 12.5])
        #expect(AdaptiveAvgPool(outputSize: [1, 1])(image).scalars == [7.5])
        #expect(GlobalAvgPool()(image).shape == [1, 1])
    }

    @Test func linearAndConvDefaultInitAndShapes() {
        var rng = Xoshiro(seed: 8)
        let fc = Linear(100, 50, using: &rng)
        let bound: Float = 1 / 10
        #expect(fc.weight.scalars.allSatisfy { abs($0) <= bound })
        #expect(fc.weight.scalars.map(abs).max()! > 0.95 * bound)
        #expect(fc.bias!.scalars.allSatisfy { abs($0) <= bound })
        // Conv fan-in counts the kernel and the channel group: 4/2 · 1·3·3 = 18.
        let conv = Conv(4, 6, kernelSize: [1, 3, 3], stride: [1, 2, 2], padding: [0, 1, 1], groups: 2, using: &rng)
        #expect(conv.weight.shape == [6, 2, 1, 3, 3])
        #expect(conv.weight.scalars.allSatisfy { abs($0) <= 1 / Float(18).squareRoot() })
        // [N, C, T, H, W] = [1, 4, 3, 7, 7] → [1, 6, 3, 4, 4].
        #expect(conv(Tensor.normal([1, 4, 3, 7, 7], using: &rng)).shape == [1, 6, 3, 4, 4])
        #expect(Conv(2, 3, kernelSize: [5], using: &rng)(Tensor.zeros([2, 2, 9])).shape == [2, 3, 5])
    }
}

@Suite struct CheckpointTests {
    @Test func safetensorsRoundTripAndLegacyBatchNormKeys() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("motive-nn-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        var rng = Xoshiro(seed: 3)
        let a = Sequential([Conv(2, 3, kernelSize: [3, 3], using: &rng), BatchNorm(3)])
        a.namedBuffers().first { $0.0 == "1.running_mean" }!.1.fill(0.25)
        try a.saveSafetensors(to: url)
        let b = Sequential([Conv(2, 3, kernelSize: [3, 3], using: &rng), BatchNorm(3)])
        try b.loadSafetensors(from: url)
        for ((ka, ta), (kb, tb)) in zip(a.stateDict(), b.stateDict()) {
            #expect(ka == kb)
            #expect(ta.scalars == tb.scalars, "\(ka)")
        }
        // A checkpoint without num_batches_tracked (PyTorch < 0.4.1) still loads strictly…
        var legacy = Dictionary(uniqueKeysWithValues: a.stateDict())
        legacy["1.num_batches_tracked"] = nil
        try b.loadStateDict(legacy)
        // …but any other missing key is an error that names it.
        legacy["1.running_var"] = nil
        #expect(throws: StateDictError.missingKey("1.running_var")) { try b.loadStateDict(legacy) }
    }
}

/// At inference, `Sequential` runs conv → BN → ReLU (and conv → ReLU) as one fused convolution;
/// with gradients on, or a norm in training mode, it runs the layers one by one. Both agree.
@Suite struct SequentialFusionTests {
    @Test func fusedInferenceMatchesLayerByLayer() {
        var rng = Xoshiro(seed: 9)
        let conv1 = Conv(4, 8, kernelSize: [3, 3, 3], padding: [1, 1, 1], bias: false, using: &rng)
        let norm = BatchNorm(8)
        let conv2 = Conv(8, 8, kernelSize: [1, 3, 3], padding: [0, 1, 1], using: &rng)
        for i in 0..<8 {
            norm.runningMean!.data[i] = Float(i) * 0.1 - 0.3
            norm.runningVar!.data[i] = 0.5 + Float(i) * 0.2
            norm.weight!.data[i] = 1 + Float(i) * 0.05
            norm.bias!.data[i] = Float(i) * 0.02
        }
        let model = Sequential(conv1, norm, ReLU(), conv2, ReLU(), Flatten())
        model.eval()
        let x = Tensor.normal([2, 4, 3, 6, 6], using: &rng)
        let fused = GradMode.noGrad { model(x) }
        let layerByLayer = model.layers.reduce(x) { y, layer in layer(y) }   // gradients on: no fusion
        #expect(fused.shape == layerByLayer.shape)
        let outside = zip(fused.scalars, layerByLayer.scalars).filter { abs($0 - $1) > 1e-5 + 1e-5 * abs($1) }
        #expect(outside.isEmpty, "\(outside.count) values differ, e.g. \(outside.prefix(3))")
        // In training mode the norm uses batch statistics and is not folded.
        model.train()
        #expect(!norm.isFoldable && norm.foldedScaleShift != nil)
    }
}
