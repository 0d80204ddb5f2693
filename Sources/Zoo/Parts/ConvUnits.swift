import Engine
import NN

/// Builds the convolutions of a video ResNet. The first three are torchvision's conv makers; the
/// last is a 2D image convolution (TSN/TSM backbones, applied per frame).
public enum ConvKind: String, Codable, Sendable {
    /// 3×3×3 (torchvision `Conv3DSimple`).
    case full3D = "3d"
    /// 1×3×3, no temporal extent (`Conv3DNoTemporal`).
    case spatial = "spatial"
    /// 1×3×3 into `mid` channels, BN, ReLU, then 3×1×1 (`Conv2Plus1D`).
    case twoPlusOne = "2+1d"
    /// 3×3 on [N, C, H, W].
    case image2D = "2d"

    /// The 3×3-ish conv of a residual block: in → out with the given stride.
    func make(_ cin: Int, _ cout: Int, mid: Int, stride: Int, rng: inout Xoshiro) -> Layer {
        switch self {
        case .full3D:
            return Conv(cin, cout, kernelSize: [3, 3, 3], stride: [stride, stride, stride], padding: [1, 1, 1], bias: false, using: &rng)
        case .spatial:
            return Conv(cin, cout, kernelSize: [1, 3, 3], stride: [1, stride, stride], padding: [0, 1, 1], bias: false, using: &rng)
        case .twoPlusOne:
            // Keys 0 (spatial conv), 1 (its norm), 3 (temporal conv): ReLU sits at 2 without state.
            return Sequential(
                Conv(cin, mid, kernelSize: [1, 3, 3], stride: [1, stride, stride], padding: [0, 1, 1], bias: false, using: &rng),
                BatchNorm(mid), ReLU(),
                Conv(mid, cout, kernelSize: [3, 1, 1], stride: [stride, 1, 1], padding: [1, 0, 0], bias: false, using: &rng))
        case .image2D:
            return Conv(cin, cout, kernelSize: [3, 3], stride: [stride, stride], padding: [1, 1], bias: false, using: &rng)
        }
    }

    /// Stride of the 1×1 shortcut conv that matches `make(…, stride:)`.
    func shortcutStride(_ stride: Int) -> [Int] {
        switch self {
        case .full3D, .twoPlusOne: [stride, stride, stride]
        case .spatial: [1, stride, stride]
        case .image2D: [stride, stride]
        }
    }
}

/// conv → BN (→ ReLU): the unit blocks and stems are built from.
struct ConvNorm {
    let conv: Layer
    let norm: BatchNorm

    /// conv → BN (→ + residual) (→ ReLU); fused into one convolution pass at inference when the
    /// conv is a plain `Conv` (`Conv.forward(_:norm:residual:relu:)`).
    func callAsFunction(_ x: Tensor, residual: Tensor? = nil, relu: Bool = false) -> Tensor {
        if let plain = conv as? Conv { return plain.forward(x, norm: norm, residual: residual, relu: relu) }
        return Conv.finish(conv(x), norm: norm, residual: residual, relu: relu)
    }
}
