import CGzip
import Foundation
import Testing
@testable import Datasets

/// Hostile and honest archives, built byte by byte in the tests: tar headers, gzip and raw
/// deflate through zlib, and zip records.
enum ArchiveFixtures {
    /// A fresh folder under TMPDIR.
    static func folder() -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("motive-archive-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func write(_ bytes: [UInt8], _ name: String, in folder: URL) -> URL {
        let url = folder.appendingPathComponent(name)
        try! Data(bytes).write(to: url)
        return url
    }

    // MARK: tar

    /// One ustar header block for `name` (bytes, so that non-UTF-8 names can be written).
    static func tarHeader(_ name: [UInt8], type: UInt8 = UInt8(ascii: "0"), size: Int = 0, link: String = "",
                          magic: String = "ustar\u{0}00") -> [UInt8] {
        var block = [UInt8](repeating: 0, count: 512)
        func put(_ bytes: [UInt8], _ at: Int) { for (i, b) in bytes.enumerated() { block[at + i] = b } }
        func octal(_ v: Int, _ width: Int) -> [UInt8] {
            let s = String(v, radix: 8)
            return Array((String(repeating: "0", count: width - 1 - s.count) + s).utf8) + [0]
        }
        put(Array(name.prefix(100)), 0)
        put(octal(0o644, 8), 100); put(octal(0, 8), 108); put(octal(0, 8), 116)
        put(octal(size, 12), 124); put(octal(1_700_000_000, 12), 136)
        block[156] = type
        put(Array(link.utf8), 157)
        put(Array(magic.utf8), 257)
        put(Array(repeating: 32, count: 8), 148)
        put(octal(block.reduce(0) { $0 + Int($1) }, 7) + [32], 148)
        return block
    }

    static func tarHeader(_ name: String, type: UInt8 = UInt8(ascii: "0"), size: Int = 0, link: String = "") -> [UInt8] {
        tarHeader(Array(name.utf8), type: type, size: size, link: link)
    }

    /// A header and its data, padded to whole blocks.
    static func tarMember(_ name: String, _ data: [UInt8], type: UInt8 = UInt8(ascii: "0")) -> [UInt8] {
        tarHeader(name, type: type, size: data.count) + padded(data)
    }

    static func padded(_ data: [UInt8]) -> [UInt8] { data + [UInt8](repeating: 0, count: (512 - data.count % 512) % 512) }

    static let tarEnd = [UInt8](repeating: 0, count: 1024)

    /// A pax `x` header carrying `records`, to be followed by the member it describes.
    static func paxHeader(_ records: [(String, String)]) -> [UInt8] {
        var data: [UInt8] = []
        for (key, value) in records {
            let body = " \(key)=\(value)\n"
            var n = body.utf8.count + 1
            while String(n).count + body.utf8.count != n { n = String(n).count + body.utf8.count }
            data += Array("\(n)\(body)".utf8)
        }
        return tarHeader("PaxHeader", type: UInt8(ascii: "x"), size: data.count) + padded(data)
    }

    // MARK: zlib

    /// Compresses pieces as they come: gzip (windowBits 31) or raw deflate (-15).
    final class Deflate {
        private let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        private(set) var output: [UInt8] = []
        private(set) var crc: UInt32 = 0
        private(set) var count = 0

        init(windowBits: Int32, level: Int32 = 6) {
            stream.initialize(to: z_stream())
            precondition(deflateInit2_(stream, level, Z_DEFLATED, windowBits, 8, Z_DEFAULT_STRATEGY, zlibVersion(),
                                       Int32(MemoryLayout<z_stream>.size)) == Z_OK)
        }

        deinit { deflateEnd(stream); stream.deallocate() }

        func add(_ bytes: UnsafeRawBufferPointer) { run(bytes, Z_NO_FLUSH) }
        func add(_ bytes: [UInt8]) { bytes.withUnsafeBytes { add($0) } }
        func finish() -> [UInt8] { run(UnsafeRawBufferPointer(start: nil, count: 0), Z_FINISH); return output }

