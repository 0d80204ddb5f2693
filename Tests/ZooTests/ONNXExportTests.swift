import Engine
import Foundation
import Inference
import NN
import Protos
import Testing
@testable import ONNX
@testable import Zoo

/// onnxruntime's outputs on Motive's exports (Tests/Fixtures/make_onnx_parity_fixture.py).
struct ONNXParityFixture: Decodable {
    struct Case: Decodable {
        let preset: String
        let views: String?
        let inputs: [String: [Int]]
        let output: String
        let values: [Float]
    }

    let onnxruntime: String
    let cases: [Case]

    static let shared: ONNXParityFixture? = {
        guard let url = Bundle.module.url(forResource: "onnx_parity", withExtension: "json", subdirectory: "Fixtures") else { return nil }
        return try? JSONDecoder().decode(ONNXParityFixture.self, from: Data(contentsOf: url))
    }()

    static var tiny: [Case] { shared?.cases.filter { $0.preset.hasSuffix("_tiny") } ?? [] }
    static var fullSize: [Case] { shared?.cases.filter { !$0.preset.hasSuffix("_tiny") } ?? [] }
}

/// An untrained preset's predictor with the parity fill in its weights.
private func filledPredictor(_ preset: String, views: String? = nil) throws -> Predictor {
    let overrides = ViewOverrides(views: views.flatMap(ViewPlan.parseViews))
    let predictor = try Predictor.load(.preset(name: preset, weights: nil, layout: .motive, classes: nil, strict: true), overrides).predictor
    ParityFill.fill(predictor.model)
    return predictor
}

/// Motive's own output for a fixture case: logits, or with views the averaged scores.
private func motiveOutput(_ c: ONNXParityFixture.Case) throws -> [Float] {
    let predictor = try filledPredictor(c.preset, views: c.views)
    let model = predictor.model.eval()
    return GradMode.noGrad {
        if let two = model as? TwoStream {
            let rgb = ParityFill.input(c.inputs["rgb"]!), flow = ParityFill.input(c.inputs["flow"]!)
            return two.fuse(rgb: two.rgb(rgb), flow: two.flow(flow)).scalars
        }
        let shape = c.inputs["input"]!
        guard c.views != nil else { return model(ParityFill.input(shape)).scalars }
        let views = ParityFill.input(shape).reshaped([shape[0] * shape[1]] + Array(shape.dropFirst(2)))
        return predictor.plan.combine(model(views)).flatMap { $0 }
    }
}

private func checkParity(_ c: ONNXParityFixture.Case) throws {
    let ours = try motiveOutput(c)
    try #require(ours.count == c.values.count, "\(c.preset): \(ours.count) outputs, onnxruntime \(c.values.count)")
    let scale = c.values.map { abs($0) }.max() ?? 1
    let worst = zip(ours, c.values).map { abs($0 - $1) }.max() ?? 0
    let relative = worst / max(scale, 1e-12)
    print("ONNX parity \(c.preset)\(c.views.map { " views \($0)" } ?? ""): max |Δ| / max |onnxruntime| = \(String(format: "%.2e", relative))")
    #expect(relative <= 1e-4, "\(c.preset): Motive and onnxruntime differ by \(relative) of the largest output")
}

@Suite("ONNX export") struct ONNXExportTests {
    @Test("onnxruntime's outputs on the export of every tiny preset match Motive's (batch 2)", arguments: ONNXParityFixture.tiny.indices)
    func tinyParity(_ index: Int) throws {
        try checkParity(ONNXParityFixture.tiny[index])
    }

    @Test("onnxruntime's logits on one full-size export per family match Motive's", arguments: ONNXParityFixture.fullSize.indices)
    func fullSizeParity(_ index: Int) throws {
        try checkParity(ONNXParityFixture.fullSize[index])
    }

    @Test func fixtureCoversEveryFamily() throws {
        let presets = Set(try #require(ONNXParityFixture.shared).cases.map(\.preset))
        for family in ["r3d_18_tiny", "r2plus1d_18_tiny", "tsn_r50_tiny", "tsm_r50_tiny", "two_stream_tsn_tiny", "c3d_tiny", "i3d_r50_tiny",
                       "slowfast_r50_tiny", "timesformer_tiny", "r2plus1d_18", "tsm_r50", "two_stream_tsn_r50", "c3d", "i3d_r50",
                       "slowfast_r50", "timesformer_base"] {
            #expect(presets.contains(family), "no onnxruntime fixture for \(family)")
        }
    }

    @Test("the graph's weights are the model's own tensors, under their state-dict keys")
    func weightsAreTheModels() throws {
        let predictor = try filledPredictor("tsm_r50_tiny")
        let graph = try ONNXExport.model(of: predictor).graph
        let byName = Dictionary(uniqueKeysWithValues: graph.initializer.map { ($0.name, $0) })
        let parameters = predictor.model.namedParameters()
        for (key, t) in parameters + predictor.model.namedBuffers() where !key.hasSuffix("num_batches_tracked") {
            let initializer = try #require(byName[key], "\(key) is not in the graph")
            #expect(initializer.dims == t.shape.map(Int64.init), "\(key): dims")
            let data = Data(bytes: t.data, count: t.count * 4)
            #expect(initializer.rawData == data, "\(key): the exported values differ from the model's")
        }
        #expect(ONNXExport.summary(of: try ONNXExport.model(of: predictor)).parameters == parameters.count + predictor.model.namedBuffers()
            .filter { !$0.0.hasSuffix("num_batches_tracked") }.count)
    }

