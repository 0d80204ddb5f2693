/// One 512-byte tar header: ustar (POSIX), GNU or v7, with its checksum verified.
struct TarHeader {
    static let blockSize = 512

    /// The name as stored: ustar's prefix and name joined with `/`, up to their NULs.
    var name: [UInt8]
    var type: UInt8
    var size: Int64

    init(_ block: UnsafeRawBufferPointer) throws(ArchiveError) {
        guard block.count == Self.blockSize, Self.hasValidChecksum(block) else {
            throw .malformed("a tar header's checksum is wrong (not a tar file, or corrupt)")
        }
        guard let size = Self.number(block, 124, 12), size >= 0 else { throw .malformed("a tar header's size field is not a number") }
        self.size = size
        type = block[156]
        name = Self.field(block, 0, 100)
        // POSIX ustar ("ustar\0") keeps long names' leading folders in `prefix`; GNU ("ustar ")
        // uses those bytes for other things, and v7 has nothing there.
        if Self.bytes(block, 257, 6) == Array("ustar\0".utf8) {
            let prefix = Self.field(block, 345, 155)
            if !prefix.isEmpty { name = prefix + [UInt8(ascii: "/")] + name }
        }
    }

    /// The header checksum: the sum of the block's bytes with the checksum field counted as spaces,
    /// as unsigned bytes (or, as some old tars wrote it, signed).
    static func hasValidChecksum(_ block: UnsafeRawBufferPointer) -> Bool {
        guard block.count >= blockSize, let stored = octal(block, 148, 8) else { return false }
        var unsigned: Int64 = 0, signed: Int64 = 0
        for i in 0..<blockSize {
            let b = (148..<156).contains(i) ? UInt8(ascii: " ") : block[i]
            unsigned += Int64(b)
            signed += Int64(Int8(bitPattern: b))
        }
        return stored == unsigned || stored == signed
    }

    static func isZero(_ block: UnsafeRawBufferPointer) -> Bool {
        block.allSatisfy { $0 == 0 }
    }

    /// A numeric field: octal digits, optionally space-padded and NUL- or space-terminated, or
    /// GNU's base-256 (top bit of the first byte set) for values octal cannot hold.
    static func number(_ block: UnsafeRawBufferPointer, _ offset: Int, _ length: Int) -> Int64? {
        let first = block[offset]
        guard first & 0x80 != 0 else { return octal(block, offset, length) }
        guard first == 0x80 else { return nil }   // 0xff is a negative number
        var value: UInt64 = 0
        for i in (offset + 1)..<(offset + length) {
            guard value >> 55 == 0 else { return nil }
            value = value << 8 | UInt64(block[i])
        }
        return value <= UInt64(Int64.max) ? Int64(value) : nil
    }

    private static func octal(_ block: UnsafeRawBufferPointer, _ offset: Int, _ length: Int) -> Int64? {
        var i = offset
        let end = offset + length
        while i < end, block[i] == UInt8(ascii: " ") { i += 1 }
        var value: Int64 = 0, digits = 0
        while i < end, (UInt8(ascii: "0")...UInt8(ascii: "7")).contains(block[i]) {
            guard value >> 60 == 0 else { return nil }
            value = value * 8 + Int64(block[i] - UInt8(ascii: "0"))
            digits += 1
            i += 1
        }
        guard digits > 0 else { return nil }
        while i < end {
            guard block[i] == 0 || block[i] == UInt8(ascii: " ") else { return nil }
            i += 1
        }
        return value
    }

    private static func field(_ block: UnsafeRawBufferPointer, _ offset: Int, _ length: Int) -> [UInt8] {
        let bytes = bytes(block, offset, length)
        return Array(bytes.prefix { $0 != 0 })
    }

    private static func bytes(_ block: UnsafeRawBufferPointer, _ offset: Int, _ length: Int) -> [UInt8] {
        Array(UnsafeRawBufferPointer(rebasing: block[offset..<(offset + length)]))
    }
}

