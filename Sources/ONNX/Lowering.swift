import Engine
import Protos

/// One traced op's operands as the lowering sees them: value names, and dimensions at batch 1
/// and 2 (`Dim`).
struct Operand {
    let name: String
    let dims: [Dim]
    var shape: [Int] { dims.map(\.perSample) }
    var rank: Int { dims.count }
}

extension GraphBuilder {
    /// Appends the nodes of one traced op and returns the value that holds its result.
    mutating func lower(_ op: TracedOp, _ x: [Operand], output: [Dim]) throws(ONNXExportError) -> String {
        switch op {
        case .conv(let stride, let padding, let dilation, let groups):
            return node("Conv", x.map(\.name), attributes: [
                .ints("kernel_shape", Array(x[1].shape.dropFirst(2))), .ints("strides", stride), .ints("pads", padding + padding),
                .ints("dilations", dilation), .int("group", groups)])

        case .batchNorm(let eps, let hasWeight, let hasBias):
            // Traced inputs: x, running mean, running variance (, weight) (, bias).
            let c = x[0].shape[1]
            let weight = hasWeight ? x[3].name : floats(Array(repeating: 1, count: c), shape: [c])
            let bias = hasBias ? x[hasWeight ? 4 : 3].name : floats(Array(repeating: 0, count: c), shape: [c])
            return node("BatchNormalization", [x[0].name, weight, bias, x[1].name, x[2].name], attributes: [.float("epsilon", eps)])

        case .layerNorm(let axes, let eps, let hasWeight, let hasBias):
            let normalized = Array(x[0].shape.suffix(axes))
            let scale = hasWeight ? x[1].name : floats(Array(repeating: 1, count: normalized.reduce(1, *)), shape: normalized)
            let inputs = [x[0].name, scale] + (hasBias ? [x[hasWeight ? 2 : 1].name] : [])
            return node("LayerNormalization", inputs, attributes: [.int("axis", -axes), .float("epsilon", eps)])

        case .matmul(let transposeA, let transposeB):
            let a = transposeA ? swapLastTwo(x[0]) : x[0].name
            let b = transposeB ? swapLastTwo(x[1]) : x[1].name
            return node("MatMul", [a, b])

        case .linear(let gelu):
            let y: String
            if x[0].rank == 2 {
                y = node("Gemm", x.map(\.name), attributes: [.int("transB", 1)])
            } else {
                let product = node("MatMul", [x[0].name, node("Transpose", [x[1].name], attributes: [.ints("perm", [1, 0])])])
                y = x.count > 2 ? node("Add", [product, x[2].name]) : product
            }
            return gelu ? erfGELU(y) : y

        case .binary(let kind):
            let type = switch kind { case .add: "Add"; case .sub: "Sub"; case .mul: "Mul"; case .div: "Div"; case .pow: "Pow" }
            return node(type, [x[0].name, x[1].name])

        case .unary(let kind):
            switch kind {
            case .neg: return node("Neg", [x[0].name])
            case .exp: return node("Exp", [x[0].name])
            case .log: return node("Log", [x[0].name])
            case .sqrt: return node("Sqrt", [x[0].name])
            case .abs: return node("Abs", [x[0].name])
            case .relu: return node("Relu", [x[0].name])
            case .sigmoid: return node("Sigmoid", [x[0].name])
            case .tanh: return node("Tanh", [x[0].name])
            case .gelu: return erfGELU(x[0].name)
            case .geluTanh: return tanhGELU(x[0].name)
            }

        case .powScalar(let p):
            return node("Pow", [x[0].name, scalar(p)])

        case .reshape:
            return node("Reshape", [x[0].name, shape(output, hole: true)])

        case .permute(let perm):
            return node("Transpose", [x[0].name], attributes: [.ints("perm", perm)])

        case .slice(let axis, let start, let end, let step):
            let a = axis < 0 ? axis + x[0].rank : axis
            let n = x[0].shape[a]
            let lo = start < 0 ? start + n : start, hi = end < 0 ? end + n : min(end, n)
            // A slice of the batch axis can only be exported when it keeps every sample.
            if x[0].dims[a].isBatched {
                guard lo == 0, hi == n, step == 1 else { throw .batchDependent(op: "slice", detail: "a slice of the batch axis") }
                return node("Identity", [x[0].name])
            }
            return node("Slice", [x[0].name, int64s([lo]), int64s([hi]), int64s([a]), int64s([step])])

        case .concat(let axis):
            return node("Concat", x.map(\.name), attributes: [.int("axis", axis < 0 ? axis + x[0].rank : axis)])

        case .pad(let padding, let value):
            var before = Array(repeating: 0, count: x[0].rank), after = before
            for (i, p) in padding.enumerated() { (before[i], after[i]) = (p[0], p[1]) }
            return node("Pad", [x[0].name, int64s(before + after), scalar(value)], attributes: [.string("mode", "constant")])

        case .expand:
            // Where the input already has the output's size, 1 keeps it (Expand broadcasts both ways).
            let offset = output.count - x[0].rank
            let target = output.enumerated().map { i, d -> Dim in
                i >= offset && x[0].dims[i - offset] == d ? .fixed(1) : d
            }
            return node("Expand", [x[0].name, shape(target, hole: false)])

        case .indexSelect(let axis, let indices):
            return node("Gather", [x[0].name, int64s(indices)], attributes: [.int("axis", axis)])

        case .maxPool(let kernel, let stride, let padding, let dilation, let ceilMode):
            return node("MaxPool", [x[0].name], attributes: [
                .ints("kernel_shape", kernel), .ints("strides", stride), .ints("pads", padding + padding), .ints("dilations", dilation),
                .int("ceil_mode", ceilMode ? 1 : 0)])

        case .avgPool(let kernel, let stride, let padding, let ceilMode, let countIncludePad):
            return node("AveragePool", [x[0].name], attributes: [
                .ints("kernel_shape", kernel), .ints("strides", stride), .ints("pads", padding + padding),
                .int("ceil_mode", ceilMode ? 1 : 0), .int("count_include_pad", countIncludePad ? 1 : 0)])

        case .adaptiveAvgPool(let size):
            let spatial = Array(x[0].shape.dropFirst(2))
            if size.allSatisfy({ $0 == 1 }) { return node("GlobalAveragePool", [x[0].name]) }
            guard zip(spatial, size).allSatisfy({ $0 % $1 == 0 }) else {
                throw .unsupportedOp("adaptiveAvgPool from \(spatial) to \(size), whose windows differ in size")
            }
            let kernel = zip(spatial, size).map { $0 / $1 }
            return node("AveragePool", [x[0].name], attributes: [.ints("kernel_shape", kernel), .ints("strides", kernel)])

        case .reduce(let kind, let axes, let keepDims):
            let keep = Onnx_AttributeProto.int("keepdims", keepDims ? 1 : 0)
            switch kind {
            case .sum: return node("ReduceSum", [x[0].name, int64s(axes)], attributes: [keep])
            case .mean, .max:
                let type = kind == .mean ? "ReduceMean" : "ReduceMax"
                // Opset 18 moved these reductions' axes from an attribute to an input.
                if opset >= 18 { return node(type, [x[0].name, int64s(axes)], attributes: [keep]) }
                return node(type, [x[0].name], attributes: [.ints("axes", axes), keep])
            }

        case .softmax(let axis, let log):
            return node(log ? "LogSoftmax" : "Softmax", [x[0].name], attributes: [.int("axis", axis)])

        case .temporalShift(let segments, let foldDiv, let pastOnly):
            return temporalShift(x[0], segments: segments, foldDiv: foldDiv, pastOnly: pastOnly)

        case .fusedAttention(let heads, let scale):
            return attention(x[0], heads: heads, scale: scale)

        case .unsupported(let name):
            throw .unsupportedOp(name)
        }
    }

