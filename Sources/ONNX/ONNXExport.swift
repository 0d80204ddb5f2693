import Clips
import Engine
import Foundation
import Inference
import NN
import Protos
import Support
import SwiftProtobuf
import Zoo

/// Why a model cannot be written as ONNX.
public enum ONNXExportError: Error, CustomStringConvertible, Equatable {
    /// The forward pass uses an op with no ONNX form here, named.
    case unsupportedOp(String)
    case unsupportedOpset(Int)
    /// A shape that does not scale with the batch as N or k·N, or an op that depends on the batch size.
    case batchDependent(op: String, detail: String)
    /// The forward pass ran different ops at batch 1 and batch 2.
    case unstableTrace(index: Int)
    case badViews(String)

    public var description: String {
        switch self {
        case .unsupportedOp(let op): "the model cannot be exported to ONNX: its forward pass uses \(op), which has no ONNX form"
        case .unsupportedOpset(let v): "opset \(v) is not supported; choose one of \(ONNXExport.opsets.lowerBound)–\(ONNXExport.opsets.upperBound)"
        case .batchDependent(let op, let detail): "the model cannot be exported with a dynamic batch: \(op) (\(detail))"
        case .unstableTrace(let i): "the model's forward pass differs between batch sizes at op \(i); it cannot be exported as one graph"
        case .badViews(let why): "views: \(why)"
        }
    }
}

/// What an export wrote.
public struct ONNXExportSummary: Sendable, Equatable {
    public var nodes: Int
    /// How many nodes of each op type.
    public var opTypes: [String: Int]
    public var initializers: Int
    public var parameters: Int
    public var inputs: [String]
    public var output: String
}

/// ONNX export of a zoo model: the forward pass is traced (`Trace.record`) at batch 1 and at
/// batch 2, without arithmetic, and each op is written as ONNX nodes. The weights are the model's
/// own tensors under their state-dict keys; batch norm stays a node (runtimes fold it).
///
/// The graph takes `input` [N, C, T, H, W] (a two-stream model: `rgb` and `flow`) and gives
/// `logits` [N, classes]. With views, it takes [N, V, C, T, H, W] (the V = clips × crops views of
/// each video, as `ViewPlan.arrange` orders them) and gives `scores` [N, classes], the views
/// averaged as the model's test settings say (probabilities summing to 1).
public enum ONNXExport {
    public static let opsets = 17...21