/// Bytes from a source through one buffer, in the sizes the tar parser asks for.
final class BufferedInput {
    private let source: any ByteSource
    private let buffer: UnsafeMutableRawBufferPointer
    private var start = 0, end = 0

    init(_ source: any ByteSource, capacity: Int = 1 << 20) {
        self.source = source
        buffer = .allocate(byteCount: capacity, alignment: 16)
    }

    deinit { buffer.deallocate() }

    /// The next `count` bytes (at most the buffer's capacity), valid until the next call; nil if
    /// the stream ends before the first of them, `.malformed` if it ends among them.
    func exactly(_ count: Int) throws(ArchiveError) -> UnsafeRawBufferPointer? {
        precondition(count <= buffer.count)
        if end - start < count {
            if start > 0 {
                buffer.baseAddress!.copyMemory(from: buffer.baseAddress! + start, byteCount: end - start)
                end -= start
                start = 0
            }
            while end < count {
                let n = try source.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[end...]))
                if n == 0 {
                    if end == 0 { return nil }
                    throw .malformed("the archive ends inside a record (truncated upload?)")
                }
                end += n
            }
        }
        defer { start += count }
        return UnsafeRawBufferPointer(rebasing: buffer[start..<(start + count)])
    }

    /// Between 1 and `limit` bytes, valid until the next call; `.malformed` at the end of the stream.
    func some(_ limit: Int) throws(ArchiveError) -> UnsafeRawBufferPointer {
        if start == end {
            start = 0
            end = try source.read(into: buffer)
            guard end > 0 else { throw .malformed("the archive ends inside a member's data (truncated upload?)") }
        }
        let count = min(limit, end - start)
        defer { start += count }
        return UnsafeRawBufferPointer(rebasing: buffer[start..<(start + count)])
    }

    func skip(_ count: Int64) throws(ArchiveError) {
        var left = count
        while left > 0 { left -= Int64(try some(Int(min(left, Int64(buffer.count)))).count) }
    }

    /// Reads on to the end of the stream, up to `limit` bytes, so that a gzip trailer is checked;
    /// what lies past `limit` is left unread.
    func drain(upTo limit: Int) throws(ArchiveError) {
        var left = limit
        while left > 0 {
            if start == end {
                start = 0
                end = try source.read(into: buffer)
                if end == 0 { return }
            }
            let count = min(left, end - start)
            start += count
            left -= count
        }
    }
}

/// A streaming tar reader: each member is checked, then written through the destination, one
/// buffer at a time; nothing but the current header and metadata is held in memory.
struct TarReader {
    /// pax and GNU long-name records are metadata; more than this is not a name.
    static let maxMetadata = 1 << 20

    let input: BufferedInput
    /// For tar.gz: read the tail after the end blocks, so that a truncated gzip trailer is caught.
    var checksTrailer = false

    /// What pax (`x`) and GNU (`L`) headers say about the member after them.
    private struct Pending {
        var name: [UInt8]?
        var size: Int64?
        var sparse = false

