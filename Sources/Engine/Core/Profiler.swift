import Foundation

/// The kinds of op the profiler tells apart.
public enum OpKind: String, CaseIterable, Codable, Sendable {
    case convForward = "conv forward"
    case convBackwardData = "conv backward-data"
    case convBackwardWeight = "conv backward-weight"
    case gemm = "GEMM (matmul, linear)"
    case norm = "batch / layer norm"
    case elementwise = "elementwise, reductions"
    case pooling = "pooling"
    case attention = "attention"
    case copy = "memory copies (layout)"
    case allocation = "allocation"
    case optimizer = "optimizer step"
    /// Time inside the recorded body that no op claimed: autograd bookkeeping, module code.
    case other = "other (autograd, modules)"

    /// The kind of an op's backward rule, from the op name autograd records; nil for a rule that
    /// times its own parts (a convolution's backward-data and backward-weight passes).
    init?(backwardOf op: String) {
        switch op {
        case "conv": return nil
        case "matmul": self = .gemm
        case "batchNorm", "layerNorm": self = .norm
        case "maxPool", "avgPool", "adaptiveAvgPool": self = .pooling
        case "fusedAttention": self = .attention
        case "reshape", "flatten", "unsqueeze", "squeeze", "permute", "transpose", "slice", "concat", "split",
             "pad", "index_select", "expand", "temporalShift", "repeat":
            self = .copy
        default: self = .elementwise
        }
    }
}

/// The totals of one kind of op.
public struct OpTotal: Codable, Sendable {
    public var kind: OpKind
    /// The op's name for a total of one named op (`relu backward`, `add`); nil for a kind's total.
    public var name: String?
    public var seconds: Double = 0
    /// Process CPU time (all threads) while this kind ran.
    public var cpuSeconds: Double = 0
    public var calls = 0
}

/// One op call that carries a FLOP count: a layer's convolution, a GEMM, an attention block.
public struct LayerTiming: Codable, Sendable {
    public var kind: OpKind
    /// The operands' shapes and the op's settings, e.g. `x [1, 64, 8, 56, 56] w [64, 64, 3, 3, 3] stride 1 pad 1`.
    public var detail: String
    /// Inclusive wall time of the call.
    public var seconds: Double
    /// Multiply-adds × 2.
    public var flops: Int
    public var gflopsPerSecond: Double { seconds > 0 ? Double(flops) / seconds / 1e9 : 0 }
}

/// What `Profiler.record` measured.
public final class Profile: @unchecked Sendable {
    public private(set) var totals: [OpKind: OpTotal] = [:]
    public private(set) var layers: [LayerTiming] = []
    /// Totals of the spans that carry a name (autograd's backward rules, pointwise ops), which split
    /// a kind such as `elementwise` into the ops behind it. Inclusive: a named span's time holds its
    /// children's (its output's allocation), and a named span inside another counts as the outer one.
    public private(set) var named: [String: OpTotal] = [:]
    private var namedOpen = false
    public private(set) var wallSeconds: Double = 0
    public private(set) var cpuSeconds: Double = 0
    /// Large buffers (`BufferPool`) the recording took from the pool, and those it had to allocate afresh.
    public private(set) var poolHits = 0, poolMisses = 0
    /// The Dispatch workers the ops could use, for utilisation.
    public let workers: Int

    private struct Frame { var wall: Double; var cpu: Double; var childWall = 0.0; var childCPU = 0.0 }
    private var stack: [Frame] = []
    /// Above 0 inside a span that keeps its children's time (attention built from GEMMs).
    private var absorbing = 0

    init(workers: Int) { self.workers = workers }

    /// Kinds in descending time, with `other` holding the unclaimed rest.
    public var rows: [OpTotal] {
        var all = Array(totals.values)
        let claimed = all.reduce(0) { $0 + $1.seconds }, claimedCPU = all.reduce(0) { $0 + $1.cpuSeconds }
        all.append(OpTotal(kind: .other, seconds: Swift.max(0, wallSeconds - claimed),
                           cpuSeconds: Swift.max(0, cpuSeconds - claimedCPU), calls: 0))
        return all.sorted { $0.seconds > $1.seconds }
    }

    /// The `count` slowest op calls that carry FLOPs.
    public func slowestLayers(_ count: Int = 10) -> [LayerTiming] {
        Array(layers.sorted { $0.seconds > $1.seconds }.prefix(count))
    }

    /// CPU time over wall time × workers: 1 when every worker was busy throughout.
    public func utilisation(_ t: OpTotal) -> Double {
        t.seconds > 0 ? t.cpuSeconds / (t.seconds * Double(Swift.max(1, workers))) : 0
    }