    /// The ONNX model of `predictor`'s model, with its class names and input normalisation in
    /// the metadata.
    public static func model(of predictor: Predictor, opset: Int = 17, views: (clips: Int, crops: Int)? = nil) throws -> Onnx_ModelProto {
        guard opsets.contains(opset) else { throw ONNXExportError.unsupportedOpset(opset) }
        let model = predictor.model
        model.train(false)
        let spec = predictor.plan.input
        let viewCount = views.map { $0.clips * $0.crops }
        if let views { guard views.clips >= 1, views.crops >= 1 else { throw ONNXExportError.badViews("\(views.clips)x\(views.crops) has no views") } }
        let averaging = predictor.plan.averaging

        // Per-sample input shapes and the forward pass over them.
        let frames = [spec.frames, spec.size, spec.size]
        let inputs: [(name: String, shape: [Int])]
        let forward: ([Tensor]) -> Tensor
        if let two = model as? TwoStream {
            inputs = [("rgb", [3] + frames), ("flow", [two.flow.config.inputChannels] + frames)]
            forward = { two.fuse(rgb: two.rgb($0[0]), flow: two.flow($0[1])) }
        } else {
            inputs = [("input", [model.inputChannels] + frames)]
            forward = { model($0[0]) }
        }
        let body: ([Tensor]) -> Tensor
        if let viewCount {
            body = { xs in
                let n = xs[0].shape[0]
                let logits = forward(xs.map { $0.reshaped([n * viewCount] + Array($0.shape.dropFirst(2))) })
                let k = logits.shape[1]
                return switch averaging {
                case .prob: logits.softmax(axis: 1).reshaped([n, viewCount, k]).mean(axis: 1)
                case .score: logits.reshaped([n, viewCount, k]).mean(axis: 1).softmax(axis: 1)
                }
            }
        } else {
            body = forward
        }
        let outputName = viewCount == nil ? "logits" : "scores"
        let sampleShapes = inputs.map { (viewCount.map { [$0] } ?? []) + $0.shape }

        // Two traces: dimensions that double with the batch are the batch's.
        func trace(batch: Int) -> (inputs: [Tensor], output: Tensor, trace: Trace) {
            let xs = sampleShapes.map { Tensor.zeros([batch] + $0) }
            var recorded: (result: Tensor, trace: Trace)?
            _ = FLOPs.count(dryRun: true) { recorded = Trace.record { body(xs) } }
            return (xs, recorded!.result, recorded!.trace)
        }
        let one = trace(batch: 1), two = trace(batch: 2)
        guard one.trace.entries.count == two.trace.entries.count else {
            throw ONNXExportError.unstableTrace(index: min(one.trace.entries.count, two.trace.entries.count))
        }

        var graph = GraphBuilder(opset: opset, batchSource: inputs[0].name)
        var values: [ObjectIdentifier: Operand] = [:]
        for (i, x) in one.inputs.enumerated() {
            values[ObjectIdentifier(x)] = Operand(name: inputs[i].name, dims: [.batched(1)] + sampleShapes[i].map { .fixed($0) })
        }
        var keys: [ObjectIdentifier: String] = [:]
        for (key, t) in model.namedParameters() + model.namedBuffers() where keys[ObjectIdentifier(t)] == nil {
            keys[ObjectIdentifier(t)] = key
        }
        var parameters = 0

        func operand(_ t: Tensor, twin: Tensor, op: TracedOp) throws -> Operand {
            if let known = values[ObjectIdentifier(t)] { return known }
            let name: String
            if let key = keys[ObjectIdentifier(t)] {
                name = key
                parameters += 1
                graph.initializer(key, t)
            } else if let untraced = one.trace.untracedOp(of: t) {
                throw ONNXExportError.unsupportedOp(untraced)
            } else {
                guard t.shape == twin.shape else {
                    throw ONNXExportError.batchDependent(op: "\(op)", detail: "a constant of shape \(t.shape) that grows with the batch")
                }
                name = graph.fresh("const")
                graph.initializer(name, t)
            }
            let v = Operand(name: name, dims: t.shape.map { .fixed($0) })
            values[ObjectIdentifier(t)] = v
            return v
        }

        for (i, (a, b)) in zip(one.trace.entries, two.trace.entries).enumerated() {
            guard a.op == b.op, a.inputs.count == b.inputs.count else { throw ONNXExportError.unstableTrace(index: i) }
            let operands = try zip(a.inputs, b.inputs).map { try operand($0, twin: $1, op: a.op) }
            guard let dims = Dim.of(one: a.output.shape, two: b.output.shape) else {
                throw ONNXExportError.batchDependent(op: "\(a.op)", detail: "output \(a.output.shape) at batch 1, \(b.output.shape) at batch 2")
            }
            let name = try graph.lower(a.op, operands, output: dims)
            values[ObjectIdentifier(a.output)] = Operand(name: name, dims: dims)
        }
        guard let result = values[ObjectIdentifier(one.output)], let resultDims = Dim.of(one: one.output.shape, two: two.output.shape) else {
            throw ONNXExportError.unsupportedOp(one.trace.untracedOp(of: one.output) ?? "an output made outside the traced ops")
        }
        graph.node("Identity", [result.name], output: outputName)

        var g = Onnx_GraphProto()
        g.name = predictor.preset
        g.node = graph.nodes
        g.initializer = graph.initializers
        g.input = zip(inputs, sampleShapes).map { valueInfo($0.name, [.batched(1)] + $1.map { .fixed($0) }) }
        g.output = [valueInfo(outputName, resultDims)]

        var m = Onnx_ModelProto()
        m.irVersion = opset >= 21 ? 10 : opset >= 19 ? 9 : 8
        var domain = Onnx_OperatorSetIdProto()
        domain.domain = ""
        domain.version = Int64(opset)
        m.opsetImport = [domain]
        m.producerName = "Motive"
        m.producerVersion = BuildInfo.description
        m.graph = g
        m.docString = "\(predictor.preset): \(inputs.map(\.name).joined(separator: ", ")) → \(outputName)"
        m.metadataProps = metadata(predictor, inputs: inputs.map(\.name), views: views, output: outputName).map { key, value in
            var p = Onnx_StringStringEntryProto()
            (p.key, p.value) = (key, value)
            return p
        }
        return m
    }

