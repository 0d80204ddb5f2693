import COpenBLAS
import CPUFeatures
import Foundation

/// Which OpenBLAS kernels run.
///
/// OpenBLAS picks its kernels when the library loads, from the CPU model. A model newer than the
/// installed OpenBLAS (Debian 12 ships 0.3.21) falls back to SSE3 kernels ("Prescott"), which run
/// sgemm 5–10× slower than the AVX2/AVX-512 kernels the CPU supports. The choice can only be
/// changed through `OPENBLAS_CORETYPE` before the library loads, so executables call
/// `restartWithSupportedKernelsIfNeeded()` first thing: it re-executes the process once with the
/// variable set. A value already in the environment is always respected.
public enum BLASCore {
    /// The kernel family OpenBLAS is using, e.g. "SkylakeX", "Haswell", "Prescott".
    public static var current: String { String(cString: openblas_get_corename()) }

    /// Kernel families without AVX, which OpenBLAS uses for CPUs it does not recognise.
    static let generic: Set<String> = ["prescott", "core2", "penryn", "dunnington", "nehalem", "atom", "nano",
                                       "northwood", "banias", "katmai", "coppermine", "opteron", "opteron_sse3", "barcelona"]

    /// The best kernel family this CPU's flags allow: SkylakeX with AVX-512 (F, DQ, BW, VL), Haswell with AVX2 and FMA.
    public static func supported(cpuFlags: Set<String>) -> String? {
        if ["avx512f", "avx512dq", "avx512bw", "avx512vl"].allSatisfy(cpuFlags.contains) { return "SkylakeX" }
        if cpuFlags.contains("avx2") && cpuFlags.contains("fma") { return "Haswell" }
        return nil
    }

    /// Re-executes this process with `OPENBLAS_CORETYPE` set when OpenBLAS fell back to generic
    /// kernels on a CPU that supports better ones. Returns normally when nothing needs changing.
    public static func restartWithSupportedKernelsIfNeeded() {
        let env = ProcessInfo.processInfo.environment
        guard env["OPENBLAS_CORETYPE"] == nil, env["MOTIVE_BLAS_RESTARTED"] == nil,
              generic.contains(current.lowercased()),
              let better = supported(cpuFlags: CPUFeatures.flags()) else { return }
        setenv("OPENBLAS_CORETYPE", better, 1)
        setenv("MOTIVE_BLAS_RESTARTED", "1", 1)
        let args = CommandLine.arguments
        var cArgs = args.map { strdup($0) } + [nil]
        execv("/proc/self/exe", &cArgs)
        // execv only returns on failure; carry on with the generic kernels.
        for p in cArgs { free(p) }
    }
}
