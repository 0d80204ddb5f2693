import Engine
import NN

/// Where a residual block's parts live in the reference's state dict.
struct BlockKeys {
    var convs: [String]           // one per unit, e.g. ["conv1.0", "conv2.0"] or ["conv1", "conv2", "conv3"]
    var norms: [String]
    var shortcut: (conv: String, norm: String)
    /// pytorchvideo registers the shortcut before the main branch.
    var shortcutFirst = false

    /// torchvision's video BasicBlock: `conv1 = Sequential(conv, BN, ReLU)`, `conv2 = Sequential(conv, BN)`.
    static let torchvisionVideo = BlockKeys(convs: ["conv1.0", "conv2.0"], norms: ["conv1.1", "conv2.1"],
                                            shortcut: ("downsample.0", "downsample.1"))
    /// torchvision's image BasicBlock / Bottleneck.
    static func torchvisionImage(units: Int) -> BlockKeys {
        BlockKeys(convs: (1...units).map { "conv\($0)" }, norms: (1...units).map { "bn\($0)" },
                  shortcut: ("downsample.0", "downsample.1"))
    }
}

/// A residual block: units of conv → BN, ReLU between them, plus a shortcut (identity, or a
/// strided 1×1 conv → BN when the shape changes), then ReLU.
///
/// Two units make a basic block, three (1×1, k×k, 1×1) a bottleneck. `shift`, when set, applies
/// TSM's temporal shift to the input of the first unit only (the residual shift).
final class ResidualBlock: Layer {
    let units: [ConvNorm]
    let shortcut: ConvNorm?
    let shiftSegments: Int?

    init(units: [ConvNorm], shortcut: ConvNorm?, keys: BlockKeys, shiftSegments: Int? = nil) {
        self.units = units
        self.shortcut = shortcut
        self.shiftSegments = shiftSegments
        super.init()
        func registerShortcut() {
            if let shortcut {
                register(shortcut.conv, at: keys.shortcut.conv)
                register(shortcut.norm, at: keys.shortcut.norm)
            }
        }
        if keys.shortcutFirst { registerShortcut() }
        for (unit, (convKey, normKey)) in zip(units, zip(keys.convs, keys.norms)) {
            register(unit.conv, at: convKey)
            register(unit.norm, at: normKey)
        }
        if !keys.shortcutFirst { registerShortcut() }
    }

    override func forward(_ x: Tensor) -> Tensor {
        // [N, Cin, (T,) H, W] → [N, Cout, (T′,) H′, W′]
        forward(x, branchInput: shiftSegments.map { temporalShift(x, segments: $0) } ?? x)
    }

    /// The block with `branchInput` (x, or x shifted) entering the first unit and x on the shortcut.
    func forward(_ x: Tensor, branchInput: Tensor) -> Tensor {
        let identity = shortcut.map { $0(x) } ?? x
        var y = branchInput
        for (i, unit) in units.enumerated() {
            let last = i == units.count - 1
            y = unit(y, residual: last ? identity : nil, relu: true)
        }
        return y
    }
}

/// Stages of residual blocks registered as `layer1`, `layer2`, … with blocks `0`, `1`, …
/// (torchvision's layout).
final class TorchvisionStage: Layer {
    let blocks: [ResidualBlock]

    init(_ blocks: [ResidualBlock]) {
        self.blocks = blocks
        super.init()
        for (i, b) in blocks.enumerated() { registerModule(String(i), b) }
    }

    override func forward(_ x: Tensor) -> Tensor { blocks.reduce(x) { $1($0) } }
}
