import Foundation

/// The instruction-set extensions of this CPU, and the check that Motive's compiled code can run.
///
/// Motive's own modules are compiled for x86-64 with AVX2 and FMA (Package.swift passes
/// `-target-cpu haswell`, a feature set that every x86-64 server since Intel Haswell and AMD
/// Zen has): Swift's default target is SSE2, which runs the engine's loops four lanes wide
/// instead of eight and never fuses a multiply-add. This module is compiled for the default
/// target, so the executables can call `requireCompiledFeatures()` before any other Motive code
/// runs and stop with a message on an older CPU, instead of dying on an illegal instruction.
public enum CPUFeatures {
    /// The `flags` line of /proc/cpuinfo as a set ("avx2", "fma", "avx512f", …); empty where
    /// there is no such file.
    public static func flags() -> Set<String> {
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return [] }
        return Set(line.split(separator: ":").last.map { $0.split(separator: " ").map(String.init) } ?? [])
    }

    /// The extensions that `-target-cpu haswell` lets the compiler use, as /proc/cpuinfo names them.
    public static let compiledFor = ["avx", "avx2", "fma", "bmi1", "bmi2", "f16c", "movbe", "popcnt", "abm"]

    /// Which of `compiledFor` a CPU with `flags` lacks. Empty when the flags are unknown (no
    /// /proc/cpuinfo): then there is nothing to judge by, and the code is let run.
    public static func missing(from flags: Set<String>) -> [String] {
        #if arch(x86_64)
        flags.isEmpty ? [] : compiledFor.filter { !flags.contains($0) }
        #else
        []
        #endif
    }

    /// Exits with status 1 and a one-line message when this CPU lacks an extension the compiled
    /// code uses. Call first thing in `main`.
    public static func requireCompiledFeatures() {
        let lacking = missing(from: flags())
        guard !lacking.isEmpty else { return }
        FileHandle.standardError.write(Data(("Error: Motive is compiled for x86-64 CPUs with AVX2 and FMA (Intel Haswell, AMD Zen "
            + "or newer); this CPU lacks \(lacking.joined(separator: ", ")).\n").utf8))
        exit(1)
    }
}
