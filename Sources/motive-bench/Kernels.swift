import ArgumentParser
import Engine
import Foundation

/// `motive-bench kernels`: GEMM, convolution and elementwise throughput, and the memory peak of
/// a no-grad conv3d stack.
///
/// The machine is shared and its speed drifts, so each convolution timing is paired with an
/// sgemm timing taken right before it, and `of_sgemm` is the median of those per-pair ratios.
struct Kernels: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "sgemm, convolution forward/backward, add/relu bandwidth, conv-stack memory.")

    @Option(help: "Timed runs per measurement (medians are reported).") var repeats = 7
    @Option(help: "Dispatch workers (default: all cores).") var workers: Int?

    @Flag(help: "Instead: Winograd F(4×4, 3×3) against F(2×2, 3×3) on the zoo's Winograd-shaped layers at batch 1, forward and weight gradient, alternating.")
    var winograd = false

    func run() {
        if let workers { Parallel.setWorkers(workers) }
        if winograd {
            for layer in ConvLayer.winogradShaped { benchWinograd(layer) }
            return
        }
        let sgemm = Sgemm(size: 1024)
        let times = (0..<repeats).map { _ in sgemm.time() }
        emit([("bench", "sgemm"), ("gflops", median(times.map { sgemm.flops / $0 / 1e9 })), ("workers", Parallel.workers),
              ("blas_core", BLASCore.current), ("gemm_backend", GEMMBackend.current.rawValue)])
        let one = (0..<repeats).map { _ in sgemm.time(parallel: false) }
        emit([("bench", "sgemm:one_thread"), ("gflops", median(one.map { sgemm.flops / $0 / 1e9 }))])
        // OpenBLAS's own threading, whichever backend the engine uses.
        Parallel.setBLASThreads(Parallel.workers)
        let threaded = GEMMBackend.with(.openblas) { (0..<repeats).map { _ in sgemm.time(parallel: false) } }
        Parallel.setBLASThreads(1)
        emit([("bench", "sgemm:openblas_threads"), ("gflops", median(threaded.map { sgemm.flops / $0 / 1e9 })),
              ("threads", Parallel.workers)])
        for layer in ConvLayer.r2plus1dShaped { benchConv(layer, sgemm: sgemm) }
        benchElementwise()
        benchStackMemory()
    }

    func benchConv(_ layer: ConvLayer, sgemm: Sgemm) {
        var rng = Xoshiro(seed: 2)
        let x = Tensor.uniform(layer.input, low: -1, high: 1, using: &rng)
        let w = Tensor.uniform(layer.weight, low: -0.1, high: 0.1, using: &rng)
        var outShape: [Int] = []
        // FLOPs as the engine counts them (one per multiply-add), ×2 for GFLOP/s.
        let flops = 2 * Double(FLOPs.count(dryRun: true) { outShape = conv(x, weight: w, padding: layer.padding).shape }.total)
        let forward = paired(sgemm) {
            _ = GradMode.noGrad { conv(x, weight: w, padding: layer.padding) }
        }
        report("conv_fwd:\(layer.name)", flops: flops, forward, sgemm)
        // Backward alone: the input and weight gradients, twice the forward's multiply-adds.
        x.requiresGrad = true
        w.requiresGrad = true
        let seed = Tensor.uniform(outShape, using: &rng)
        let backward = paired(sgemm) { () -> Double in
            let y = conv(x, weight: w, padding: layer.padding)
            let start = DispatchTime.now().uptimeNanoseconds
            y.backward(seed)
            let t = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            x.grad = nil; w.grad = nil
            return t
        }
        report("conv_bwd:\(layer.name)", flops: 2 * flops, backward, sgemm)
    }

    /// The forward pass and the weight gradient with `winograd4` and `winograd2`, timed
    /// alternately: each one's median milliseconds, the median of the per-pair ratios, and
    /// whether `auto` takes F(4×4, 3×3).
    func benchWinograd(_ layer: ConvLayer) {
        var rng = Xoshiro(seed: 3)
        let x = Tensor.uniform(layer.input, low: -1, high: 1, using: &rng)
        let w = Tensor.uniform(layer.weight, low: -0.1, high: 0.1, using: &rng)
        func forward(_ algorithm: ConvAlgorithm) -> Double {
            ConvAlgorithm.with(algorithm) {
                let start = DispatchTime.now().uptimeNanoseconds
                _ = GradMode.noGrad { conv(x, weight: w, padding: layer.padding) }
                return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            }
        }
        // The backward pass with only the weight requiring a gradient: the weight gradient alone.
        let trained = w.copy()
        trained.requiresGrad = true
        let seed = GradMode.noGrad { Tensor.uniform(conv(x, weight: w, padding: layer.padding).shape, using: &rng) }
        func weightGradient(_ algorithm: ConvAlgorithm) -> Double {
            ConvAlgorithm.with(algorithm) {
                let y = conv(x, weight: trained, padding: layer.padding)
                let start = DispatchTime.now().uptimeNanoseconds
                y.backward(seed)
                let t = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                trained.grad = nil
                return t
            }
        }
        _ = (forward(.winograd4), forward(.winograd2), weightGradient(.winograd4), weightGradient(.winograd2))
        let pairs = (0..<repeats).map { _ in (forward(.winograd2), forward(.winograd4)) }
        let gradients = (0..<repeats).map { _ in (weightGradient(.winograd2), weightGradient(.winograd4)) }
        let auto = ConvAlgorithm.auto.takesF4(input: layer.input, weight: layer.weight, padding: layer.padding)
        emit([("bench", "winograd:\(layer.name)"), ("auto", auto ? "f4" : "f2"), ("f2_ms", 1000 * median(pairs.map(\.0))), ("f4_ms", 1000 * median(pairs.map(\.1))),
              ("f4_over_f2", median(pairs.map { $0.1 / $0.0 })),
              ("dw_f2_ms", 1000 * median(gradients.map(\.0))), ("dw_f4_ms", 1000 * median(gradients.map(\.1))),
              ("dw_f4_over_f2", median(gradients.map { $0.1 / $0.0 }))])
    }

    /// (sgemm seconds, op seconds) per repeat, after one warm-up of each.
    func paired(_ sgemm: Sgemm, _ op: () -> Void) -> [(Double, Double)] {
        paired(sgemm) { () -> Double in
            let start = DispatchTime.now().uptimeNanoseconds
            op()
            return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        }
    }

    func paired(_ sgemm: Sgemm, _ op: () -> Double) -> [(Double, Double)] {
        _ = op()
        return (0..<repeats).map { _ in (sgemm.time(), op()) }
    }

    func report(_ name: String, flops: Double, _ pairs: [(Double, Double)], _ sgemm: Sgemm) {
        let gflops = median(pairs.map { flops / $0.1 / 1e9 })
        let ratio = median(pairs.map { (flops / $0.1) / (sgemm.flops / $0.0) })
        emit([("bench", name), ("gflops", gflops), ("of_sgemm", ratio)])
    }

    func benchElementwise() {
        let n = 1 << 24
        var rng = Xoshiro(seed: 3)
        let a = Tensor.uniform([n], low: -1, high: 1, using: &rng), b = Tensor.uniform([n], using: &rng)
        let tAdd = medianSeconds(repeats: repeats) { _ = a + b }
        emit([("bench", "add"), ("gbps", 3.0 * 4 * Double(n) / tAdd / 1e9)])
        let tRelu = medianSeconds(repeats: repeats) { _ = GradMode.noGrad { a.relu() } }
        emit([("bench", "relu"), ("gbps", 2.0 * 4 * Double(n) / tRelu / 1e9)])
    }

    /// Ten 3×3×3 convolutions, 64 channels on 16×56×56, under no-grad: each activation must be
    /// freed as soon as the next exists.
    func benchStackMemory() {
        var rng = Xoshiro(seed: 4)
        let shape = [1, 64, 16, 56, 56]
        let weights = (0..<10).map { _ in Tensor.uniform([64, 64, 3, 3, 3], low: -0.02, high: 0.02, using: &rng) }
        var x = Tensor.uniform(shape, using: &rng)
        let activation = x.count * 4
        let weightBytes = weights.reduce(0) { $0 + $1.count * 4 }
        MemoryStats.resetPeak()
        let base = MemoryStats.liveBytes - activation - weightBytes
        GradMode.noGrad {
            for w in weights { x = conv(x, weight: w, padding: [1]).reluInPlace() }
        }
        let peak = MemoryStats.peakBytes - base
        let bound = 2 * (activation + weightBytes)
        emit([("bench", "conv3d_stack_memory"), ("peak_mb", Double(peak) / 1e6),
              ("largest_activation_plus_weights_mb", Double(activation + weightBytes) / 1e6),
              ("ratio", Double(peak) / Double(activation + weightBytes)), ("within_2x", peak <= bound)])
    }
}