        private func run(_ bytes: UnsafeRawBufferPointer, _ flush: Int32) {
            if bytes.count > 0 {
                crc = UInt32(crc32(uLong(crc), bytes.baseAddress!.assumingMemoryBound(to: Bytef.self), uInt(bytes.count)))
                count += bytes.count
            }
            stream.pointee.next_in = UnsafeMutablePointer(mutating: bytes.baseAddress?.assumingMemoryBound(to: Bytef.self))
            stream.pointee.avail_in = uInt(bytes.count)
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            while true {
                let (status, produced) = chunk.withUnsafeMutableBytes { out -> (Int32, Int) in
                    stream.pointee.next_out = out.baseAddress!.assumingMemoryBound(to: Bytef.self)
                    stream.pointee.avail_out = uInt(out.count)
                    let status = deflate(stream, flush)
                    return (status, out.count - Int(stream.pointee.avail_out))
                }
                output += chunk[..<produced]
                if flush == Z_FINISH ? status == Z_STREAM_END : stream.pointee.avail_in == 0 && produced < chunk.count { return }
            }
        }
    }

    static func gzip(_ bytes: [UInt8]) -> [UInt8] {
        let d = Deflate(windowBits: 31)
        d.add(bytes)
        return d.finish()
    }

    static func crc(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { UInt32(crc32(0, $0.baseAddress?.assumingMemoryBound(to: Bytef.self), uInt($0.count))) }
    }

    /// A tar.gz of `count` empty members named f0000000, f0000001, …, made without running
    /// deflate over count × 512 bytes: one fixed-Huffman block in which each header after the
    /// first is a copy of the one before (distance 512) with its name digits and checksum as literals.
    static func manyMemberTarGz(count: Int) -> [UInt8] {
        var bits = DeflateBits()
        bits.put(1, 1); bits.put(1, 2)   // the final block, fixed Huffman codes
        var header = tarHeader("f0000000")
        let baseSum = header.indices.reduce(0) { (148..<156).contains($1) || (1...7).contains($1) ? $0 : $0 + Int(header[$1]) } + 8 * 32
        var crc = crc32(0, nil, 0)
        for n in 0..<count {
            var digits = n, sum = baseSum
            for d in stride(from: 7, through: 1, by: -1) {
                header[d] = UInt8(ascii: "0") + UInt8(digits % 10)
                sum += Int(header[d])
                digits /= 10
            }
            for i in 0..<6 { header[153 - i] = UInt8(ascii: "0") + UInt8(sum >> (3 * i) & 7) }
            header[154] = 0; header[155] = 32
            header.withUnsafeBytes { crc = crc32(crc, $0.baseAddress!.assumingMemoryBound(to: Bytef.self), 512) }
            if n == 0 {
                for b in header { bits.literal(b) }
            } else {
                for b in header[0..<8] { bits.literal(b) }
                bits.copy512(140)
                for b in header[148..<156] { bits.literal(b) }
                bits.copy512(258); bits.copy512(98)
            }
        }
        for b in tarEnd { bits.literal(b) }
        crc = crc32(crc, tarEnd, uInt(tarEnd.count))
        bits.code(0, 7)   // end of block
        let size = UInt32(truncatingIfNeeded: count * 512 + tarEnd.count)
        func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
        return [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3] + bits.finish() + le32(UInt32(truncatingIfNeeded: crc)) + le32(size)
    }

    /// Deflate's bit stream: values least significant bit first, Huffman codes most significant first.
    struct DeflateBits {
        private var bytes: [UInt8] = []
        private var pending: UInt64 = 0, count = 0
        /// Fixed-Huffman literal codes, already reversed: (bits, length).
        private static let literals: [(UInt32, Int)] = (0..<256).map { (b: Int) -> (UInt32, Int) in
            let length = b < 144 ? 8 : 9
            let code: UInt32 = b < 144 ? UInt32(0x30 + b) : UInt32(0x190 + b - 144)
            return (reversed(code, length), length)
        }

        mutating func put(_ value: UInt32, _ length: Int) {
            pending |= UInt64(value) << count
            count += length
            while count >= 8 {
                bytes.append(UInt8(truncatingIfNeeded: pending))
                pending >>= 8
                count -= 8
            }
        }

        mutating func code(_ code: UInt32, _ length: Int) { put(Self.reversed(code, length), length) }

        mutating func literal(_ b: UInt8) {
            let (bits, length) = Self.literals[Int(b)]
            put(bits, length)
        }

        /// A match of `length` (3…258) at distance 512 (distance code 17, base 385, 7 extra bits).
        mutating func copy512(_ length: Int) {
            let bases = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258]
            let extra = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
            let i = bases.lastIndex { $0 <= length }!
            let symbol = 257 + i
            if symbol < 280 { code(UInt32(symbol - 256), 7) } else { code(UInt32(0xc0 + symbol - 280), 8) }
            put(UInt32(length - bases[i]), extra[i])
            code(17, 5)
            put(512 - 385, 7)
        }