    @Test("structure: inputs, a dynamic batch, outputs, metadata, and every node input defined before use",
          arguments: ["r3d_18_tiny", "r2plus1d_18_tiny", "tsm_r50_tiny", "two_stream_tsn_tiny", "c3d_tiny", "i3d_r50_tiny",
                      "slowfast_r50_tiny", "timesformer_tiny"])
    func structure(_ preset: String) throws {
        let predictor = try filledPredictor(preset)
        let m = try ONNXExport.model(of: predictor)
        #expect(m.opsetImport.map(\.version) == [17] && m.irVersion == 8)
        let g = m.graph
        let spec = predictor.plan.input
        let expected: [(String, Int)] = predictor.model is TwoStream ? [("rgb", 3), ("flow", 10)] : [("input", predictor.model.inputChannels)]
        #expect(g.input.map(\.name) == expected.map(\.0))
        for (input, (_, channels)) in zip(g.input, expected) {
            let dims = input.type.tensorType.shape.dim
            #expect(dims.first?.dimParam == "N", "\(input.name): the batch is dynamic")
            #expect(dims.dropFirst().map(\.dimValue) == [channels, spec.frames, spec.size, spec.size].map(Int64.init))
        }
        let out = try #require(g.output.first)
        #expect(out.name == "logits")
        #expect(out.type.tensorType.shape.dim.first?.dimParam == "N")
        #expect(out.type.tensorType.shape.dim.last?.dimValue == Int64(predictor.classNames.count))

        // Every node reads graph inputs, initializers or earlier nodes' outputs.
        var defined = Set(g.input.map(\.name) + g.initializer.map(\.name))
        for node in g.node {
            for input in node.input where !input.isEmpty { #expect(defined.contains(input), "\(node.name) reads \(input) before it is made") }
            defined.formUnion(node.output)
        }
        #expect(defined.contains("logits"))

        let props = Dictionary(uniqueKeysWithValues: m.metadataProps.map { ($0.key, $0.value) })
        let classes = try JSONDecoder().decode([String].self, from: Data(try #require(props["classes"]).utf8))
        #expect(classes == predictor.classNames)
        #expect(props["preset"] == preset)
        #expect(props["normalization"]?.contains("\"mean\"") == true)

        let types = Set(g.node.map(\.opType))
        switch preset {
        case "tsm_r50_tiny": #expect(types.isSuperset(of: ["Slice", "Pad", "Concat", "Conv", "BatchNormalization", "Gemm"]))
        case "timesformer_tiny": #expect(types.isSuperset(of: ["MatMul", "Softmax", "LayerNormalization", "Erf"]))
        case "slowfast_r50_tiny": #expect(types.isSuperset(of: ["Conv", "Concat", "Gather"]) || types.isSuperset(of: ["Conv", "Concat", "Slice"]))
        default: #expect(types.contains("Conv"))
        }
    }

    @Test("with views the graph takes [N, V, C, T, H, W] and gives view-averaged scores")
    func viewsExport() throws {
        let predictor = try filledPredictor("r2plus1d_18_tiny")
        let g = try ONNXExport.model(of: predictor, views: (clips: 2, crops: 3)).graph
        let dims = try #require(g.input.first).type.tensorType.shape.dim
        #expect(dims.first?.dimParam == "N")
        #expect(dims.dropFirst().map(\.dimValue) == [6, 3, 8, 64, 64])
        #expect(g.output.first?.name == "scores")
    }

    @Test("an op with no ONNX form is named in the error")
    func unsupportedOpIsNamed() throws {
        final class BatchStatistics: VideoModel {
            let norm = BatchNorm(3)
            override init() { super.init(); registerModule("norm", norm) }
            override func forward(_ x: Tensor) -> Tensor {
                // [N, 3, T, H, W] → [N, 3]; the norm runs on the batch's own statistics.
                batchNorm(x, runningMean: nil, runningVar: nil, weight: nil, bias: nil, training: false).mean(axes: [2, 3, 4])
            }
        }
        final class Dropping: VideoModel {
            override func forward(_ x: Tensor) -> Tensor { x.mean(axes: [2, 3, 4]).dropout(p: 0.5, training: true) }
        }
        let spec = InputSpec(frames: 2, size: 8, normalization: .kinetics, clipLength: 2, frameInterval: 1, clips: 1)
        for (model, op) in [(BatchStatistics() as VideoModel, "batchNorm with batch statistics"), (Dropping(), "dropout")] {
            let predictor = Predictor(model: model, preset: "custom", classNames: ["a", "b", "c"], plan: ViewPlan(input: spec))
            #expect(throws: ONNXExportError.unsupportedOp(op)) { try ONNXExport.model(of: predictor) }
        }
        let predictor = try filledPredictor("c3d_tiny")
        #expect(throws: ONNXExportError.unsupportedOpset(12)) { try ONNXExport.model(of: predictor, opset: 12) }
    }

    @Test("opset 18 writes the reductions' axes as inputs")
    func opset18() throws {
        let predictor = try filledPredictor("r3d_18_tiny")
        let m = try ONNXExport.model(of: predictor, opset: 18)
        #expect(m.opsetImport.first?.version == 18)
        for node in m.graph.node where node.opType == "ReduceMean" || node.opType == "ReduceMax" {
            #expect(node.input.count == 2 && !node.attribute.contains { $0.name == "axes" })
        }
    }
}
