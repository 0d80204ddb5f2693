import CGzip

/// A zip reader: the central directory is read and every member checked (name, type, count)
/// before anything is written; then each member is copied or inflated with zlib, its bytes
/// charged to the limit as they are written, and its size and CRC-32 verified.
///
/// ZIPFoundation 0.9.20, a dependency, reads zips too, but not safely on Linux: its inflate loop
/// spins forever on a deflate stream that runs to the end of the file (a 150-byte zip hangs
/// `Archive.extract`), and it hands zlib more input than the chunk it read. So this reads the
/// format itself, bounded by each member's compressed size.
struct ZipReader {
    let file: FileSource

    private struct Member {
        var components: [String]
        var directory: Bool
        var shown: String
        var method: UInt16
        var crc: UInt32
        var compressedSize: Int64
        var size: Int64
        var localHeader: Int64
    }

    func extract(into destination: Destination, limits: ArchiveLimits, isCancelled: () -> Bool) throws(ArchiveError) {
        let members = try centralDirectory(limits: limits, isCancelled: isCancelled)
        let input = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 16)
        let output = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 18, alignment: 16)
        defer { input.deallocate(); output.deallocate() }
        let inflater = try Inflater(windowBits: -15)
        for member in members {
            if isCancelled() { throw .cancelled }
            if member.directory {
                try destination.directory(member.components)
                continue
            }
            guard !member.components.isEmpty else { throw .unsafePath(member.shown) }
            let out = try destination.file(member.components, declaredSize: member.size)
            var crc = crc32(0, nil, 0)
            func emit(_ bytes: UnsafeRawBufferPointer) throws(ArchiveError) {
                guard Int64(bytes.count) <= member.size - out.written else {
                    throw .malformed("\(member.shown) unpacks to more than the \(member.size) bytes its header says")
                }
                try out.write(bytes)
                crc = crc32(crc, bytes.baseAddress?.assumingMemoryBound(to: Bytef.self), uInt(bytes.count))
            }
            let local = try file.bytes(30, at: member.localHeader)
            guard Self.u32(local, 0) == 0x0403_4b50 else { throw .malformed("\(member.shown) has no local header where the directory says") }
            let dataStart = member.localHeader + 30 + Int64(Self.u16(local, 26)) + Int64(Self.u16(local, 28))
            guard member.compressedSize <= file.size - dataStart else { throw .malformed("\(member.shown)'s data runs past the end of the file") }
            var offset = dataStart, left = member.compressedSize
            if member.method == 0 {
                guard member.compressedSize == member.size else { throw .malformed("\(member.shown) is stored with two different sizes") }
                while left > 0 {
                    let chunk = UnsafeMutableRawBufferPointer(rebasing: input[..<Int(min(left, Int64(input.count)))])
                    try file.read(into: chunk, at: offset)
                    try emit(UnsafeRawBufferPointer(chunk))
                    offset += Int64(chunk.count); left -= Int64(chunk.count)
                    if isCancelled() { throw .cancelled }
                }
            } else {
                inflater.reset()
                var pending = UnsafeRawBufferPointer(rebasing: input[0..<0])
                var ended = false
                while !ended {
                    if pending.isEmpty {
                        guard left > 0 else { throw .malformed("\(member.shown)'s deflate data ends early") }
                        let chunk = UnsafeMutableRawBufferPointer(rebasing: input[..<Int(min(left, Int64(input.count)))])
                        try file.read(into: chunk, at: offset)
                        offset += Int64(chunk.count); left -= Int64(chunk.count)
                        pending = UnsafeRawBufferPointer(chunk)
                    }
                    let step = try inflater.step(pending, output)
                    pending = UnsafeRawBufferPointer(rebasing: pending[step.consumed...])
                    try emit(UnsafeRawBufferPointer(rebasing: output[..<step.produced]))
                    ended = step.ended
                    if step.consumed == 0 && step.produced == 0 && !ended && !pending.isEmpty {
                        throw .malformed("\(member.shown)'s deflate data makes no progress")
                    }
                    if isCancelled() { throw .cancelled }
                }
            }
            guard out.written == member.size else {
                throw .malformed("\(member.shown) unpacks to \(out.written) bytes, its header says \(member.size)")
            }
            guard UInt32(truncatingIfNeeded: crc) == member.crc else { throw .malformed("CRC-32 mismatch in \(member.shown)") }
            try out.close()
        }
    }

    /// The members, in directory order, all checked; `.tooManyFiles` straight from the count.
    private func centralDirectory(limits: ArchiveLimits, isCancelled: () -> Bool) throws(ArchiveError) -> [Member] {
        guard file.size >= 22 else { throw .malformed("too short for a zip (truncated upload?)") }
        let tailLength = min(file.size, 22 + 65535)
        let tail = try file.bytes(Int(tailLength), at: file.size - tailLength)
        guard let at = stride(from: tail.count - 22, through: 0, by: -1).first(where: {
            Self.u32(tail, $0) == 0x0605_4b50 && $0 + 22 + Int(Self.u16(tail, $0 + 20)) <= tail.count
        }) else { throw .malformed("no zip end-of-central-directory record (truncated upload?)") }
        let endRecord = file.size - tailLength + Int64(at)
        var count = UInt64(Self.u16(tail, at + 10))
        var size = UInt64(Self.u32(tail, at + 12)), offset = UInt64(Self.u32(tail, at + 16))
        guard Self.u16(tail, at + 4) == 0 || Self.u16(tail, at + 4) == 0xffff else { throw .malformed("a multi-disk zip") }
        var directoryEnd = endRecord
        if count == 0xffff || size == 0xffff_ffff || offset == 0xffff_ffff, endRecord >= 20 + 56 {
            // ZIP64: a locator just before the record points at the 64-bit record. Without one,
            // the saturated values are taken as they are (65535 members is a real count).
            let locator = try file.bytes(20, at: endRecord - 20)
            if Self.u32(locator, 0) == 0x0706_4b50 {
                let recordOffset = Self.u64(locator, 8)
                guard recordOffset <= UInt64(endRecord - 20 - 56) else { throw .malformed("a bad ZIP64 locator") }
                let record = try file.bytes(56, at: Int64(recordOffset))
                guard Self.u32(record, 0) == 0x0606_4b50 else { throw .malformed("no ZIP64 end-of-central-directory record") }
                count = Self.u64(record, 32); size = Self.u64(record, 40); offset = Self.u64(record, 48)
                directoryEnd = Int64(recordOffset)
            }
        }
        guard offset <= UInt64(directoryEnd), size <= UInt64(directoryEnd) - offset else {
            throw .malformed("the central directory lies outside the file (truncated upload?)")
        }
        guard count <= UInt64(limits.maxFiles) else { throw .tooManyFiles(limit: limits.maxFiles) }
        guard count <= size / 46 else { throw .malformed("the central directory is too small for \(count) members") }
        var members: [Member] = []
        members.reserveCapacity(Int(count))
        var position = Int64(offset)
        let end = Int64(offset + size)
        for _ in 0..<count {
            if isCancelled() { throw .cancelled }
            guard end - position >= 46 else { throw .malformed("the central directory ends early") }
            let record = try file.bytes(46, at: position)
            guard Self.u32(record, 0) == 0x0201_4b50 else { throw .malformed("a central directory record is corrupt") }
            let nameLength = Int(Self.u16(record, 28)), extraLength = Int(Self.u16(record, 30)), commentLength = Int(Self.u16(record, 32))
            guard Int64(nameLength + extraLength + commentLength) <= end - position - 46 else { throw .malformed("the central directory ends early") }
            let variable = try file.bytes(nameLength + extraLength, at: position + 46)
            position += 46 + Int64(nameLength + extraLength + commentLength)
            members.append(try member(record, name: Array(variable[..<nameLength]), extra: Array(variable[nameLength...])))
        }
        return members
    }

    private func member(_ record: [UInt8], name: [UInt8], extra: [UInt8]) throws(ArchiveError) -> Member {
        let path = try MemberPath.components(name)
        let shown = String(decoding: name, as: UTF8.self)
        var compressed = UInt64(Self.u32(record, 20)), size = UInt64(Self.u32(record, 24)), local = UInt64(Self.u32(record, 42))
        if compressed == 0xffff_ffff || size == 0xffff_ffff || local == 0xffff_ffff {
            // ZIP64 extended information (0x0001): the saturated fields, in this order.
            var at = 0
            var found = false
            while at + 4 <= extra.count {
                let id = Self.u16(extra, at), length = Int(Self.u16(extra, at + 2))
                guard at + 4 + length <= extra.count else { break }
                if id == 1 {
                    var field = at + 4
                    func next() throws(ArchiveError) -> UInt64 {
                        guard field + 8 <= at + 4 + length else { throw .malformed("\(shown)'s ZIP64 field is short") }
                        defer { field += 8 }
                        return Self.u64(extra, field)
                    }
                    if size == 0xffff_ffff { size = try next() }
                    if compressed == 0xffff_ffff { compressed = try next() }
                    if local == 0xffff_ffff { local = try next() }
                    found = true
                }
                at += 4 + length
            }
            guard found else { throw .malformed("\(shown) has saturated sizes but no ZIP64 field") }
        }
        guard compressed <= UInt64(Int64.max), size <= UInt64(Int64.max), local <= UInt64(Int64.max) else {
            throw .malformed("\(shown)'s sizes are out of range")
        }
        let flags = Self.u16(record, 8), method = Self.u16(record, 10)
        guard flags & 1 == 0 else { throw .malformed("\(shown) is encrypted") }
        // Unix and macOS writers keep st_mode in the high half of the external attributes.
        let host = Self.u16(record, 4) >> 8, external = Self.u32(record, 38)
        var directory = path.directory || (host == 0 && external & 0x10 != 0)
        if host == 3 || host == 19 {
            switch (external >> 16) & 0o170000 {
            case 0o120000: throw .link(shown)
            case 0o040000: directory = true
            case 0o100000, 0: break
            default: throw .specialFile(shown)
            }
        }
        if directory {
            guard size == 0 else { throw .malformed("\(shown) names a directory but holds data") }
        } else {
            guard method == 0 || method == 8 else { throw .malformed("\(shown) uses compression method \(method); only stored and deflate are read") }
        }
        return Member(components: path.components, directory: directory, shown: shown, method: method,
                      crc: Self.u32(record, 16), compressedSize: Int64(compressed), size: Int64(size), localHeader: Int64(local))
    }

    static func u16(_ b: [UInt8], _ at: Int) -> UInt16 { UInt16(b[at]) | UInt16(b[at + 1]) << 8 }
    static func u32(_ b: [UInt8], _ at: Int) -> UInt32 { UInt32(u16(b, at)) | UInt32(u16(b, at + 2)) << 16 }
    static func u64(_ b: [UInt8], _ at: Int) -> UInt64 { UInt64(u32(b, at)) | UInt64(u32(b, at + 4)) << 32 }
}
