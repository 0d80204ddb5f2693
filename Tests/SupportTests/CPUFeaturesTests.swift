import Testing
import CPUFeatures

@Suite struct CPUFeaturesTests {
    @Test func namesWhatACPULacks() {
        let haswell: Set<String> = ["sse4_2", "avx", "avx2", "fma", "bmi1", "bmi2", "f16c", "movbe", "popcnt", "abm"]
        #expect(CPUFeatures.missing(from: haswell).isEmpty)
        #expect(CPUFeatures.missing(from: haswell.union(["avx512f"])).isEmpty)
        #if arch(x86_64)
        // A Sandy Bridge: AVX without AVX2, FMA, BMI or MOVBE.
        #expect(CPUFeatures.missing(from: ["sse4_2", "avx", "popcnt"]) == ["avx2", "fma", "bmi1", "bmi2", "f16c", "movbe", "abm"])
        #endif
        // Nothing to judge by: let it run.
        #expect(CPUFeatures.missing(from: []).isEmpty)
    }

    /// This machine runs the test binary, which is compiled for those features, so it has them.
    @Test func thisMachineHasWhatTheCodeIsCompiledFor() {
        #expect(CPUFeatures.missing(from: CPUFeatures.flags()).isEmpty)
    }
}
