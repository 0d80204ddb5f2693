import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How Motive splits work over the cores: contiguous ranges on Dispatch workers, one closure
/// call per range, never per element. The engine keeps OpenBLAS at one thread, so BLAS
/// threads × workers never exceed the cores.
public enum Parallel {
    /// Online cores.
    public static let cores = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))

    private static let workerCount = Atomic<Int>(cores)

    /// Number of Dispatch workers parallel kernels use (1 inside `serially`).
    public static var workers: Int { serial ? 1 : workerCount.load(ordering: .relaxed) }

    @TaskLocal static var serial = false

    /// Runs `body` with every kernel it calls on the calling thread only: data-parallel replicas
    /// each own one core, so their ops must not fan out again.
    public static func serially<R>(_ body: () throws -> R) rethrows -> R {
        try $serial.withValue(true) { try body() }
    }

    /// Sets the worker count (at least 1).
    public static func setWorkers(_ n: Int) {
        precondition(n >= 1, "Parallel.setWorkers: need at least 1 worker, got \(n)")
        workerCount.store(n, ordering: .relaxed)
    }

    /// Splits 0..<count into at most `workers` contiguous ranges of at least `grain` items and
    /// runs them concurrently.
    public static func forRanges(_ count: Int, grain: Int = 1, _ body: (Range<Int>) -> Void) {
        guard count > 0 else { return }
        forChunks(count, chunks: min(workers, max(1, count / max(grain, 1)))) { _, range in body(range) }
    }

    /// Splits 0..<count into `chunks` contiguous ranges (as even as can be) and calls
    /// `body(chunk, range)` once per chunk, concurrently when there is more than one. Callers
    /// guarantee that the chunks write disjoint memory.
    public static func forChunks(_ count: Int, chunks: Int, _ body: (Int, Range<Int>) -> Void) {
        guard count > 0 else { return }
        let chunks = max(1, min(chunks, count))
        if chunks == 1 {
            body(0, 0..<count)
            return
        }
        withoutActuallyEscaping(body) { body in
            let box = UnsafeSendable(body)
            DispatchQueue.concurrentPerform(iterations: chunks) { c in
                box.value(c, count * c / chunks ..< count * (c + 1) / chunks)
            }
        }
    }

    /// Runs `tasks` independent jobs concurrently (task index passed in).
    public static func forTasks(_ tasks: Int, _ body: (Int) -> Void) {
        guard tasks > 0 else { return }
        if tasks == 1 || workers == 1 {
            for i in 0..<tasks { body(i) }
            return
        }
        withoutActuallyEscaping(body) { body in
            let box = UnsafeSendable(body)
            DispatchQueue.concurrentPerform(iterations: tasks) { box.value($0) }
        }
    }
}

/// Carries a value (a closure, a raw pointer) into a concurrent closure. Safe only where the
/// callers guarantee that what it reaches is written by one worker at a time, as every kernel
/// that splits its output into disjoint ranges does.
public struct UnsafeSendable<T>: @unchecked Sendable {
    public let value: T
    public init(_ value: T) { self.value = value }
}
