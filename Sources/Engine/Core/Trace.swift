/// Recording a forward pass as a list of ops, for exporters (ONNX).
///
/// Inside `Trace.record`, each traceable op appends one entry: what it computed (`TracedOp`, with
/// its settings), the tensors it read and the tensor it made. An op built from other ops records
/// itself alone: its parts run with the recorder switched off. Ops that have no traced form still
/// pass through `Tensor.result`, which notes their name against their output, so that an exporter
/// meeting such a tensor can name the op it cannot export.

/// One op of a traced forward pass, with the settings an exporter needs; the shapes come from the
/// entry's tensors.
public enum TracedOp: Sendable, Equatable {
    public enum Binary: String, Sendable { case add, sub, mul, div, pow }
    public enum Unary: String, Sendable { case neg, exp, log, sqrt, abs, relu, sigmoid, tanh, gelu, geluTanh }
    public enum Reduction: String, Sendable { case sum, mean, max }

    /// x [N, Cin, *S], weight [Cout, Cin/groups, *K] (, bias [Cout]); symmetric padding per spatial dim.
    case conv(stride: [Int], padding: [Int], dilation: [Int], groups: Int)
    /// x [N, C, *], running mean, running variance (, weight) (, bias) — evaluation mode only.
    case batchNorm(eps: Float, hasWeight: Bool, hasBias: Bool)
    /// x [..., *normalized] (, weight) (, bias) over the last `axes` dims.
    case layerNorm(axes: Int, eps: Float, hasWeight: Bool, hasBias: Bool)
    /// a, b with batch broadcasting over the leading dims.
    case matmul(transposeA: Bool, transposeB: Bool)
    /// x [..., in], weight [out, in] (, bias [out]); `gelu` applies GELU (erf) after.
    case linear(gelu: Bool)
    case binary(Binary)
    case unary(Unary)
    case powScalar(Float)
    /// The output's shape is the new shape.
    case reshape
    case permute([Int])
    case slice(axis: Int, start: Int, end: Int, step: Int)
    case concat(axis: Int)
    /// (before, after) per leading dim.
    case pad([[Int]], value: Float)
    /// Broadcast to the output's shape.
    case expand
    case indexSelect(axis: Int, indices: [Int])
    case maxPool(kernel: [Int], stride: [Int], padding: [Int], dilation: [Int], ceilMode: Bool)
    case avgPool(kernel: [Int], stride: [Int], padding: [Int], ceilMode: Bool, countIncludePad: Bool)
    case adaptiveAvgPool(outputSize: [Int])
    case reduce(Reduction, axes: [Int], keepDims: Bool)
    case softmax(axis: Int, log: Bool)
    /// x [N·T, C, *]: TSM's shift in clips of `segments` frames.
    case temporalShift(segments: Int, foldDiv: Int, pastOnly: Bool)
    /// qkv [G, L, 3·E] → [G, L, E].
    case fusedAttention(heads: Int, scale: Float)
    /// An op with no traced form, named; an exporter refuses it.
    case unsupported(String)
}

/// One recorded op.
public struct TraceEntry: @unchecked Sendable {
    public let op: TracedOp
    public let inputs: [Tensor]
    public let output: Tensor
}

/// The ops of one traced forward pass, in the order they ran.
public final class Trace: @unchecked Sendable {
    public private(set) var entries: [TraceEntry] = []
    /// Tensors made by ops with no traced form, with the op's name; kept alive so that no other
    /// tensor takes their identity while the trace lives.
    private var untraced: [ObjectIdentifier: (op: String, tensor: Tensor)] = [:]

    @TaskLocal static var current: Trace?

    /// Whether a trace is being recorded: layers that fuse ops at inference run them one by one
    /// instead, so that each keeps its own traced form.
    public static var isRecording: Bool { current != nil }

    /// Runs `body`, recording every traceable op it calls.
    public static func record<R>(_ body: () throws -> R) rethrows -> (result: R, trace: Trace) {
        let trace = Trace()
        let result = try $current.withValue(trace) { try body() }
        return (result, trace)
    }

    /// The op that made `tensor` when it has no traced form, e.g. "variance".
    public func untracedOp(of tensor: Tensor) -> String? { untraced[ObjectIdentifier(tensor)]?.op }

    func append(_ op: TracedOp, inputs: [Tensor], output: Tensor) {
        entries.append(TraceEntry(op: op, inputs: inputs, output: output))
    }

    func noteUntraced(_ op: String, _ tensor: Tensor) {
        untraced[ObjectIdentifier(tensor)] = (op, tensor)
    }
}

/// Runs an op's body and records it as `op` when a trace is recording; the body's own inner ops
/// are not recorded. Nil inputs (an absent bias) are left out.
@inline(__always)
func traced(_ op: @autoclosure () -> TracedOp, _ inputs: [Tensor?], _ body: () -> Tensor) -> Tensor {
    guard let trace = Trace.current else { return body() }
    let out = Trace.$current.withValue(nil) { body() }
    trace.append(op(), inputs: inputs.compactMap { $0 }, output: out)
    return out
}
