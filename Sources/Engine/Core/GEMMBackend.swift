import Foundation
import Synchronization

/// Which library runs the one-thread SGEMMs that every engine GEMM is split into.
///
/// OpenBLAS is linked at build time. oneDNN (`libdnnl.so.2`, Debian's `libdnnl2`, which
/// `make deps` installs) is loaded at run time when present: its SGEMM generates kernels for the
/// CPU it runs on (AVX-512 where the CPU has it, AVX2 otherwise), where OpenBLAS's kernel family
/// is fixed when the library loads and may be pinned lower by `OPENBLAS_CORETYPE`. On a 2-core
/// Zen 4 with OpenBLAS pinned to its AVX2 kernels, oneDNN's SGEMM runs the zoo's GEMM shapes at
/// about twice OpenBLAS's rate.
///
/// `MOTIVE_GEMM=openblas` or `MOTIVE_GEMM=onednn` chooses; by default oneDNN is used when it loads.
/// Each call runs on one thread (oneDNN's OpenMP team is set to 1 on the calling thread), since
/// the engine splits work over its own Dispatch workers.
public enum GEMMBackend: String, CaseIterable, Sendable {
    case openblas, onednn

    /// The backend GEMMs use now: `with`'s choice on this thread, else the process-wide one.
    public static var current: GEMMBackend {
        get { scoped ?? (chosen.load(ordering: .relaxed) == 1 ? .onednn : .openblas) }
        set {
            ensure(newValue == .openblas || OneDNN.shared != nil, "GEMMBackend: oneDNN (libdnnl.so.2) is not installed")
            chosen.store(newValue == .onednn ? 1 : 0, ordering: .relaxed)
        }
    }

    @TaskLocal private static var scoped: GEMMBackend?

    /// Backends that can run here: OpenBLAS always, oneDNN when its library loads.
    public static var available: [GEMMBackend] { OneDNN.shared == nil ? [.openblas] : [.openblas, .onednn] }

    /// Runs `body` with `backend` for the GEMMs this thread runs itself (`parallel: false`);
    /// other threads, and the engine's workers, keep the process-wide choice.
    public static func with<R>(_ backend: GEMMBackend, _ body: () throws -> R) rethrows -> R {
        ensure(backend == .openblas || OneDNN.shared != nil, "GEMMBackend: oneDNN (libdnnl.so.2) is not installed")
        return try $scoped.withValue(backend) { try body() }
    }

    /// The backend a process starts with: OpenBLAS when `MOTIVE_GEMM=openblas` or oneDNN does not
    /// load, oneDNN otherwise.
    public static let preferred: GEMMBackend =
        ProcessInfo.processInfo.environment["MOTIVE_GEMM"]?.lowercased() == "openblas" || OneDNN.shared == nil ? .openblas : .onednn

    /// 0 = OpenBLAS, 1 = oneDNN.
    private static let chosen = Atomic<Int>(preferred == .onednn ? 1 : 0)
}

/// oneDNN's row-major SGEMM, resolved with dlopen so that the build does not need the library.
struct OneDNN: @unchecked Sendable {
    typealias SGEMM = @convention(c) (CChar, CChar, Int64, Int64, Int64, Float, UnsafePointer<Float>, Int64,
                                      UnsafePointer<Float>, Int64, Float, UnsafeMutablePointer<Float>, Int64) -> Int32
    typealias SetThreads = @convention(c) (Int32) -> Void
    let sgemm: SGEMM
    let setThreads: SetThreads

    static let shared: OneDNN? = {
        guard let library = dlopen("libdnnl.so.2", RTLD_NOW | RTLD_LOCAL),
              let sgemm = dlsym(library, "dnnl_sgemm"),
              let gomp = dlopen("libgomp.so.1", RTLD_NOW | RTLD_NOLOAD),
              let setThreads = dlsym(gomp, "omp_set_num_threads") else { return nil }
        return OneDNN(sgemm: unsafeBitCast(sgemm, to: SGEMM.self), setThreads: unsafeBitCast(setThreads, to: SetThreads.self))
    }()

    @inline(__always)
    func run(_ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
             _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
             _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
        // The OpenMP thread count is a per-thread setting: one, on whichever worker calls.
        setThreads(1)
        let status = sgemm(transA ? 84 : 78, transB ? 84 : 78, Int64(m), Int64(n), Int64(k), alpha,
                           a, Int64(lda), b, Int64(ldb), beta, c, Int64(ldc))
        ensure(status == 0, "dnnl_sgemm failed with status \(status) for M \(m), N \(n), K \(k)")
    }
}
