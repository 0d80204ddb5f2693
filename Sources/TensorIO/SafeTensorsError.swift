import Foundation

/// Why a safetensors file could not be read or written. Cases about one tensor name its key.
public enum SafeTensorsError: Error, Equatable, Sendable {
    /// Fewer than the 8 bytes that hold the header length.
    case fileTooShort(byteCount: Int)
    /// The declared header length is above `SafeTensors.maxHeaderLength`.
    case headerTooLarge(length: UInt64)
    /// The declared header length runs past the end of the file.
    case headerExceedsFile(length: UInt64, available: Int)
    /// The header is not valid JSON; `offset` counts from the first header byte.
    case invalidJSON(offset: Int, reason: String)
    /// The header is JSON but not a safetensors header: a field missing or of the wrong type.
    case invalidHeader(key: String?, reason: String)
    case unknownDType(key: String, dtype: String)
    /// A key appears twice: a tensor name, or a metadata key (reported as `__metadata__.key`).
    case duplicateKey(String)
    /// `__metadata__` names the metadata map and cannot name a tensor.
    case reservedName(String)
    /// `data_offsets` is reversed or runs past the `dataLength` bytes after the header.
    case offsetsOutOfRange(key: String, begin: Int, end: Int, dataLength: Int)
    /// The shape and dtype need a different number of bytes than `data_offsets` gives.
    case sizeMismatch(key: String, dtype: SafeTensors.DType, shape: [Int], byteCount: Int)
    /// Two tensors claim some of the same bytes.
    case overlappingTensors(key: String, other: String)
    /// Data bytes `begin..<end` belong to no tensor; `before` is the tensor that follows the gap.
    case uncoveredBytes(begin: Int, end: Int, before: String?)
    case io(path: String, reason: String)
    /// The header lists more than `SafeTensors.maxEntries` tensors.
    case tooManyEntries(count: Int)
}

extension SafeTensorsError: CustomStringConvertible, LocalizedError {
    public var description: String {
        switch self {
        case .fileTooShort(let n):
            "safetensors: file has \(n) bytes, fewer than the 8-byte header length"
        case .tooManyEntries(let count):
            "safetensors: the header lists \(count) tensors, more than the \(SafeTensors.maxEntries) allowed"
        case .headerTooLarge(let length):
            "safetensors: header length \(length) is above the \(SafeTensors.maxHeaderLength)-byte limit"
        case .headerExceedsFile(let length, let available):
            "safetensors: header length \(length) exceeds the \(available) bytes after it"
        case .invalidJSON(let offset, let reason):
            "safetensors: header is not valid JSON at byte \(offset): \(reason)"
        case .invalidHeader(let key?, let reason):
            "safetensors: \"\(key)\": \(reason)"
        case .invalidHeader(nil, let reason):
            "safetensors: \(reason)"
        case .unknownDType(let key, let dtype):
            "safetensors: \"\(key)\" has unknown or unsupported dtype \"\(dtype)\""
        case .duplicateKey(let key):
            "safetensors: \"\(key)\" appears more than once"
        case .reservedName(let key):
            "safetensors: \"\(key)\" is reserved for the metadata map and cannot name a tensor"
        case .offsetsOutOfRange(let key, let begin, let end, let dataLength):
            "safetensors: \"\(key)\" has data_offsets [\(begin), \(end)] outside the \(dataLength) data bytes"
        case .sizeMismatch(let key, let dtype, let shape, let byteCount):
            "safetensors: \"\(key)\" is \(dtype.rawValue) \(shape) but its data_offsets span \(byteCount) bytes"
        case .overlappingTensors(let key, let other):
            "safetensors: \"\(key)\" overlaps the data of \"\(other)\""
        case .uncoveredBytes(let begin, let end, let before?):
            "safetensors: data bytes \(begin)..<\(end) before \"\(before)\" belong to no tensor"
        case .uncoveredBytes(let begin, let end, nil):
            "safetensors: data bytes \(begin)..<\(end) at the end belong to no tensor"
        case .io(let path, let reason):
            "safetensors: \(path): \(reason)"
        }
    }

    public var errorDescription: String? { description }
}