    /// The `count` named ops with the most (inclusive) time.
    public func costliestOps(_ count: Int = 10) -> [OpTotal] {
        Array(named.values.sorted { $0.seconds > $1.seconds }.prefix(count))
    }

    fileprivate func run<R>(_ kind: OpKind, name: () -> String?, flops: () -> Int, detail: () -> String?, absorb: Bool,
                            _ body: () throws -> R) rethrows -> R {
        if absorbing > 0 { return try body() }
        let opName = namedOpen ? nil : name()
        if opName != nil { namedOpen = true }
        stack.append(Frame(wall: Clock.wall(), cpu: Clock.cpu()))
        if absorb { absorbing += 1 }
        defer {
            if absorb { absorbing -= 1 }
            let frame = stack.removeLast()
            let wall = Clock.wall() - frame.wall, cpu = Clock.cpu() - frame.cpu
            var total = totals[kind] ?? OpTotal(kind: kind)
            total.seconds += Swift.max(0, wall - frame.childWall)
            total.cpuSeconds += Swift.max(0, cpu - frame.childCPU)
            total.calls += 1
            totals[kind] = total
            if let opName {
                namedOpen = false
                var op = named[opName] ?? OpTotal(kind: kind, name: opName)
                op.seconds += wall
                op.cpuSeconds += cpu
                op.calls += 1
                named[opName] = op
            }
            if !stack.isEmpty {
                stack[stack.count - 1].childWall += wall
                stack[stack.count - 1].childCPU += cpu
            }
            let f = flops()
            if f > 0, let d = detail() { layers.append(LayerTiming(kind: kind, detail: d, seconds: wall, flops: f)) }
        }
        return try body()
    }

    fileprivate func finish(wall: Double, cpu: Double, hits: Int, misses: Int) {
        wallSeconds = wall; cpuSeconds = cpu; poolHits = hits; poolMisses = misses
    }
}

/// Where the time of a forward pass or a training step goes, by kind of op.
///
/// `Profiler.record { … }` runs its body with a `Profile` bound to the calling thread; every op
/// the engine runs from that thread opens a span of its kind. Spans nest, and each kind gets its
/// *exclusive* time (a convolution's output allocation counts as allocation, not as convolution).
/// Besides wall time, each span takes the process CPU time, so the profile shows how busy the
/// cores were in each kind of op: idle workers between and inside ops show as utilisation below 1.
/// Ops that carry a FLOP count (convolutions, GEMMs, attention) are also kept one by one, with
/// their shapes, so the slowest layers can be listed with their achieved GFLOP/s.
/// Outside `record`, a span costs one task-local read.
public enum Profiler {
    @TaskLocal static var current: Profile?

    /// Runs `body` and returns where its time went. Ops run from other threads than the caller's
    /// are not seen (the engine's own workers are: their time falls inside the caller's spans).
    public static func record(_ body: () throws -> Void) rethrows -> Profile {
        let profile = Profile(workers: Parallel.workers)
        let pool = BufferPool.hitsAndMisses
        let wall = Clock.wall(), cpu = Clock.cpu()
        try $current.withValue(profile) { try body() }
        let wallEnd = Clock.wall(), cpuEnd = Clock.cpu(), poolEnd = BufferPool.hitsAndMisses
        profile.finish(wall: wallEnd - wall, cpu: cpuEnd - cpu, hits: poolEnd.hits - pool.hits, misses: poolEnd.misses - pool.misses)
        return profile
    }

    /// Times `body` as an op of `kind`. `name` (for the per-op totals), `flops` (multiply-adds × 2)
    /// and `detail` are asked for only while recording. With `absorb`, ops inside count as this one
    /// (attention made of GEMMs).
    @inline(__always)
    public static func span<R>(_ kind: OpKind, name: @autoclosure () -> String? = nil, flops: @autoclosure () -> Int = 0,
                               detail: @autoclosure () -> String? = nil, absorb: Bool = false,
                               _ body: () throws -> R) rethrows -> R {
        guard let profile = current else { return try body() }
        return try profile.run(kind, name: name, flops: flops, detail: detail, absorb: absorb, body)
    }

    /// `[1, 64, 8, 56, 56]`, for span details.
    public static func shape(_ s: [Int]) -> String { "[" + s.map(String.init).joined(separator: ", ") + "]" }
}

private enum Clock {
    static func wall() -> Double { read(CLOCK_MONOTONIC) }
    static func cpu() -> Double { read(CLOCK_PROCESS_CPUTIME_ID) }
    private static func read(_ id: clockid_t) -> Double {
        var ts = timespec()
        clock_gettime(id, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }
}
