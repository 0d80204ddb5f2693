import Engine

// Pooling layers over 1–3 spatial dims (the rank is the length of `kernelSize`).
// Input [N, C, *S], output [N, C, *S′] with, per spatial dim,
// S′ = ⌊(S + 2·padding − dilation·(kernel − 1) − 1) / stride⌋ + 1 (⌈…⌉ with `ceilMode`).

/// The maximum of each window; padding never wins.
public final class MaxPool: Layer {
    public let kernelSize: [Int]
    public let stride: [Int]
    public let padding: [Int]
    public let dilation: [Int]
    public let ceilMode: Bool

    /// `stride` defaults to `kernelSize`, as in PyTorch.
    public init(kernelSize: [Int], stride: [Int]? = nil, padding: [Int]? = nil, dilation: [Int]? = nil, ceilMode: Bool = false) {
        self.kernelSize = kernelSize
        self.stride = stride ?? kernelSize
        self.padding = padding ?? kernelSize.map { _ in 0 }
        self.dilation = dilation ?? kernelSize.map { _ in 1 }
        self.ceilMode = ceilMode
        super.init()
    }

    public override func forward(_ x: Tensor) -> Tensor {
        // [N, C, *S] → [N, C, *S′]
        maxPool(x, kernel: kernelSize, stride: stride, padding: padding, dilation: dilation, ceilMode: ceilMode)
    }
}

/// The mean of each window; with `countIncludePad` the zero padding counts in the divisor.
public final class AvgPool: Layer {
    public let kernelSize: [Int]
    public let stride: [Int]
    public let padding: [Int]
    public let ceilMode: Bool
    public let countIncludePad: Bool

    /// `stride` defaults to `kernelSize`, as in PyTorch.
    public init(kernelSize: [Int], stride: [Int]? = nil, padding: [Int]? = nil, ceilMode: Bool = false,
                countIncludePad: Bool = true) {
        self.kernelSize = kernelSize
        self.stride = stride ?? kernelSize
        self.padding = padding ?? kernelSize.map { _ in 0 }
        self.ceilMode = ceilMode
        self.countIncludePad = countIncludePad
        super.init()
    }

    public override func forward(_ x: Tensor) -> Tensor {
        // [N, C, *S] → [N, C, *S′]
        avgPool(x, kernel: kernelSize, stride: stride, padding: padding, ceilMode: ceilMode, countIncludePad: countIncludePad)
    }
}

/// Averages into a fixed grid: [N, C, *S] → [N, C, *outputSize].
public final class AdaptiveAvgPool: Layer {
    public let outputSize: [Int]

    public init(outputSize: [Int]) {
        self.outputSize = outputSize
        super.init()
    }

    public override func forward(_ x: Tensor) -> Tensor { adaptiveAvgPool(x, outputSize: outputSize) }
}

/// The mean over every spatial position: [N, C, *S] → [N, C] (a classifier head's pooling).
public final class GlobalAvgPool: Layer {
    public override init() { super.init() }
    public override func forward(_ x: Tensor) -> Tensor { globalAvgPool(x) }
}
