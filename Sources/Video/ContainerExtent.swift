// Tells a cut-off file from a damaged one by the container's own size fields: MP4/MOV boxes,
// Matroska/WebM elements and AVI RIFF chunks each declare their length, so walking the top
// level shows whether the bytes end before the last one does.
import Foundation

/// Random access to the bytes of an input: a file or a memory buffer.
struct ByteWindow {
    let size: Int
    /// Up to `count` bytes from `offset`; fewer at the end.
    let read: (_ offset: Int, _ count: Int) -> [UInt8]

    init(size: Int, read: @escaping (Int, Int) -> [UInt8]) {
        self.size = size
        self.read = read
    }

    init(bytes: [UInt8]) {
        self.init(size: bytes.count) { offset, count in
            guard offset < bytes.count else { return [] }
            return Array(bytes[offset..<min(bytes.count, offset + count)])
        }
    }

    /// The file at `path`, of `size` bytes (as the caller's `stat` found): nothing is opened
    /// until a read, which only an error needs.
    init(path: String, size: Int) {
        self.init(size: size) { offset, count in
            guard let file = fopen(path, "rb") else { return [] }
            defer { fclose(file) }
            guard fseeko(file, off_t(offset), SEEK_SET) == 0 else { return [] }
            var buffer = [UInt8](repeating: 0, count: count)
            let got = fread(&buffer, 1, count, file)
            return Array(buffer.prefix(got))
        }
    }
}

enum ContainerExtent: Equatable {
    /// The top-level structure runs exactly to the end of the data (or says it runs to the end).
    case complete
    /// The last top-level unit declares an end past the data: the file was cut.
    case short(declaredEnd: Int, size: Int)
    /// Not a container this knows, or a structure too broken to say.
    case unknown

    /// At most this many top-level units are walked.
    static let maxUnits = 100_000

    static func of(_ window: ByteWindow) -> ContainerExtent {
        let head = window.read(0, 12)
        guard head.count >= 8 else { return .unknown }
        if head.starts(with: [0x1A, 0x45, 0xDF, 0xA3]) { return matroska(window) }
        if head.starts(with: Array("RIFF".utf8)) { return riff(window) }
        if isoBoxTypes.contains(String(decoding: head[4..<8], as: UTF8.self)) { return isoMedia(window) }
        return .unknown
    }

    /// Top-level box types an MP4/MOV file starts with.
    private static let isoBoxTypes: Set<String> = ["ftyp", "moov", "mdat", "free", "skip", "wide", "pnot", "uuid", "styp", "sidx", "moof"]

    /// What the header of one top-level unit says.
    private enum Unit {
        /// Its whole length, header included.
        case length(Int)
        /// It runs to the end of the data.
        case toTheEnd
        /// Its header itself is cut off: it needs `needed` bytes from its start.
        case cut(needed: Int)
        case unreadable
    }

    /// Walks the top-level units from the start: complete when they end exactly where the data
    /// does, short when one declares an end past it.
    private static func walk(_ window: ByteWindow, _ unit: (_ offset: Int) -> Unit) -> ContainerExtent {
        var offset = 0
        for _ in 0..<maxUnits {
            if offset >= window.size { return .complete }
            switch unit(offset) {
            case .toTheEnd: return .complete
            case .unreadable: return .unknown
            case .cut(let needed): return .short(declaredEnd: offset + needed, size: window.size)
            case .length(let length):
                let (end, overflow) = offset.addingReportingOverflow(length)
                guard length > 0, !overflow else { return .unknown }
                if end > window.size { return .short(declaredEnd: end, size: window.size) }
                offset = end
            }
        }
        return .unknown
    }

    /// ISO base media (MP4, MOV, 3GP): boxes of a big-endian 32-bit size (1: a 64-bit size
    /// follows the type; 0: to the end of the file) and a four-letter type.
    private static func isoMedia(_ window: ByteWindow) -> ContainerExtent {
        walk(window) { offset in
            let header = window.read(offset, 16)
            guard header.count >= 8 else { return .cut(needed: 8) }
            var size = Int(bigEndian: header, at: 0, bytes: 4)
            if size == 0 { return .toTheEnd }
            if size == 1 {
                guard header.count >= 16 else { return .cut(needed: 16) }
                size = Int(bigEndian: header, at: 8, bytes: 8)
            }
            return size >= 8 ? .length(size) : .unreadable
        }
    }

    /// Matroska and WebM: EBML elements, each an ID and a size in variable-length integers.
    /// A size of all ones is unknown (a live recording), which says nothing about the end.
    private static func matroska(_ window: ByteWindow) -> ContainerExtent {
        walk(window) { offset in
            let header = window.read(offset, 12)
            guard let id = vint(header, at: 0, keepMarker: true),
                  let size = vint(header, at: id.length, keepMarker: false) else {
                return header.count < 12 ? .cut(needed: 12) : .unreadable
            }
            return size.unknownSize ? .unreadable : .length(id.length + size.length + size.value)
        }
    }

    /// AVI: RIFF chunks (a little-endian 32-bit size after the tag, padded to even), one or more
    /// (`RIFF AVIX` extends files past 1 GB). A last pad byte may be missing, and fewer bytes
    /// than a chunk header at the end are padding.
    private static func riff(_ window: ByteWindow) -> ContainerExtent {
        walk(window) { offset in
            let header = window.read(offset, 8)
            guard header.count == 8 else { return .toTheEnd }
            let size = Int(header[4]) | Int(header[5]) << 8 | Int(header[6]) << 16 | Int(header[7]) << 24
            return offset + 8 + size == window.size ? .toTheEnd : .length(8 + size + (size & 1))
        }
    }

    /// An EBML variable-length integer at `offset`: its length is one more than the leading
    /// zero bits of the first byte. IDs keep their marker bit; sizes drop it.
    private static func vint(_ bytes: [UInt8], at offset: Int, keepMarker: Bool)
        -> (value: Int, length: Int, unknownSize: Bool)? {
        guard offset < bytes.count, bytes[offset] != 0 else { return nil }
        let length = bytes[offset].leadingZeroBitCount + 1
        guard length <= 8, offset + length <= bytes.count else { return nil }
        var value = Int(keepMarker ? bytes[offset] : bytes[offset] & (0xFF >> length))
        var allOnes = value == (0xFF >> length)
        for i in 1..<length {
            value = value << 8 | Int(bytes[offset + i])
            allOnes = allOnes && bytes[offset + i] == 0xFF
        }
        return (value, length, !keepMarker && allOnes)
    }
}

private extension Int {
    init(bigEndian bytes: [UInt8], at offset: Int, bytes count: Int) {
        var value = 0
        for i in 0..<count { value = value << 8 | Int(bytes[offset + i]) }
        self = value
    }
}
