import NIOCore
import Server
import Testing

/// The upload's multipart extractor on bodies the fuzz target (`fuzz-multipart`) found or that
/// guard its fixes, each fed whole and in chunks of every size up to the body's length.
@Suite struct MultipartTests {
    func chunked(_ body: [UInt8], by size: Int) -> [ByteBuffer] {
        stride(from: 0, to: body.count, by: size).map { ByteBuffer(bytes: body[$0..<min($0 + size, body.count)]) }
    }

    /// MultipartKit traps on a header-name byte of 0x80 or more; the body is refused instead.
    /// (Found by fuzz-multipart: Tests/Fuzz/multipart/regression-high-byte-header-name, and
    /// regression-lf-in-header-value, where a bare LF inside a value is not the line's end.)
    @Test func highByteInHeaderNameIsMalformed() {
        let bodies: [[UInt8]] = [
            Array("--motive\r\nContent-D".utf8) + [0xF5] + Array(": x\r\n\r\nabc\r\n--motive--\r\n".utf8),
            Array("--motive\r\nContent-Disposition: form-data; name=\"window\"\r\n\r\n1s\r\n--motive\r\nContent-D".utf8)
                + [UInt8](repeating: 0xF5, count: 45) + Array("isp".utf8) + [0x6F, 0xF5, 0xF5, 0x73],
            Array("preamble --motive\r\nX: y\r\n".utf8) + [0x80] + Array(": z\r\n\r\n".utf8),
            Array("--motive\r\nContent-Disposition: form-data;p4\"\u{05}\nContent-Type: vid\n\r\n".utf8) + [0xFF, 0x00],
            Array("--motive\r\nA: b\r\n\r\nxx--motive\r\nA: b\r\n--motive\r\n".utf8) + [0xFF] + Array(": c\r\n\r\n".utf8),
        ]
        for body in bodies {
            for size in 1...body.count {
                #expect(MultipartVideoExtractor.video(in: chunked(body, by: size), boundary: "motive") == nil, "chunks of \(size)")
            }
        }
    }

    /// Bytes of 0x80 or more stay allowed in header values (a UTF-8 file name, and after a bare LF,
    /// which the value keeps), in part bodies and after the closing delimiter.
    @Test func highBytesOutsideHeaderNamesPass() throws {
        let video: [UInt8] = [0x00, 0x80, 0xFF, 0x0D, 0x0A, 0x2D, 0x2D, 0xC3, 0xA9]
        let body = Array("--motive\r\nContent-Disposition: form-data; name=\"window\"\r\n\r\n1s \u{E9}\r\n".utf8)
            + Array("--motive\r\nContent-Disposition: form-data; name=\"video\"; filename=\"vid\u{E9}o.mp4\"\r\n".utf8)
            + Array("X-Note: a\n\u{E9}\r\n\r\n".utf8)
            + video + Array("\r\n--motive--\r\nepilogue \u{E9}: \u{E9}\r\n".utf8)
        for size in 1...body.count {
            let found = try #require(MultipartVideoExtractor.video(in: chunked(body, by: size), boundary: "motive"))
            #expect(Array(found.bytes.readableBytesView) == video && found.complete, "chunks of \(size)")
        }
    }
}