    /// Writes `predictor`'s model as ONNX to `url` (atomically).
    @discardableResult
    public static func write(_ predictor: Predictor, to url: URL, opset: Int = 17, views: (clips: Int, crops: Int)? = nil) throws -> ONNXExportSummary {
        let m = try model(of: predictor, opset: opset, views: views)
        try AtomicFile.write(try m.serializedData(), to: url)
        return summary(of: m)
    }

    public static func summary(of m: Onnx_ModelProto) -> ONNXExportSummary {
        let constants = Set(m.graph.initializer.map(\.name).filter { $0.hasPrefix("const_") })
        return ONNXExportSummary(nodes: m.graph.node.count, opTypes: m.graph.node.reduce(into: [:]) { $0[$1.opType, default: 0] += 1 },
                                 initializers: m.graph.initializer.count, parameters: m.graph.initializer.count - constants.count,
                                 inputs: m.graph.input.map(\.name), output: m.graph.output.first?.name ?? "")
    }

    private static func valueInfo(_ name: String, _ dims: [Dim]) -> Onnx_ValueInfoProto {
        var v = Onnx_ValueInfoProto()
        v.name = name
        var tensor = Onnx_TypeProto.Tensor()
        tensor.elemType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        var shape = Onnx_TensorShapeProto()
        shape.dim = dims.map { d in
            var dim = Onnx_TensorShapeProto.Dimension()
            switch d {
            case .fixed(let size): dim.dimValue = Int64(size)
            case .batched(let k): dim.dimParam = k == 1 ? "N" : "\(k)N"
            }
            return dim
        }
        tensor.shape = shape
        v.type.tensorType = tensor
        return v
    }

    /// The model's metadata properties: what a runtime user needs to feed it and read it.
    static func metadata(_ predictor: Predictor, inputs: [String], views: (clips: Int, crops: Int)?, output: String) -> [(String, String)] {
        let spec = predictor.plan.input
        let norm = predictor.plan.rgbNormalization
        func json(_ value: some Encodable) -> String {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            return (try? encoder.encode(value)).flatMap { String(data: $0, encoding: .utf8) } ?? ""
        }
        struct Normalisation: Encodable {
            var mean: [Float], std: [Float], scale: Float, layout: String, order: String, note: String
        }
        let layout = views == nil ? "NCTHW" : "NVCTHW"
        var props: [(String, String)] = [
            ("preset", predictor.preset),
            ("classes", json(predictor.classNames)),
            ("input_layout", layout),
            ("frames", "\(spec.frames)"),
            ("size", "\(spec.size)"),
            ("modality", spec.modality.rawValue),
            ("normalization", json(Normalisation(
                mean: norm.mean, std: norm.std, scale: norm.inputScale, layout: layout, order: "RGB",
                note: "x = (pixel · scale − mean) / std per channel, with pixels in 0–255"))),
            ("output", output == "logits" ? "logits [N, classes], before softmax" : "scores [N, classes], view-averaged probabilities"),
        ]
        if let views {
            props.append(("views", "\(views.clips)x\(views.crops)"))
            props.append(("view_averaging", predictor.plan.averaging.rawValue))
        }
        if inputs.count == 2 { props.append(("flow_layout", "x and y interleaved per flow frame, 2·L channels")) }
        return props
    }
}
