import Foundation

/// Why a PyTorch checkpoint could not be read. Pickle cases give the byte offset in `data.pkl`.
public enum TorchError: Error, Equatable, Sendable {
    // The container.
    case io(path: String, reason: String)
    /// A pickle stream outside a zip: what `torch.save` wrote before torch 1.6.
    case legacyFormat
    /// Neither a zip nor a pickle; `magic` is the first bytes in hex.
    case notACheckpoint(magic: String)
    /// ZIPFoundation could not read the archive or one of its entries.
    case zip(String)
    /// The archive has no `<folder>/data.pkl`: a zip, but not one `torch.save` wrote.
    case noDataPickle
    /// A record the pickle needs (a storage, normally `<folder>/data/<key>`) is not in the archive.
    case missingRecord(String)
    /// A record is compressed, a directory or a link; `torch.save` stores plain files only.
    case unsupportedRecord(String, reason: String)
    /// The `byteorder` record says something other than "little".
    case byteOrder(String)
    /// A storage record holds a different number of bytes than its element count needs.
    case storageSize(key: String, storage: String, expected: Int, found: Int)

    // The pickle stream.
    /// The stream ends inside an opcode's operand, or before STOP.
    case truncated(offset: Int)
    case unknownOpcode(UInt8, offset: Int)
    case unsupportedProtocol(Int, offset: Int)
    /// An opcode needs more stack items (or a MARK) than there are.
    case stackUnderflow(opcode: String, offset: Int)
    /// A GET names a memo slot that no PUT filled.
    case memoMiss(index: Int, offset: Int)
    /// A GLOBAL outside the allowlist, named as pickled (`posix.system`, `__builtin__.eval`).
    /// Nothing is ever imported or called; this is where an unsafe checkpoint stops.
    case forbiddenGlobal(String)
    /// Operands of the wrong kind: APPEND to a dict, a tensor rebuilt from a string, a cycle, …
    case malformedPickle(offset: Int, reason: String)
    /// A size beyond what the file can hold: a tensor bigger than its budget, nesting too deep.
    case tooLarge(offset: Int, reason: String)

    // The value tree.
    /// No dict of tensors was found where a state dict should be.
    case noStateDict(String)
}

extension TorchError: CustomStringConvertible, LocalizedError {
    public var description: String {
        switch self {
        case .io(let path, let reason):
            "torch checkpoint: \(path): \(reason)"
        case .legacyFormat:
            "torch checkpoint: this is the legacy (pre-1.6) torch.save format, which Motive does not read; "
                + "re-save it with torch 1.6 or newer: torch.save(torch.load(path), new_path)"
        case .notACheckpoint(let magic):
            "torch checkpoint: neither a zip nor a pickle (the file starts with \(magic))"
        case .zip(let reason):
            "torch checkpoint: unreadable zip: \(reason)"
        case .noDataPickle:
            "torch checkpoint: the zip has no <folder>/data.pkl, so torch.save did not write it"
        case .missingRecord(let path):
            "torch checkpoint: the zip has no record \"\(path)\""
        case .unsupportedRecord(let path, let reason):
            "torch checkpoint: record \"\(path)\" \(reason)"
        case .byteOrder(let order):
            "torch checkpoint: byte order \"\(order)\" is not supported; re-save it on a little-endian machine"
        case .storageSize(let key, let storage, let expected, let found):
            "torch checkpoint: storage \"\(key)\" (\(storage)) needs \(expected) bytes, its record holds \(found)"
        case .truncated(let offset):
            "torch checkpoint: data.pkl ends early, at byte \(offset)"
        case .unknownOpcode(let byte, let offset):
            "torch checkpoint: data.pkl has unknown or unsupported opcode 0x\(String(byte, radix: 16)) at byte \(offset)"
        case .unsupportedProtocol(let version, let offset):
            "torch checkpoint: data.pkl uses pickle protocol \(version) (byte \(offset)); Motive reads 2 to 5"
        case .stackUnderflow(let opcode, let offset):
            "torch checkpoint: data.pkl opcode \(opcode) at byte \(offset) finds too few values on the stack"
        case .memoMiss(let index, let offset):
            "torch checkpoint: data.pkl reads memo slot \(index) at byte \(offset), which was never written"
        case .forbiddenGlobal(let name):
            "torch checkpoint: refused global \(name): the file asks to import or call it, and Motive only "
                + "allows the tensor and container types torch.save uses for state dicts (nothing was run)"
        case .malformedPickle(let offset, let reason):
            "torch checkpoint: data.pkl at byte \(offset): \(reason)"
        case .tooLarge(let offset, let reason):
            "torch checkpoint: data.pkl at byte \(offset): \(reason)"
        case .noStateDict(let reason):
            "torch checkpoint: no state dict: \(reason)"
        }
    }

    public var errorDescription: String? { description }
}