        mutating func finish() -> [UInt8] {
            if count > 0 { bytes.append(UInt8(truncatingIfNeeded: pending)) }
            return bytes
        }

        private static func reversed(_ code: UInt32, _ length: Int) -> UInt32 {
            var out: UInt32 = 0
            for i in 0..<length { out |= ((code >> UInt32(i)) & 1) << UInt32(length - 1 - i) }
            return out
        }
    }

    // MARK: zip

    struct ZipEntry {
        var name: [UInt8]
        /// Stored bytes, or the raw deflate stream when `deflated`.
        var data: [UInt8]
        var deflated = false
        var crc: UInt32
        /// What the headers say the member unpacks to.
        var size: UInt32
        /// st_mode, kept in the high half of the external attributes by a Unix writer.
        var mode: UInt32 = 0o100644

        static func stored(_ name: String, _ data: [UInt8], mode: UInt32 = 0o100644) -> ZipEntry {
            ZipEntry(name: Array(name.utf8), data: data, crc: ArchiveFixtures.crc(data), size: UInt32(data.count), mode: mode)
        }

        static func deflated(_ name: String, _ data: [UInt8]) -> ZipEntry {
            let d = Deflate(windowBits: -15)
            d.add(data)
            return ZipEntry(name: Array(name.utf8), data: d.finish(), deflated: true, crc: ArchiveFixtures.crc(data), size: UInt32(data.count))
        }
    }

    static func zip(_ entries: [ZipEntry]) -> [UInt8] {
        func le16(_ v: Int) -> [UInt8] { [UInt8(v & 0xff), UInt8(v >> 8 & 0xff)] }
        func le32(_ v: UInt32) -> [UInt8] { le16(Int(v & 0xffff)) + le16(Int(v >> 16)) }
        var out: [UInt8] = [], directory: [UInt8] = []
        for e in entries {
            let method = e.deflated ? 8 : 0
            let common = le16(20) + le16(0x800) + le16(method) + le16(0) + le16(0x21) + le32(e.crc)
                + le32(UInt32(e.data.count)) + le32(e.size) + le16(e.name.count) + le16(0)
            directory += le32(0x0201_4b50) + le16(0x0314) + common + le16(0) + le16(0) + le16(0) + le32(e.mode << 16)
                + le32(UInt32(out.count)) + e.name
            out += le32(0x0403_4b50) + common + e.name + e.data
        }
        let offset = out.count
        out += directory
        out += le32(0x0605_4b50) + le16(0) + le16(0) + le16(entries.count) + le16(entries.count)
            + le32(UInt32(directory.count)) + le32(UInt32(offset)) + le16(0)
        return out
    }

    // MARK: checks

    static let roomy = ArchiveLimits(maxFiles: 10_000, maxBytes: 1 << 30)

    /// Extracts `archive` expecting `expected`, and checks that no destination folder is left.
    static func expectRefused(_ archive: URL, _ expected: ArchiveError, limits: ArchiveLimits = roomy, format: ArchiveFormat? = nil,
                              sourceLocation: SourceLocation = #_sourceLocation) {
        let destination = archive.deletingLastPathComponent().appendingPathComponent("out-\(UUID().uuidString)")
        do {
            let summary = try ArchiveExtractor.extract(archive, into: destination, limits: limits, format: format)
            Issue.record("expected \(expected), extracted \(summary)", sourceLocation: sourceLocation)
        } catch {
            #expect(error == expected, sourceLocation: sourceLocation)
        }
        #expect(!FileManager.default.fileExists(atPath: destination.path), "a refusal left \(destination.lastPathComponent) behind",
                sourceLocation: sourceLocation)
    }

    /// Like `expectRefused`, for any `.malformed` reason.
    static func expectMalformed(_ archive: URL, limits: ArchiveLimits = roomy, format: ArchiveFormat? = nil,
                                sourceLocation: SourceLocation = #_sourceLocation) {
        let destination = archive.deletingLastPathComponent().appendingPathComponent("out-\(UUID().uuidString)")
        do {
            let summary = try ArchiveExtractor.extract(archive, into: destination, limits: limits, format: format)
            Issue.record("expected a malformed archive, extracted \(summary)", sourceLocation: sourceLocation)
        } catch {
            if case .malformed = error {} else { Issue.record("expected .malformed, got \(error)", sourceLocation: sourceLocation) }
        }
        #expect(!FileManager.default.fileExists(atPath: destination.path), sourceLocation: sourceLocation)
    }
}
