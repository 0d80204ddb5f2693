import Engine
import Foundation
import TensorIO

extension Module {
    /// Writes `stateDict()` as a safetensors file (F32, PyTorch key names), atomically.
    public func saveSafetensors(to url: URL, metadata: [String: String] = ["format": "pt"]) throws {
        try SafeTensors(stateDict().map { (name: $0.0, tensor: $0.1) }, metadata: metadata).write(to: url)
    }

    /// Loads a safetensors state dict into this module; errors name the file's bad bytes or the
    /// missing, unexpected or mis-shaped key.
    public func loadSafetensors(from url: URL, strict: Bool = true) throws {
        try loadStateDict(SafeTensors(contentsOf: url).tensors, strict: strict)
    }
}
