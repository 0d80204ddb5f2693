import COpenBLAS
@_exported import Support

/// The engine splits work itself (`Parallel`, from Support) and keeps OpenBLAS at one thread:
/// a convolution runs its column tiles on all workers, each with a one-thread GEMM, and a large
/// matmul is split by blocks, so BLAS threads × Dispatch workers never exceed the cores.
enum BLASThreads {
    /// Pins OpenBLAS to one thread, once, before the first GEMM.
    static let pinned: Void = { openblas_set_num_threads(1) }()
}

extension Parallel {
    /// OpenBLAS's own thread count, for benchmarks that compare against threaded BLAS.
    public static func setBLASThreads(_ n: Int) {
        _ = BLASThreads.pinned
        openblas_set_num_threads(Int32(n))
    }
}
