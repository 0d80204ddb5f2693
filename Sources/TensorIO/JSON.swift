import Foundation

/// A JSON value whose objects keep their members in document order, duplicates included:
/// safetensors keys come back in file order, and a repeated key must be reported, not merged
/// (`JSONSerialization` does neither).
indirect enum JSON {
    case object([(key: String, value: JSON)])
    case array([JSON])
    case string(String)
    /// A number written without fraction or exponent that fits in an `Int`.
    case integer(Int)
    case number(Double)
    case bool(Bool)
    case null
}

struct JSONSyntaxError: Error {
    let offset: Int
    let reason: String
}

/// A strict RFC 8259 parser over untrusted bytes. Nesting is capped so that a header of
/// "[[[[…" cannot exhaust the stack.
struct JSONParser {
    static let maxDepth = 64

    private let bytes: UnsafeRawBufferPointer
    private var position = 0
    private var depth = 0

    static func parse(_ bytes: UnsafeRawBufferPointer) throws(JSONSyntaxError) -> JSON {
        var parser = JSONParser(bytes: bytes)
        let value = try parser.value()
        parser.skipWhitespace()
        guard parser.position == bytes.count else { throw parser.error("unexpected data after the top-level value") }
        return value
    }

    private init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    private func error(_ reason: String) -> JSONSyntaxError { JSONSyntaxError(offset: position, reason: reason) }

    private var peek: UInt8? { position < bytes.count ? bytes[position] : nil }

    private mutating func skipWhitespace() {
        while let b = peek, b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 { position += 1 }
    }

    private mutating func expect(_ byte: UInt8, _ what: String) throws(JSONSyntaxError) {
        guard peek == byte else { throw error("expected \(what)") }
        position += 1
    }

    private mutating func value() throws(JSONSyntaxError) -> JSON {
        skipWhitespace()
        guard let first = peek else { throw error("unexpected end of input") }
        switch first {
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            guard depth < Self.maxDepth else { throw error("nesting deeper than \(Self.maxDepth) levels") }
            depth += 1
            defer { depth -= 1 }
            return first == UInt8(ascii: "{") ? try object() : try array()
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        default: throw error("unexpected character")
        }
    }

    private mutating func object() throws(JSONSyntaxError) -> JSON {
        position += 1  // {
        var members: [(key: String, value: JSON)] = []
        skipWhitespace()
        if peek == UInt8(ascii: "}") { position += 1; return .object(members) }
        while true {
            skipWhitespace()
            guard peek == UInt8(ascii: "\"") else { throw error("expected a string key") }
            let key = try string()
            skipWhitespace()
            try expect(UInt8(ascii: ":"), "':'")
            members.append((key, try value()))
            skipWhitespace()
            if peek == UInt8(ascii: ",") { position += 1; continue }
            try expect(UInt8(ascii: "}"), "',' or '}'")
            return .object(members)
        }
    }

    private mutating func array() throws(JSONSyntaxError) -> JSON {
        position += 1  // [
        var elements: [JSON] = []
        skipWhitespace()
        if peek == UInt8(ascii: "]") { position += 1; return .array(elements) }
        while true {
            elements.append(try value())
            skipWhitespace()
            if peek == UInt8(ascii: ",") { position += 1; continue }
            try expect(UInt8(ascii: "]"), "',' or ']'")
            return .array(elements)
        }
    }

    private mutating func literal(_ word: StaticString) throws(JSONSyntaxError) {
        let expected = UnsafeRawBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount)
        guard position + expected.count <= bytes.count,
              bytes[position..<position + expected.count].elementsEqual(expected)
        else { throw error("invalid literal") }
        position += expected.count
    }

    private mutating func string() throws(JSONSyntaxError) -> String {
        let start = position
        position += 1  // opening quote
        var utf8: [UInt8] = []
        while true {
            guard let b = peek else { throw JSONSyntaxError(offset: start, reason: "unterminated string") }
            position += 1
            switch b {
            case UInt8(ascii: "\""):
                guard let s = String(bytes: utf8, encoding: .utf8) else {
                    throw JSONSyntaxError(offset: start, reason: "string is not valid UTF-8")
                }
                return s
            case UInt8(ascii: "\\"):
                try escape(into: &utf8)
            case ..<0x20:
                position -= 1
                throw error("unescaped control character in string")
            default:
                utf8.append(b)
            }
        }
    }

    private mutating func escape(into utf8: inout [UInt8]) throws(JSONSyntaxError) {
        guard let b = peek else { throw error("unterminated escape") }
        position += 1
        switch b {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(b)
        case UInt8(ascii: "b"): utf8.append(0x08)
        case UInt8(ascii: "f"): utf8.append(0x0C)
        case UInt8(ascii: "n"): utf8.append(0x0A)
        case UInt8(ascii: "r"): utf8.append(0x0D)
        case UInt8(ascii: "t"): utf8.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = UInt32(try hex4())
            if (0xD800..<0xDC00).contains(scalar) {  // a high surrogate needs its low half
                guard peek == UInt8(ascii: "\\") else { throw error("unpaired surrogate") }
                position += 1
                try expect(UInt8(ascii: "u"), "a low surrogate")
                let low = UInt32(try hex4())
                guard (0xDC00..<0xE000).contains(low) else { throw error("unpaired surrogate") }
                scalar = 0x10000 + (scalar - 0xD800) << 10 + (low - 0xDC00)
            }
            guard let s = Unicode.Scalar(scalar) else { throw error("unpaired surrogate") }
            utf8.append(contentsOf: String(Character(s)).utf8)
        default:
            throw error("invalid escape")
        }
    }

    private mutating func hex4() throws(JSONSyntaxError) -> UInt16 {
        var v: UInt16 = 0
        for _ in 0..<4 {
            guard let b = peek, let digit = hexValue(b) else { throw error("invalid \\u escape") }
            v = v << 4 | UInt16(digit)
            position += 1
        }
        return v
    }

    private func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): b - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): b - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): b - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    private mutating func number() throws(JSONSyntaxError) -> JSON {
        let start = position
        var isInteger = true
        if peek == UInt8(ascii: "-") { position += 1 }
        if peek == UInt8(ascii: "0") {
            position += 1
        } else {
            guard digits() > 0 else { throw error("invalid number") }
        }
        if peek == UInt8(ascii: ".") {
            isInteger = false
            position += 1
            guard digits() > 0 else { throw error("invalid number") }
        }
        if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
            isInteger = false
            position += 1
            if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { position += 1 }
            guard digits() > 0 else { throw error("invalid number") }
        }
        let text = String(decoding: bytes[start..<position], as: UTF8.self)
        if isInteger, let v = Int(text) { return .integer(v) }
        guard let v = Double(text) else { throw JSONSyntaxError(offset: start, reason: "invalid number") }
        return .number(v)
    }

    private mutating func digits() -> Int {
        let start = position
        while let b = peek, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b) { position += 1 }
        return position - start
    }
}

/// Appends `s` as a JSON string literal.
func appendJSONString(_ s: String, to out: inout [UInt8]) {
    out.append(UInt8(ascii: "\""))
    for b in s.utf8 {
        switch b {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"):
            out.append(UInt8(ascii: "\\"))
            out.append(b)
        case ..<0x20:
            let hex = Array("0123456789abcdef".utf8)
            out.append(contentsOf: Array("\\u00".utf8) + [hex[Int(b >> 4)], hex[Int(b & 0xF)]])
        default:
            out.append(b)
        }
    }
    out.append(UInt8(ascii: "\""))
}
