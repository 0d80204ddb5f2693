import Engine
import NN

/// I3D inflation (Carreira & Zisserman 2017): a 2D ImageNet ResNet's weights, with torchvision's
/// keys, into a 3D ResNet of the same layout.
///
/// A k×k kernel becomes kT×k×k: repeated along T and divided by kT (`.mean`), or placed in the
/// centre slice with zeros around it (`.centre`). Batch norms and biases are copied. With `.centre`
/// the inflated network on a clip of one frame repeated T times gives exactly the 2D network's
/// features of that frame; with `.mean` it does so away from the temporal borders.
public enum Inflation {
    public enum Mode: String, Codable, Sendable { case mean, centre }

    public enum Error: Swift.Error, CustomStringConvertible, Equatable {
        case missingKey(String, for: String)
        case shapeMismatch(key: String, twoD: [Int], threeD: [Int])

        public var description: String {
            switch self {
            case .missingKey(let key, let target): "inflation: the 2D state dict has no \(key) (for \(target))"
            case .shapeMismatch(let key, let a, let b): "inflation: \(key) is \(a) in 2D but \(b) in 3D"
            }
        }
    }

    /// Fills `model` from `state` (torchvision `resnet50` keys). The classifier is copied when its
    /// shape matches and left as initialised otherwise. Returns the 3D keys that were not filled.
    @discardableResult
    public static func inflate(_ state: [String: Tensor], into model: SlowResNet, mode: Mode = .mean) throws(Error) -> [String] {
        var left: [String] = []
        for (key, target) in model.stateDict() {
            guard let source2D = torchvisionKey(for: key, in: model.config) else { left.append(key); continue }
            guard let source = state[source2D] else {
                if key.hasSuffix("num_batches_tracked") || key.contains("proj") { left.append(key); continue }
                throw .missingKey(source2D, for: key)
            }
            if source.shape == target.shape {
                target.assign(source)
            } else if source.rank == 4, target.rank == 5, Array(target.shape.prefix(2)) == Array(source.shape.prefix(2)),
                      Array(target.shape.suffix(2)) == Array(source.shape.suffix(2)) {
                inflateKernel(source, into: target, mode: mode)
            } else if key.contains("proj") {
                left.append(key)
            } else {
                throw .shapeMismatch(key: key, twoD: source.shape, threeD: target.shape)
            }
        }
        return left
    }

    /// [O, I, kh, kw] → [O, I, kT, kh, kw].
    static func inflateKernel(_ w: Tensor, into target: Tensor, mode: Mode) {
        let kt = target.shape[2], plane = w.shape[2] * w.shape[3], pairs = w.shape[0] * w.shape[1]
        target.fill(0)
        for p in 0..<pairs {
            let src = w.data + p * plane
            for t in 0..<kt where mode == .mean || t == kt / 2 {
                let dst = target.data + (p * kt + t) * plane
                let scale: Float = mode == .mean ? 1 / Float(kt) : 1
                for i in 0..<plane { dst[i] = src[i] * scale }
            }
        }
    }

    /// The torchvision ResNet key that feeds a PyTorchVideo ResNet key, or nil for none.
    static func torchvisionKey(for key: String, in config: SlowResNet.Config) -> String? {
        var parts = key.split(separator: ".").map(String.init)
        guard parts.count >= 3, parts[0] == "blocks", let block = Int(parts[1]) else { return nil }
        if block == 0 {
            let rest = parts.dropFirst(3).joined(separator: ".")
            return parts[2] == "conv" ? "conv1.\(rest)" : parts[2] == "norm" ? "bn1.\(rest)" : nil
        }
        if parts[2] == "proj" { return "fc." + parts.dropFirst(3).joined(separator: ".") }
        guard parts[2] == "res_blocks", parts.count >= 5 else { return nil }
        let stage = config.poolAfterFirstStage && block > 1 ? block - 1 : block
        let names: [String: String] = [
            "branch2.conv_a": "conv1", "branch2.norm_a": "bn1", "branch2.conv_b": "conv2", "branch2.norm_b": "bn2",
            "branch2.conv_c": "conv3", "branch2.norm_c": "bn3", "branch1_conv": "downsample.0", "branch1_norm": "downsample.1",
        ]
        parts = Array(parts.dropFirst(4))
        let twoParts = parts.count >= 3 ? parts[0] + "." + parts[1] : ""
        if let name = names[twoParts] {
            return "layer\(stage).\(key.split(separator: ".")[3]).\(name).\(parts.dropFirst(2).joined(separator: "."))"
        }
        if let name = names[parts[0]] {
            return "layer\(stage).\(key.split(separator: ".")[3]).\(name).\(parts.dropFirst(1).joined(separator: "."))"
        }
        return nil
    }
}
