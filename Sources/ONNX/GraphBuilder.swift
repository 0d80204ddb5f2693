import Engine
import Foundation
import Protos

/// An ONNX graph under construction: nodes in order, initializers, and fresh value names.
///
/// Every dimension the exporter writes is either fixed or proportional to the batch: the trace
/// runs twice, at batch 1 and 2, and a dimension that doubles is `k·N` (`Dim.batched`). Shapes
/// that hold such a dimension are computed in the graph from the input's first dimension.
struct GraphBuilder {
    let opset: Int
    private(set) var nodes: [Onnx_NodeProto] = []
    private(set) var initializers: [Onnx_TensorProto] = []
    private var counter = 0
    private var constants: [String: String] = [:]
    /// The graph input whose first dimension is the batch, and that dimension as [1] int64 once made.
    let batchSource: String
    private var batchValue: String?

    init(opset: Int, batchSource: String) {
        (self.opset, self.batchSource) = (opset, batchSource)
    }

    /// A new value name with `hint` in it.
    mutating func fresh(_ hint: String) -> String {
        counter += 1
        return "\(hint)_\(counter)"
    }

    /// Appends a node and returns its (single) output.
    @discardableResult
    mutating func node(_ type: String, _ inputs: [String], attributes: [Onnx_AttributeProto] = [], output: String? = nil) -> String {
        let out = output ?? fresh(type.lowercased())
        var n = Onnx_NodeProto()
        n.opType = type
        n.name = "\(type)_\(nodes.count)"
        n.input = inputs
        n.output = [out]
        n.attribute = attributes
        nodes.append(n)
        return out
    }

    /// A float32 initializer named `name` with `tensor`'s values and shape.
    mutating func initializer(_ name: String, _ tensor: Tensor) {
        initializers.append(Self.floatTensor(name, shape: tensor.shape, values: UnsafeBufferPointer(start: tensor.data, count: tensor.count)))
    }

    /// A float32 constant (deduplicated by value).
    mutating func floats(_ values: [Float], shape: [Int]) -> String {
        let key = "f\(shape):\(values.map { $0.bitPattern })"
        if let name = constants[key] { return name }
        let name = fresh("const")
        values.withUnsafeBufferPointer { initializers.append(Self.floatTensor(name, shape: shape, values: $0)) }
        constants[key] = name
        return name
    }

    mutating func scalar(_ value: Float) -> String { floats([value], shape: []) }

    /// An int64 vector constant (deduplicated by value).
    mutating func int64s(_ values: [Int]) -> String {
        let key = "i\(values)"
        if let name = constants[key] { return name }
        let name = fresh("const")
        var t = Onnx_TensorProto()
        t.name = name
        t.dataType = Int32(Onnx_TensorProto.DataType.int64.rawValue)
        t.dims = [Int64(values.count)]
        var data = Data(capacity: values.count * 8)
        for v in values { withUnsafeBytes(of: Int64(v).littleEndian) { data.append(contentsOf: $0) } }
        t.rawData = data
        initializers.append(t)
        constants[key] = name
        return name
    }

    static func floatTensor(_ name: String, shape: [Int], values: UnsafeBufferPointer<Float>) -> Onnx_TensorProto {
        var t = Onnx_TensorProto()
        t.name = name
        t.dataType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        t.dims = shape.map(Int64.init)
        var data = Data(capacity: values.count * 4)
        for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
        t.rawData = data
        return t
    }

    /// The batch size N as a [1] int64 value, computed from the batch source's shape.
    mutating func batch() -> String {
        if let batchValue { return batchValue }
        let shape = node("Shape", [batchSource])
        let n = node("Slice", [shape, int64s([0]), int64s([1])])
        batchValue = n
        return n
    }

    /// A shape as an int64 [rank] value. With `hole`, one batched dimension may be written as -1
    /// (Reshape's inferred dimension); otherwise batched dimensions are computed from N.
    mutating func shape(_ dims: [Dim], hole: Bool) -> String {
        let batched = dims.indices.filter { dims[$0].isBatched }
        if batched.isEmpty { return int64s(dims.map(\.perSample)) }
        if hole, batched.count == 1 {
            return int64s(dims.map { $0.isBatched ? -1 : $0.perSample })
        }
        let n = batch()
        var parts: [String] = []
        for d in dims {
            switch d {
            case .fixed(let v): parts.append(int64s([v]))
            case .batched(let k): parts.append(k == 1 ? n : node("Mul", [n, int64s([k])]))
            }
        }
        return node("Concat", parts, attributes: [.int("axis", 0)])
    }
}

/// One dimension of a traced value: fixed, or k times the batch.
enum Dim: Equatable, CustomStringConvertible {
    case fixed(Int)
    case batched(Int)

    var isBatched: Bool { if case .batched = self { true } else { false } }
    /// The size at batch 1.
    var perSample: Int { switch self { case .fixed(let v), .batched(let v): v } }

    var description: String { switch self { case .fixed(let v): "\(v)"; case .batched(let k): k == 1 ? "N" : "\(k)N" } }

    /// The dimensions of a value seen at batch 1 (`one`) and at batch 2 (`two`).
    static func of(one: [Int], two: [Int]) -> [Dim]? {
        guard one.count == two.count else { return nil }
        var dims: [Dim] = []
        for (a, b) in zip(one, two) {
            if a == b { dims.append(.fixed(a)) } else if b == 2 * a { dims.append(.batched(a)) } else { return nil }
        }
        return dims
    }
}

extension Onnx_AttributeProto {
    static func int(_ name: String, _ value: Int) -> Self {
        var a = Self()
        a.name = name
        a.type = .int
        a.i = Int64(value)
        return a
    }

    static func ints(_ name: String, _ values: [Int]) -> Self {
        var a = Self()
        a.name = name
        a.type = .ints
        a.ints = values.map(Int64.init)
        return a
    }

    static func float(_ name: String, _ value: Float) -> Self {
        var a = Self()
        a.name = name
        a.type = .float
        a.f = value
        return a
    }

    static func string(_ name: String, _ value: String) -> Self {
        var a = Self()
        a.name = name
        a.type = .string
        a.s = Data(value.utf8)
        return a
    }
}