        mutating func apply(_ records: [(key: String, value: [UInt8])]) throws(ArchiveError) {
            for (key, value) in records {
                switch key {
                case "path": name = value.isEmpty ? nil : value
                case "size":
                    guard !value.isEmpty, value.count <= 18, value.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }),
                          let n = Int64(String(decoding: value, as: UTF8.self)) else { throw .malformed("a pax size is not a number") }
                    size = n
                default:
                    if key.hasPrefix("GNU.sparse.") { sparse = true }
                }
            }
        }
    }

    func extract(into destination: Destination, isCancelled: () -> Bool) throws(ArchiveError) {
        var pending = Pending()
        while true {
            if isCancelled() { throw .cancelled }
            guard let block = try input.exactly(TarHeader.blockSize) else {
                throw .malformed("the archive ends without its end-of-archive blocks (truncated upload?)")
            }
            if TarHeader.isZero(block) {
                guard let second = try input.exactly(TarHeader.blockSize), TarHeader.isZero(second) else {
                    throw .malformed("the archive ends after a lone zero block (truncated upload?)")
                }
                if checksTrailer { try input.drain(upTo: Self.maxMetadata) }
                return
            }
            let header = try TarHeader(block)
            let name = pending.name ?? header.name
            let size = pending.size ?? header.size
            let shown = String(decoding: name, as: UTF8.self)
            switch header.type {
            case UInt8(ascii: "x"):
                try pending.apply(Self.paxRecords(metadata(header.size)))
                continue
            case UInt8(ascii: "g"), UInt8(ascii: "K"):   // global pax defaults; a GNU long link target
                _ = try metadata(header.size)
                continue
            case UInt8(ascii: "L"):
                pending.name = Array(try metadata(header.size).prefix { $0 != 0 })
                continue
            case UInt8(ascii: "0"), 0, UInt8(ascii: "7"):   // '7' (contiguous) is a regular file
                if pending.sparse { throw .specialFile(shown) }
                let path = try MemberPath.components(name)
                if path.directory {
                    guard size == 0 else { throw .malformed("\(shown) names a directory but holds data") }
                    try destination.directory(path.components)
                } else {
                    guard !path.components.isEmpty else { throw .unsafePath(shown) }
                    try copy(size, to: destination.file(path.components, declaredSize: size), isCancelled: isCancelled)
                }
            case UInt8(ascii: "5"):
                try destination.directory(MemberPath.components(name).components)
                try input.skip(Self.padded(size))
            case UInt8(ascii: "1"), UInt8(ascii: "2"):
                throw .link(shown)
            default:
                throw .specialFile(shown)
            }
            pending = Pending()
        }
    }

    private func copy(_ size: Int64, to file: OutputFile, isCancelled: () -> Bool) throws(ArchiveError) {
        var left = size
        while left > 0 {
            let chunk = try input.some(Int(min(left, 1 << 20)))
            try file.write(chunk)
            left -= Int64(chunk.count)
            if isCancelled() { throw .cancelled }
        }
        try file.close()
        try input.skip(Self.padded(size) - size)
    }

    /// A metadata member's data, bounded by `maxMetadata`.
    private func metadata(_ size: Int64) throws(ArchiveError) -> [UInt8] {
        guard size <= Self.maxMetadata else { throw .malformed("a \(size)-byte pax or long-name header") }
        guard size > 0 else { return [] }
        guard let bytes = try input.exactly(Int(Self.padded(size))) else {
            throw .malformed("the archive ends inside a pax or long-name header")
        }
        return Array(bytes.prefix(Int(size)))
    }

    private static func padded(_ size: Int64) -> Int64 {
        let block = Int64(TarHeader.blockSize)
        return (size + block - 1) / block * block
    }

    /// pax records: `LENGTH KEY=VALUE\n`, LENGTH counting the whole record in bytes.
    static func paxRecords(_ data: [UInt8]) throws(ArchiveError) -> [(key: String, value: [UInt8])] {
        var records: [(key: String, value: [UInt8])] = []
        var at = 0
        while at < data.count {
            var length = 0, i = at
            while i < data.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(data[i]), i - at < 10 {
                length = length * 10 + Int(data[i] - UInt8(ascii: "0"))
                i += 1
            }
            guard i > at, i < data.count, data[i] == UInt8(ascii: " "), length > i - at + 1,
                  length <= data.count - at, data[at + length - 1] == UInt8(ascii: "\n") else {
                if data[at...].allSatisfy({ $0 == 0 }) { break }   // NUL padding some writers leave
                throw .malformed("a pax header record does not parse")
            }
            let body = data[(i + 1)..<(at + length - 1)]
            guard let equals = body.firstIndex(of: UInt8(ascii: "=")) else { throw .malformed("a pax header record has no =") }
            records.append((String(decoding: body[..<equals], as: UTF8.self), Array(body[(equals + 1)...])))
            at += length
        }
        return records
    }
}
