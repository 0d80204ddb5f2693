import NIOCore

/// MultipartKit (4.7.1) traps on a byte of 0x80 or more in a part's header name: it looks each
/// name byte up in a table of 128 entries. So every chunk passes through this check before the
/// parser sees it. The check finds every `--boundary` in the stream (a superset of the delimiters
/// the parser acts on), follows the header lines after each, and refuses a byte of 0x80 or more
/// before a line's colon. Header values (UTF-8 file names) and part bodies are not looked at.
struct MultipartHeaderNameCheck {
    private enum Position {
        /// Preamble, a part's body or the epilogue: looking for the delimiter.
        case outside
        /// The rest of the delimiter's line: `\r\n` before headers, `--` after the last part.
        case delimiterLine(atStart: Bool)
        /// In a header line before its colon; `lineEmpty` until a byte other than CR.
        case name(lineEmpty: Bool)
        /// After the colon, up to the line's end.
        case value
    }

    private let delimiter: [UInt8]
    /// Knuth–Morris–Pratt fallbacks: after `i + 1` matched bytes then a mismatch, the length of
    /// the longest proper prefix of the delimiter that is also a suffix of those bytes.
    private let fallback: [Int]
    private var matched = 0
    private var position = Position.outside

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

    /// False when a header name in `chunk` holds a byte the parser would trap on.
    mutating func accepts(_ chunk: ByteBuffer) -> Bool {
        let (lf, cr, colon, hyphen) = (UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: ":"), UInt8(ascii: "-"))
        for byte in chunk.readableBytesView {
            switch position {
            case .outside:
                while matched > 0, delimiter[matched] != byte { matched = fallback[matched - 1] }
                if delimiter[matched] == byte { matched += 1 }
                if matched == delimiter.count {
                    matched = 0
                    position = .delimiterLine(atStart: true)
                }
            case .delimiterLine(let atStart):
                if atStart, byte == hyphen {
                    position = .outside
                } else {
                    position = byte == lf ? .name(lineEmpty: true) : .delimiterLine(atStart: false)
                }
            case .name(let lineEmpty):
                switch byte {
                case lf: position = lineEmpty ? .outside : .name(lineEmpty: true)
                case cr: break
                case colon: position = .value
                case 0x80...: return false
                default: position = .name(lineEmpty: false)
                }
            case .value:
                if byte == lf { position = .name(lineEmpty: true) }
            }
        }
        return true
    }
}
