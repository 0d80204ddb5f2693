import COpenBLAS
import Dispatch
import Synchronization

/// How Motive uses the cores.
///
/// OpenBLAS runs single-threaded and the engine splits work itself with
/// `DispatchQueue.concurrentPerform`: a convolution runs its column tiles on all workers, each
/// with a one-thread GEMM, and a large matmul is split by columns. So BLAS threads × Dispatch
/// workers never exceed the cores.
public enum Parallel {
    private static let workerCount = Atomic<Int>(defaultWorkers())

    private static func defaultWorkers() -> Int {
        let n = ProcessInfoCores.active
        openblas_set_num_threads(1)
        return n
    }

    /// Number of Dispatch workers used by parallel kernels (1 inside `serially`).
    public static var workers: Int { serial ? 1 : workerCount.load(ordering: .relaxed) }

    @TaskLocal static var serial = false

    /// Runs `body` with every kernel it calls on the calling thread only: data-parallel replicas
    /// each own one core, so their ops must not fan out again.
    public static func serially<R>(_ body: () throws -> R) rethrows -> R {
        try $serial.withValue(true) { try body() }
    }

    /// Sets the worker count (1 … cores) and pins OpenBLAS to one thread per worker.
    public static func setWorkers(_ n: Int) {
        ensure(n >= 1, "Parallel.setWorkers: need at least 1 worker, got \(n)")
        workerCount.store(n, ordering: .relaxed)
        openblas_set_num_threads(1)
    }

    /// OpenBLAS's own thread count, for benchmarks that compare against threaded BLAS.
    public static func setBLASThreads(_ n: Int) { openblas_set_num_threads(Int32(n)) }
    public static var blasThreads: Int { Int(openblas_get_num_threads()) }

    /// Splits 0..<count into at most `workers` contiguous ranges of at least `grain` items and runs them concurrently.
    /// `body` is called once per range, never per element.
    public static func forRanges(_ count: Int, grain: Int = 1, _ body: (Range<Int>) -> Void) {
        guard count > 0 else { return }
        let tasks = min(workers, max(1, count / max(grain, 1)))
        if tasks <= 1 {
            body(0..<count)
            return
        }
        withoutActuallyEscaping(body) { body in
            let box = UnsafeSendable(body)
            DispatchQueue.concurrentPerform(iterations: tasks) { i in
                let lo = count * i / tasks, hi = count * (i + 1) / tasks
                if lo < hi { box.value(lo..<hi) }
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

/// Carries a value into a concurrent closure; the kernels guarantee disjoint writes.
struct UnsafeSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

enum ProcessInfoCores {
    static var active: Int {
        let n = sysconf(Int32(_SC_NPROCESSORS_ONLN))
        return max(1, Int(n))
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
