import Foundation

/// One entry point for the weight files Motive reads: safetensors, and PyTorch checkpoints
/// (`.pth`, `.pt`, `.bin`). The format comes from the first bytes, never from the extension.
public enum WeightFile {
    public enum Format: Sendable, Equatable {
        /// A zip: `torch.save` since torch 1.6.
        case torchZip
        /// A bare pickle: `torch.save` before torch 1.6, which is refused.
        case pickle
        /// Anything else is read as safetensors, whose reader explains what is wrong with it.
        case safetensors
    }

    /// Decided on structure, not on one byte: "PK\u{3}\u{4}" starts a zip; a little-endian
    /// header length that fits the file, followed by `{`, is safetensors (whose first byte is
    /// 0x80 whenever the header is 128, 384, 640, … bytes long); pickle's PROTO opcode 0x80
    /// followed by a protocol number 2–5 is a bare pickle.
    public static func format(of data: Data) -> Format {
        if data.starts(with: [0x50, 0x4B, 0x03, 0x04]) { return .torchZip }
        if data.count >= 10 {
            let base = data.startIndex
            let length = (0..<8).reduce(UInt64(0)) { $0 | UInt64(data[base + $1]) << (8 * UInt64($1)) }
            if length >= 2, length <= UInt64(data.count - 8), data[base + 8] == UInt8(ascii: "{") { return .safetensors }
        }
        if data.count >= 2, data[data.startIndex] == 0x80, (2...5).contains(data[data.startIndex + 1]) { return .pickle }
        return .safetensors
    }

    /// The state dict of a weight file: every tensor of a safetensors file, or
    /// `TorchCheckpoint.stateDict()` of a torch checkpoint.
    public static func stateDict(contentsOf url: URL) throws(WeightFileError) -> SafeTensors {
        let data: Data
        do {
            data = try Data(contentsOf: url, options: .alwaysMapped)
        } catch {
            throw .io(path: url.path, reason: error.localizedDescription)
        }
        switch format(of: data) {
        case .torchZip, .pickle:
            do { return try TorchCheckpoint(contentsOf: url).stateDict() } catch { throw .torch(error) }
        case .safetensors:
            do { return try SafeTensors(data: data) } catch { throw .safetensors(error) }
        }
    }

    public static func stateDict(data: Data) throws(WeightFileError) -> SafeTensors {
        switch format(of: data) {
        case .torchZip, .pickle:
            do { return try TorchCheckpoint(data: data).stateDict() } catch { throw .torch(error) }
        case .safetensors:
            do { return try SafeTensors(data: data) } catch { throw .safetensors(error) }
        }
    }
}

/// Why `WeightFile` could not read a file: the error of the reader its first bytes chose.
public enum WeightFileError: Error, Equatable, Sendable, CustomStringConvertible, LocalizedError {
    case io(path: String, reason: String)
    case safetensors(SafeTensorsError)
    case torch(TorchError)

    public var description: String {
        switch self {
        case .io(let path, let reason): "weight file: \(path): \(reason)"
        case .safetensors(let error): error.description
        case .torch(let error): error.description
        }
    }

    public var errorDescription: String? { description }
}
