import Engine
import Foundation

extension SafeTensors {
    /// Reads a file through a memory map, so each F32 tensor costs one copy from the page cache.
    public init(contentsOf url: URL) throws(SafeTensorsError) {
        let data: Data
        do {
            data = try Data(contentsOf: url, options: .alwaysMapped)
        } catch {
            throw .io(path: url.path, reason: error.localizedDescription)
        }
        try self.init(data: data)
    }

    /// Parses and validates untrusted bytes; nothing is allocated for tensors until the whole
    /// header has checked out.
    public init(data: Data) throws(SafeTensorsError) {
        // `withUnsafeBytes` only rethrows untyped errors, so carry the typed one out in a Result.
        let decoded = data.withUnsafeBytes { file in
            Result { () throws(SafeTensorsError) in try Self.decode(file) }
        }
        let (entries, metadata) = try decoded.get()
        self.init(checked: entries, metadata: metadata)
    }

    private static func decode(_ file: UnsafeRawBufferPointer) throws(SafeTensorsError) -> ([Entry], [String: String]) {
        guard file.count >= 8 else { throw .fileTooShort(byteCount: file.count) }
        let headerLength = UInt64(littleEndian: file.loadUnaligned(as: UInt64.self))
        guard headerLength <= maxHeaderLength else { throw .headerTooLarge(length: headerLength) }
        guard headerLength <= file.count - 8 else {
            throw .headerExceedsFile(length: headerLength, available: file.count - 8)
        }
        let dataStart = 8 + Int(headerLength)
        let dataLength = file.count - dataStart
        let (layouts, metadata) = try parseHeader(UnsafeRawBufferPointer(rebasing: file[8..<dataStart]),
                                                  dataLength: dataLength)
        try checkCoverage(layouts, dataLength: dataLength)

        let entries = layouts.map { layout in
            let storage = Storage(uninitializedCount: layout.count)
            if layout.count > 0, let base = file.baseAddress {
                layout.dtype.convert(base + dataStart + layout.begin, count: layout.count, into: storage.pointer)
            }
            return Entry(name: layout.name, dtype: layout.dtype, tensor: Tensor(shape: layout.shape, storage: storage))
        }
        return (entries, metadata)
    }
}

/// One header entry, checked against the data size but not yet read.
private struct Layout {
    let name: String
    let dtype: SafeTensors.DType
    let shape: [Int]
    let count: Int
    let begin: Int
    let end: Int
}

private func parseHeader(_ header: UnsafeRawBufferPointer,
                         dataLength: Int) throws(SafeTensorsError) -> ([Layout], [String: String]) {
    let json: JSON
    do {
        json = try JSONParser.parse(header)
    } catch {
        throw .invalidJSON(offset: error.offset, reason: error.reason)
    }
    guard case .object(let members) = json else {
        throw .invalidHeader(key: nil, reason: "the header is not a JSON object")
    }
    guard members.count <= SafeTensors.maxEntries + 1 else { throw .tooManyEntries(count: members.count - (members.contains { $0.0 == "__metadata__" } ? 1 : 0)) }
    var seen = Set<String>()
    var layouts: [Layout] = []
    var metadata: [String: String] = [:]
    for (key, value) in members {
        guard seen.insert(key).inserted else { throw .duplicateKey(key) }
        if key == "__metadata__" {
            metadata = try parseMetadata(value)
        } else {
            layouts.append(try parseEntry(key, value, dataLength: dataLength))
        }
    }
    return (layouts, metadata)
}

private func parseMetadata(_ value: JSON) throws(SafeTensorsError) -> [String: String] {
    guard case .object(let members) = value else {
        throw .invalidHeader(key: "__metadata__", reason: "metadata is not a JSON object")
    }
    var metadata: [String: String] = [:]
    for (key, value) in members {
        guard case .string(let text) = value else {
            throw .invalidHeader(key: "__metadata__", reason: "the value of \"\(key)\" is not a string")
        }
        guard metadata.updateValue(text, forKey: key) == nil else { throw .duplicateKey("__metadata__.\(key)") }
    }
    return metadata
}

private func parseEntry(_ key: String, _ value: JSON, dataLength: Int) throws(SafeTensorsError) -> Layout {
    guard case .object(let fields) = value else {
        throw .invalidHeader(key: key, reason: "the entry is not a JSON object")
    }
    var dtypeName: String?
    var shape: [Int]?
    var offsets: [Int]?
    var seen = Set<String>()
    // Fields other than these three are ignored, as the reference reader does.
    for (field, value) in fields where ["dtype", "shape", "data_offsets"].contains(field) {
        guard seen.insert(field).inserted else {
            throw .invalidHeader(key: key, reason: "the field \"\(field)\" appears twice")
        }
        switch (field, value) {
        case ("dtype", .string(let name)): dtypeName = name
        case ("shape", _): shape = naturals(value)
        case ("data_offsets", _): offsets = naturals(value)
        default: break
        }
    }
    guard let dtypeName else { throw .invalidHeader(key: key, reason: "\"dtype\" is missing or not a string") }
    guard let shape else {
        throw .invalidHeader(key: key, reason: "\"shape\" is missing or not an array of non-negative integers")
    }
    guard let offsets, offsets.count == 2 else {
        throw .invalidHeader(key: key, reason: "\"data_offsets\" is missing or not two non-negative integers")
    }
    guard let dtype = SafeTensors.DType(rawValue: dtypeName) else {
        throw .unknownDType(key: key, dtype: dtypeName)
    }
    let (begin, end) = (offsets[0], offsets[1])
    guard begin <= end, end <= dataLength else {
        throw .offsetsOutOfRange(key: key, begin: begin, end: end, dataLength: dataLength)
    }
    // Overflow can only mean a shape far too large for the bytes given.
    var count = 1
    var overflow = false
    for dim in shape {
        (count, overflow) = count.multipliedReportingOverflow(by: dim)
        if overflow { break }
    }
    let byteCount = overflow ? nil : count.multipliedReportingOverflow(by: dtype.byteSize)
    guard let byteCount, !byteCount.overflow, byteCount.partialValue == end - begin else {
        throw .sizeMismatch(key: key, dtype: dtype, shape: shape, byteCount: end - begin)
    }
    return Layout(name: key, dtype: dtype, shape: shape, count: count, begin: begin, end: end)
}

/// The elements of a JSON array of non-negative integers, or nil for anything else.
private func naturals(_ value: JSON) -> [Int]? {
    guard case .array(let elements) = value else { return nil }
    var result: [Int] = []
    for element in elements {
        guard case .integer(let n) = element, n >= 0 else { return nil }
        result.append(n)
    }
    return result
}

/// The tensors, taken in offset order, must tile the data exactly: no overlap, no gap, no tail.
/// A reader that skipped this could alias two tensors or hide bytes in a file.
private func checkCoverage(_ layouts: [Layout], dataLength: Int) throws(SafeTensorsError) {
    let sorted = layouts.sorted { ($0.begin, $0.end) < ($1.begin, $1.end) }
    var covered = 0
    var coveredBy = ""
    for layout in sorted {
        if layout.begin < covered { throw .overlappingTensors(key: layout.name, other: coveredBy) }
        if layout.begin > covered { throw .uncoveredBytes(begin: covered, end: layout.begin, before: layout.name) }
        (covered, coveredBy) = (layout.end, layout.name)
    }
    if covered < dataLength { throw .uncoveredBytes(begin: covered, end: dataLength, before: nil) }
}
