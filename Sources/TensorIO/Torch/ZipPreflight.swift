import Foundation

/// A check of the zip's directory before ZIPFoundation (0.9.20) reads it.
///
/// ZIPFoundation trusts the 64-bit offsets and sizes in a directory: an offset past `Int64.max`
/// traps in its `off_t` conversion, and a stored record whose size runs past the end of the file
/// makes `extract` loop over empty reads for as long as the size says. So this walks the
/// directory exactly as ZIPFoundation will (the same end record, the same ZIP64 lookup, the same
/// entries, the same "effective" values) and refuses the file if any offset or size it would use
/// lies beyond the file. Where ZIPFoundation would give up on its own (no end record, a broken
/// entry that ends its iteration), this stops too and leaves the error to ZIPFoundation.
enum ZipPreflight {
    static func check(_ data: Data) throws(TorchError) {
        // `withUnsafeBytes` only rethrows untyped errors, so the typed one comes out in a Result.
        try data.withUnsafeBytes { file in Result { () throws(TorchError) in try walk(Bytes(file)) } }.get()
    }

    private static func walk(_ file: Bytes) throws(TorchError) {
        let size = UInt64(file.count)
        // The end record: the last signature at or before count − 22, comment included.
        guard file.count >= 22 else { return }
        var position = file.count - 22
        while file.u32(position) != 0x0605_4B50 {
            guard position > 0 else { return }
            position -= 1
        }
        let end = position
        guard let commentLength = file.u16(end + 20), end + 22 + commentLength <= file.count,
              let shortCount = file.u16(end + 10), let shortOffset = file.u32(end + 16) else { return }
        var entryCount = UInt64(shortCount)
        var directory = UInt64(shortOffset)
        // ZIP64: a locator right before the end record and a record right before the locator.
        if end > 20, end - 20 > 56 {
            let (locator, record) = (end - 20, end - 76)
            if file.u32(locator) == 0x0706_4B50, file.u32(record) == 0x0606_4B50, let version = file.u16(record + 14),
               version >= 45, let count = file.u64(record + 32), let offset = file.u64(record + 48) {
                (entryCount, directory) = (count, offset)
            }
        }
        guard directory <= size else {
            throw .zip("the central directory starts at byte \(directory), past the end of the \(size)-byte file")
        }
        var index = Int(directory)
        var entry: UInt64 = 0
        while entry < entryCount {
            guard file.u32(index) == 0x0201_4B50, let version = file.u16(index + 6), let flags = file.u16(index + 8),
                  let compressed = file.u32(index + 20), let uncompressed = file.u32(index + 24),
                  let nameLength = file.u16(index + 28), let extraLength = file.u16(index + 30),
                  let commentLength = file.u16(index + 32), let disk = file.u16(index + 34),
                  let localOffset = file.u32(index + 42),
                  index + 46 + nameLength + extraLength + commentLength <= file.count else { return }
            let extra = (index + 46 + nameLength)..<(index + 46 + nameLength + extraLength)
            // ZIP64 extended information holds, in order, exactly the fields whose short form is all ones.
            let fields = [uncompressed == .max ? 8 : 0, compressed == .max ? 8 : 0, localOffset == .max ? 8 : 0,
                          disk == .max ? 4 : 0]
            let zip64 = zip64Values(file, in: extra, fields: fields)
            let isZIP64 = UInt8(truncatingIfNeeded: version) >= 45 || zip64 != nil
            func effective(_ short: UInt32, _ field: Int) -> UInt64 {
                if isZIP64, let long = zip64?[field], long > 0 { return long }
                return UInt64(short)
            }
            let values = [("uncompressed size", effective(uncompressed, 0)), ("compressed size", effective(compressed, 1)),
                          ("local header offset", effective(localOffset, 2))]
            for (what, value) in values where value > size {
                throw .zip("entry \(entry) of the directory has \(what) \(value), past the end of the \(size)-byte file")
            }
            // ZIPFoundation's iteration ends at an entry whose local header does not parse, or that is encrypted.
            let local = Int(effective(localOffset, 2))
            guard file.u32(local) == 0x0403_4B50, let localName = file.u16(local + 26), let localExtra = file.u16(local + 28),
                  local + 30 + localName + localExtra <= file.count, flags & 1 == 0 else { return }
            index += 46 + nameLength + extraLength + commentLength
            entry += 1
        }
    }

    /// The 64-bit values of the first ZIP64 block in `extra`, by field (0 where absent), as
    /// ZIPFoundation reads them: nil when the block is missing or its length does not fit `fields`.
    private static func zip64Values(_ file: Bytes, in extra: Range<Int>, fields: [Int]) -> [UInt64]? {
        var offset = extra.lowerBound
        while offset < extra.upperBound - 4 {
            guard let id = file.u16(offset), let length = file.u16(offset + 2) else { return nil }
            let next = offset + 4 + length
            guard next <= extra.upperBound else { return nil }
            if id == 0x0001 {
                guard fields.reduce(0, +) == length else { return nil }
                var values: [UInt64] = []
                var read = offset + 4
                for width in fields.prefix(3) {
                    values.append(width == 8 ? file.u64(read) ?? 0 : 0)
                    read += width
                }
                return values
            }
            offset = next
        }
        return nil
    }
}

/// Little-endian reads that return nil instead of running off the end.
private struct Bytes {
    let base: UnsafeRawBufferPointer
    init(_ base: UnsafeRawBufferPointer) { self.base = base }
    var count: Int { base.count }

    func value<T: FixedWidthInteger>(_ offset: Int, as: T.Type) -> T? {
        guard offset >= 0, offset <= base.count - MemoryLayout<T>.size else { return nil }
        return T(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    func u16(_ offset: Int) -> Int? { value(offset, as: UInt16.self).map(Int.init) }
    func u32(_ offset: Int) -> UInt32? { value(offset, as: UInt32.self) }
    func u64(_ offset: Int) -> UInt64? { value(offset, as: UInt64.self) }
}
