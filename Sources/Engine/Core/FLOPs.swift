/// Counts the floating-point work of the ops run inside `FLOPs.count { … }`, from shapes alone.
///
/// One multiply-add counts as one FLOP (fvcore's convention). Counted: convolution
/// (output elements · Cin/groups · kernel volume), matmul and linear (M·N·K), fused attention
/// (its two products), batch norm (input elements, twice with an affine transform), layer norm
/// (input elements × 4, × 5 with an affine transform, fvcore's estimate), and adaptive/global
/// average pooling (input elements). Elementwise ops, activations and max pooling count zero, as
/// in fvcore.
public final class FLOPCounter: @unchecked Sendable {
    public private(set) var byOperator: [String: Int] = [:]
    public var total: Int { byOperator.values.reduce(0, +) }

    func add(_ op: String, _ flops: Int) { byOperator[op, default: 0] += flops }
}

public enum FLOPs {
    @TaskLocal static var counter: FLOPCounter?
    @TaskLocal static var dryRun = false

    /// Runs `body` and returns what its ops counted (no graph is recorded). With `dryRun`,
    /// convolutions and matrix products only shape their outputs and skip the arithmetic, so
    /// counting a large model is quick; the values computed are then meaningless.
    public static func count(dryRun: Bool = false, _ body: () throws -> Void) rethrows -> FLOPCounter {
        let counter = FLOPCounter()
        try $counter.withValue(counter) {
            try $dryRun.withValue(dryRun) { try GradMode.noGrad { try body() } }
        }
        return counter
    }

    /// True inside `count(dryRun: true)`: heavy kernels may skip their work.
    static var skipsArithmetic: Bool { counter != nil && dryRun }

    @inline(__always)
    static func record(_ op: String, _ flops: @autoclosure () -> Int) {
        if let counter { counter.add(op, flops()) }
    }
}