    /// Swaps a value's last two axes.
    private mutating func swapLastTwo(_ v: Operand) -> String {
        var perm = Array(0..<v.rank)
        perm.swapAt(v.rank - 1, v.rank - 2)
        return node("Transpose", [v.name], attributes: [.ints("perm", perm)])
    }

    /// x·Φ(x) = x · ½(1 + erf(x/√2)).
    private mutating func erfGELU(_ x: String) -> String {
        let erf = node("Erf", [node("Mul", [x, scalar(Float(0.5).squareRoot())])])
        return node("Mul", [node("Mul", [x, node("Add", [erf, scalar(1)])]), scalar(0.5)])
    }

    /// ½x(1 + tanh(√(2/π)(x + 0.044715x³))).
    private mutating func tanhGELU(_ x: String) -> String {
        let cube = node("Mul", [node("Pow", [x, scalar(3)]), scalar(0.044715)])
        let inner = node("Mul", [node("Add", [x, cube]), scalar((2 / Float.pi).squareRoot())])
        return node("Mul", [node("Mul", [x, node("Add", [node("Tanh", [inner]), scalar(1)])]), scalar(0.5)])
    }

    /// TSM's shift on x [N·T, C, *]: viewed as [N, T, C, *], channels [0, C/d) take frame t+1's
    /// values and [C/d, 2C/d) frame t−1's (online: [0, C/d) take t−1's), zeros at the clip's ends.
    private mutating func temporalShift(_ x: Operand, segments t: Int, foldDiv: Int, pastOnly: Bool) -> String {
        let rest = Array(x.shape.dropFirst())
        let c = rest[0], fold = c / foldDiv
        let clips = node("Reshape", [x.name, int64s([-1, t] + rest)])
        let rank = rest.count + 2
        func channels(_ lo: Int, _ hi: Int) -> String {
            node("Slice", [clips, int64s([lo]), int64s([hi]), int64s([2]), int64s([1])])
        }
        // Frames 1..<t moved one step earlier (from the next frame), or 0..<t−1 one step later.
        func shifted(_ v: String, fromNext: Bool) -> String {
            let kept = node("Slice", [v, int64s([fromNext ? 1 : 0]), int64s([fromNext ? t : t - 1]), int64s([1]), int64s([1])])
            var pads = Array(repeating: 0, count: 2 * rank)
            pads[fromNext ? rank + 1 : 1] = 1
            return node("Pad", [kept, int64s(pads), scalar(0)], attributes: [.string("mode", "constant")])
        }
        var parts: [String] = []
        if pastOnly {
            if fold > 0 { parts.append(shifted(channels(0, fold), fromNext: false)) }
            parts.append(channels(fold, c))
        } else {
            if fold > 0 {
                parts.append(shifted(channels(0, fold), fromNext: true))
                parts.append(shifted(channels(fold, 2 * fold), fromNext: false))
            }
            parts.append(channels(2 * fold, c))
        }
        let joined = parts.count == 1 ? parts[0] : node("Concat", parts, attributes: [.int("axis", 2)])
        return node("Reshape", [joined, int64s([-1] + rest)])
    }