/// C = A·B at n³ through the engine's GEMM (split over the workers), into a preallocated C.
struct Sgemm {
    let a: Tensor, b: Tensor, c: Tensor, n: Int
    var flops: Double { 2 * Double(n * n * n) }

    init(size n: Int) {
        var rng = Xoshiro(seed: 1)
        self.n = n
        a = Tensor.uniform([n, n], using: &rng)
        b = Tensor.uniform([n, n], using: &rng)
        c = Tensor.zeros([n, n])
        _ = time()
    }

    func time(parallel: Bool = true) -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        Gemm.run(transA: false, transB: false, m: n, n: n, k: n, a: a.data, lda: n, b: b.data, ldb: n,
                 c: c.data, ldc: n, parallel: parallel)
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }
}

func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    return s.isEmpty ? 0 : s[s.count / 2]
}

struct ConvLayer {
    let name: String
    let input: [Int]     // N, C, T, H, W
    let weight: [Int]    // Cout, Cin, kT, kH, kW
    let padding: [Int]

    /// The zoo's Winograd-shaped layers at batch 1: R3D-18, C3D, R(2+1)D-18's spatial halves and
    /// the ResNet-50s' 3×3s (8 frames).
    static let winogradShaped = [
        ConvLayer(name: "r3d_3x3x3_64_16x56x56", input: [1, 64, 16, 56, 56], weight: [64, 64, 3, 3, 3], padding: [1, 1, 1]),
        ConvLayer(name: "r3d_3x3x3_128_8x28x28", input: [1, 128, 8, 28, 28], weight: [128, 128, 3, 3, 3], padding: [1, 1, 1]),
        ConvLayer(name: "r3d_3x3x3_256_4x14x14", input: [1, 256, 4, 14, 14], weight: [256, 256, 3, 3, 3], padding: [1, 1, 1]),
        ConvLayer(name: "c3d_3x3x3_64to128_16x56x56", input: [1, 64, 16, 56, 56], weight: [128, 64, 3, 3, 3], padding: [1, 1, 1]),
        ConvLayer(name: "c3d_3x3x3_256_8x28x28", input: [1, 256, 8, 28, 28], weight: [256, 256, 3, 3, 3], padding: [1, 1, 1]),
        ConvLayer(name: "r2plus1d_1x3x3_64_16x56x56", input: [1, 64, 16, 56, 56], weight: [144, 64, 1, 3, 3], padding: [0, 1, 1]),
        ConvLayer(name: "r2plus1d_1x3x3_128_8x28x28", input: [1, 128, 8, 28, 28], weight: [288, 128, 1, 3, 3], padding: [0, 1, 1]),
        ConvLayer(name: "r50_1x3x3_64_8x56x56", input: [1, 64, 8, 56, 56], weight: [64, 64, 1, 3, 3], padding: [0, 1, 1]),
        ConvLayer(name: "r50_1x3x3_128_8x28x28", input: [1, 128, 8, 28, 28], weight: [128, 128, 1, 3, 3], padding: [0, 1, 1]),
        ConvLayer(name: "r50_1x3x3_256_8x14x14", input: [1, 256, 8, 14, 14], weight: [256, 256, 1, 3, 3], padding: [0, 1, 1]),
        ConvLayer(name: "tsn_3x3_64_8x56x56", input: [8, 64, 56, 56], weight: [64, 64, 3, 3], padding: [1, 1]),
        ConvLayer(name: "tsn_3x3_128_8x28x28", input: [8, 128, 28, 28], weight: [128, 128, 3, 3], padding: [1, 1]),
    ]

    /// Layers shaped like R(2+1)D-18's at batch 1 on a 16×112×112 clip.
    static let r2plus1dShaped = [
        ConvLayer(name: "spatial_1x3x3_64_16x56x56", input: [1, 64, 16, 56, 56], weight: [64, 64, 1, 3, 3], padding: [0, 1, 1]),
        ConvLayer(name: "temporal_3x1x1_144to64_16x56x56", input: [1, 144, 16, 56, 56], weight: [64, 144, 3, 1, 1], padding: [1, 0, 0]),
        ConvLayer(name: "full_3x3x3_256_4x14x14", input: [1, 256, 4, 14, 14], weight: [256, 256, 3, 3, 3], padding: [1, 1, 1]),
    ]
}
