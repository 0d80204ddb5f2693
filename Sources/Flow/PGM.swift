import Foundation

/// Binary 8-bit grayscale PGM ("P5") files, the simplest lossless format for test frames.
/// The header is "P5", width, height and maxval 255 separated by whitespace (with optional
/// `#` comments), then one whitespace byte and exactly H × W bytes.
public enum PGM {
    public static func read(_ url: URL) throws(FlowError) -> GrayImage {
        try decode(readWhole(url), path: url.path)
    }

    /// Writes atomically; pixels are rounded and clamped to 0–255.
    public static func write(_ image: GrayImage, to url: URL) throws(FlowError) {
        try writeAtomically(encode(image), to: url)
    }

    public static func encode(_ image: GrayImage) -> Data {
        var data = Data("P5\n\(image.width) \(image.height)\n255\n".utf8)
        data.append(contentsOf: image.bytes)
        return data
    }

    public static func decode(_ data: Data, path: String = "<memory>") throws(FlowError) -> GrayImage {
        let bytes = [UInt8](data)
        guard bytes.count >= 2, bytes[0] == UInt8(ascii: "P"), bytes[1] == UInt8(ascii: "5") else {
            throw .badMagic(path: path)
        }
        var at = 2
        var fields: [Int] = []
        while fields.count < 3 {
            try skipSpaceAndComments(bytes, &at, path: path)
            var value = 0, digits = 0
            while at < bytes.count, let d = digit(bytes[at]) {
                guard value <= 1 << 20 else { throw .badHeader(path: path, reason: "number too large") }
                value = value * 10 + d
                digits += 1
                at += 1
            }
            guard digits > 0 else { throw .badHeader(path: path, reason: "expected a number at byte \(at)") }
            fields.append(value)
        }
        guard at < bytes.count, isSpace(bytes[at]) else {
            throw .badHeader(path: path, reason: "no whitespace after maxval")
        }
        at += 1
        let (width, height, maxval) = (fields[0], fields[1], fields[2])
        guard maxval == 255 else { throw .badHeader(path: path, reason: "maxval \(maxval), only 255 is supported") }
        guard width > 0, height > 0, width <= FloFile.maxSide, height <= FloFile.maxSide else {
            throw .badDimensions(path: path, width: width, height: height)
        }
        let expected = at + width * height
        guard bytes.count == expected else { throw .wrongLength(path: path, expected: expected, found: bytes.count) }
        return try GrayImage(width: width, height: height, gray: Array(bytes[at...]))
    }

    private static func skipSpaceAndComments(_ bytes: [UInt8], _ at: inout Int, path: String) throws(FlowError) {
        while at < bytes.count {
            if isSpace(bytes[at]) {
                at += 1
            } else if bytes[at] == UInt8(ascii: "#") {
                while at < bytes.count, bytes[at] != UInt8(ascii: "\n") { at += 1 }
            } else {
                return
            }
        }
        throw .badHeader(path: path, reason: "header ends early")
    }

    private static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || (0x09...0x0D).contains(b) }

    private static func digit(_ b: UInt8) -> Int? {
        (0x30...0x39).contains(b) ? Int(b - 0x30) : nil
    }
}
