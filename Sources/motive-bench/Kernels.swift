import ArgumentParser
import Engine
import Foundation

/// `motive-bench kernels`: GEMM, convolution and elementwise throughput, and the memory peak of
/// a no-grad conv3d stack, in one run so the ratios compare like with like.
struct Kernels: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "sgemm, convolution forward/backward, add/relu bandwidth, conv-stack memory.")

    @Option(help: "Timed runs per measurement (the median is reported).") var repeats = 5
    @Option(help: "Dispatch workers (default: all cores).") var workers: Int?

    func run() {
        if let workers { Parallel.setWorkers(workers) }
        let sgemm = benchSgemm()
        for layer in ConvLayer.r2plus1dShaped { benchConv(layer, sgemm: sgemm) }
        benchElementwise()
        benchStackMemory()
    }

    func benchSgemm() -> Double {
        let n = 1024
        var rng = Xoshiro(seed: 1)
        let a = Tensor.uniform([n, n], using: &rng), b = Tensor.uniform([n, n], using: &rng)
        let flops = 2.0 * Double(n * n * n)
        let t = medianSeconds(repeats: repeats) { _ = matmul(a, b) }
        let gflops = flops / t / 1e9
        emit([("bench", "sgemm"), ("gflops", gflops), ("workers", Parallel.workers)])
        // For reference: OpenBLAS's own threading on one call.
        Parallel.setBLASThreads(Parallel.workers)
        let c = Tensor.zeros([n, n])
        let tb = medianSeconds(repeats: repeats) {
            Gemm.run(transA: false, transB: false, m: n, n: n, k: n, a: a.data, lda: n, b: b.data, ldb: n, c: c.data, ldc: n, parallel: false)
        }
        Parallel.setBLASThreads(1)
        emit([("bench", "sgemm:openblas_threads"), ("gflops", flops / tb / 1e9), ("threads", Parallel.workers)])
        return gflops
    }

    func benchConv(_ layer: ConvLayer, sgemm: Double) {
        var rng = Xoshiro(seed: 2)
        let x = Tensor.uniform(layer.input, low: -1, high: 1, using: &rng)
        let w = Tensor.uniform(layer.weight, low: -0.1, high: 0.1, using: &rng)
        var outShape: [Int] = []
        let tf = medianSeconds(repeats: repeats) {
            let y = GradMode.noGrad { conv(x, weight: w, padding: layer.padding) }
            outShape = y.shape
        }
        let flops = Double(convFLOPs(inputShape: layer.input, weightShape: layer.weight, outputShape: outShape, groups: 1))
        let fwd = flops / tf / 1e9
        emit([("bench", "conv_fwd:\(layer.name)"), ("gflops", fwd), ("of_sgemm", fwd / sgemm)])
        x.requiresGrad = true
        w.requiresGrad = true
        let seed = Tensor.uniform([layer.input[0], layer.weight[0]] + Array(outShape.dropFirst(2)), using: &rng)
        // Backward alone (input and weight gradients: twice the forward's multiply-adds), after one warm-up.
        for _ in 0..<1 { conv(x, weight: w, padding: layer.padding).backward(seed); x.grad = nil; w.grad = nil }
        let bwdTimes = (0..<repeats).map { _ -> Double in
            let yy = conv(x, weight: w, padding: layer.padding)
            let start = DispatchTime.now().uptimeNanoseconds
            yy.backward(seed)
            x.grad = nil; w.grad = nil
            return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        }.sorted()
        let bwd = 2 * flops / bwdTimes[bwdTimes.count / 2] / 1e9
        emit([("bench", "conv_bwd:\(layer.name)"), ("gflops", bwd), ("of_sgemm", bwd / sgemm)])
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

struct ConvLayer {
    let name: String
    let input: [Int]     // N, C, T, H, W
    let weight: [Int]    // Cout, Cin, kT, kH, kW
    let padding: [Int]

    /// Layers shaped like R(2+1)D-18's at batch 1 on a 16×112×112 clip.
    static let r2plus1dShaped = [
        ConvLayer(name: "spatial_1x3x3_64_16x56x56", input: [1, 64, 16, 56, 56], weight: [64, 64, 1, 3, 3], padding: [0, 1, 1]),
        ConvLayer(name: "temporal_3x1x1_144to64_16x56x56", input: [1, 144, 16, 56, 56], weight: [64, 144, 3, 1, 1], padding: [1, 0, 0]),
        ConvLayer(name: "full_3x3x3_256_4x14x14", input: [1, 256, 4, 14, 14], weight: [256, 256, 3, 3, 3], padding: [1, 1, 1]),
    ]
}