    /// Multi-head self-attention on qkv [G, L, 3·E] → [G, L, E], from MatMul and Softmax.
    private mutating func attention(_ qkv: Operand, heads: Int, scale: Float) -> String {
        let l = qkv.shape[1], e = qkv.shape[2] / 3, d = e / heads
        // [G, L, 3·E] → [G, L, 3, heads, D] → [3, G, heads, L, D]
        let split = node("Reshape", [qkv.name, int64s([-1, l, 3, heads, d])])
        let parts = node("Transpose", [split], attributes: [.ints("perm", [2, 0, 3, 1, 4])])
        func pick(_ i: Int) -> String { node("Gather", [parts, int64s([i])], attributes: [.int("axis", 0)]) }
        // Each [1, G, heads, L, D]; the leading 1 broadcasts through the products.
        let q = pick(0), k = pick(1), v = pick(2)
        let keysT = node("Transpose", [k], attributes: [.ints("perm", [0, 1, 2, 4, 3])])
        let scores = node("Mul", [node("MatMul", [q, keysT]), scalar(scale)])
        let weights = node("Softmax", [scores], attributes: [.int("axis", -1)])
        let out = node("MatMul", [weights, v])
        // [1, G, heads, L, D] → [1, G, L, heads, D] → [G, L, E]
        let ordered = node("Transpose", [out], attributes: [.ints("perm", [0, 1, 3, 2, 4])])
        return node("Reshape", [ordered, int64s([-1, l, e])])
    }
}
