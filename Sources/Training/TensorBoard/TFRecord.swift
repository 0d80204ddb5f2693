import Foundation

/// CRC-32C (Castagnoli: reflected polynomial 0x82F63B78, initial and final XOR 0xFFFFFFFF), the
/// checksum of TFRecord framing. `CRC32C.checksum(Array("123456789".utf8)) == 0xE3069283`.
public enum CRC32C {
    private static let table: [UInt32] = (0..<256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0x82F6_3B78 ^ (c >> 1) : c >> 1 }
        return c
    }

    public static func checksum(_ bytes: some Sequence<UInt8>) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        table.withUnsafeBufferPointer { table in
            for byte in bytes { c = table[Int((c ^ UInt32(byte)) & 0xFF)] ^ (c >> 8) }
        }
        return c ^ 0xFFFF_FFFF
    }

    /// TFRecord stores CRCs masked (rotated right by 15, plus a constant), because a CRC of data
    /// that itself holds CRCs is weak.
    public static func masked(_ bytes: some Sequence<UInt8>) -> UInt32 {
        let crc = checksum(bytes)
        return ((crc >> 15) | (crc << 17)) &+ 0xA282_EAD8
    }
}

public enum TFRecordError: Error, Equatable, CustomStringConvertible {
    /// The file ends inside the record that starts at `offset`.
    case truncated(offset: Int)
    case lengthChecksum(offset: Int)
    case dataChecksum(offset: Int)

    public var description: String {
        switch self {
        case .truncated(let offset): "TFRecord: the file ends inside the record at byte \(offset)"
        case .lengthChecksum(let offset): "TFRecord: the length CRC of the record at byte \(offset) does not match"
        case .dataChecksum(let offset): "TFRecord: the data CRC of the record at byte \(offset) does not match"
        }
    }
}

/// TFRecord framing, as TensorBoard's event files use it. Each record is
///
///     uint64 length (little-endian) | uint32 masked CRC-32C of those 8 bytes | data | uint32 masked CRC-32C of data
public enum TFRecord {
    /// One record, framed.
    public static func frame(_ data: Data) -> Data {
        var out = Data(capacity: data.count + 16)
        let length = littleEndian(UInt64(data.count))
        out.append(contentsOf: length)
        out.append(contentsOf: littleEndian(CRC32C.masked(length)))
        out.append(data)
        out.append(contentsOf: littleEndian(CRC32C.masked(data)))
        return out
    }

    /// The records of a file's bytes, with both CRCs of each checked.
    public static func records(in bytes: Data) throws(TFRecordError) -> [Data] {
        let bytes = [UInt8](bytes)
        var records: [Data] = [], offset = 0
        while offset < bytes.count {
            guard bytes.count - offset >= 12 else { throw .truncated(offset: offset) }
            let header = bytes[offset..<offset + 8]
            guard CRC32C.masked(header) == uint32(bytes, at: offset + 8) else { throw .lengthChecksum(offset: offset) }
            let length = header.reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            let start = offset + 12
            guard length <= UInt64(bytes.count - start), bytes.count - start - Int(length) >= 4 else { throw .truncated(offset: offset) }
            let end = start + Int(length)
            guard CRC32C.masked(bytes[start..<end]) == uint32(bytes, at: end) else { throw .dataChecksum(offset: offset) }
            records.append(Data(bytes[start..<end]))
            offset = end + 4
        }
        return records
    }

    private static func littleEndian<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        (0..<T.bitWidth / 8).map { UInt8(truncatingIfNeeded: value >> ($0 * 8)) }
    }

    private static func uint32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[offset + $1]) << ($1 * 8) }
    }
}
