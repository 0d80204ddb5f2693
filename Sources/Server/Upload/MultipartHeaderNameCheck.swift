import NIOCore

/// MultipartKit (4.7.1) traps on a byte of 0x80 or more in a part's header name: it looks each
/// name byte up in a table of 128 entries. So every chunk passes through this check before the
/// parser sees it, and a body with such a name is refused instead.
///
/// The check follows every place the parser could be reading headers: it finds every
/// `--boundary` in the stream (the parser acts on some of them: those after a CRLF, or the first
/// in the preamble), and from each one it follows the header lines as the parser reads them. The
/// positions it follows at once are a small set, a bit each. Header values (UTF-8 file names)
/// and part bodies are not checked; only a stray `--boundary` inside a body can make a later high
/// byte count as a name's.
struct MultipartHeaderNameCheck {
    /// Where in a part's headers the parser may be.
    private struct Positions: OptionSet {
        let rawValue: UInt8
        /// Right after a delimiter: `\r\n` starts the headers, `-` the epilogue.
        static let afterDelimiter = Positions(rawValue: 1 << 0)
        /// The rest of the delimiter's line, up to its LF.
        static let delimiterLine = Positions(rawValue: 1 << 1)
        /// In a header name, up to its colon; a CR ends the headers (or is refused).
        static let name = Positions(rawValue: 1 << 2)
        /// In a header value, which only a CR ends: the parser keeps a bare LF in the value.
        static let value = Positions(rawValue: 1 << 3)
        /// The LF after a value's CR; the next name follows.
        static let valueEnd = Positions(rawValue: 1 << 4)
    }

    private let delimiter: [UInt8]
    /// Knuth–Morris–Pratt fallbacks: after `i + 1` matched bytes then a mismatch, the length of
    /// the longest proper prefix of the delimiter that is also a suffix of those bytes.
    private let fallback: [Int]
    private var matched = 0
    private var positions: Positions = []

    init(boundary: String) {
        delimiter = Array("--\(boundary)".utf8)
        var fallback = [Int](repeating: 0, count: delimiter.count)
        var length = 0
        for i in delimiter.indices.dropFirst() {
            while length > 0, delimiter[i] != delimiter[length] { length = fallback[length - 1] }
            if delimiter[i] == delimiter[length] { length += 1 }
            fallback[i] = length
        }
        self.fallback = fallback
    }

    /// False when a header name in `chunk` may hold a byte the parser would trap on.
    mutating func accepts(_ chunk: ByteBuffer) -> Bool {
        let (lf, cr, colon, hyphen) = (UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: ":"), UInt8(ascii: "-"))
        for byte in chunk.readableBytesView {
            if !positions.isEmpty {
                if positions.contains(.name), byte >= 0x80 { return false }
                var next: Positions = []
                if positions.contains(.afterDelimiter), byte != hyphen { next.insert(byte == lf ? .name : .delimiterLine) }
                if positions.contains(.delimiterLine) { next.insert(byte == lf ? .name : .delimiterLine) }
                if positions.contains(.name), byte != cr { next.insert(byte == colon ? .value : .name) }
                if positions.contains(.value) { next.insert(byte == cr ? .valueEnd : .value) }
                if positions.contains(.valueEnd) { next.insert(.name) }
                positions = next
            }
            while matched > 0, delimiter[matched] != byte { matched = fallback[matched - 1] }
            if delimiter[matched] == byte { matched += 1 }
            if matched == delimiter.count {
                matched = fallback[matched - 1]
                positions.insert(.afterDelimiter)
            }
        }
        return true
    }
}
