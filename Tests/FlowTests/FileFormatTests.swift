import Foundation
import Testing
@testable import Flow

@Suite struct FileFormatTests {
    static func temporary(_ ext: String) -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("motive-flow-\(UUID().uuidString).\(ext)")
    }

    static func header(_ magic: Float, _ width: Int32, _ height: Int32) -> Data {
        var d = Data()
        withUnsafeBytes(of: magic.bitPattern.littleEndian) { d.append(contentsOf: $0) }
        withUnsafeBytes(of: width.littleEndian) { d.append(contentsOf: $0) }
        withUnsafeBytes(of: height.littleEndian) { d.append(contentsOf: $0) }
        return d
    }

    @Test func floRoundTripsExactly() throws {
        let flow = try FlowField(width: 3, height: 2, u: [0, -1.5, 2.25, .greatestFiniteMagnitude, -0.0, 1e-7],
                                 v: [7, 8, -9, 0.125, 3, -4])
        let url = Self.temporary("flo")
        defer { try? FileManager.default.removeItem(at: url) }
        try FloFile.write(flow, to: url)
        let bytes = try Data(contentsOf: url)
        #expect(bytes.count == 12 + 3 * 2 * 8)
        #expect(bytes.prefix(4) == Data("PIEH".utf8))
        let back = try FloFile.read(url)
        #expect(back == flow)
        // Interleaved u, v: the second float pair is (u[1], v[1]).
        #expect(try FloFile.decode(bytes).u[1] == -1.5)
        #expect(Array(bytes[20..<24]) == Array(withUnsafeBytes(of: Float(-1.5).bitPattern.littleEndian) { Array($0) }))
    }

    @Test func floWriteReplacesAtomically() throws {
        let url = Self.temporary("flo")
        defer { try? FileManager.default.removeItem(at: url) }
        let small = try FlowField(width: 1, height: 1, u: [1], v: [2])
        let large = try FlowField(width: 2, height: 2, u: [1, 2, 3, 4], v: [5, 6, 7, 8])
        try FloFile.write(large, to: url)
        try FloFile.write(small, to: url)
        #expect(try FloFile.read(url) == small)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: url.deletingLastPathComponent().path)
            .filter { $0.contains(url.lastPathComponent) && $0 != url.lastPathComponent }
        #expect(leftovers.isEmpty)
        let missingFolder = url.deletingLastPathComponent().appendingPathComponent("no-such-\(UUID())/x.flo")
        #expect(throws: FlowError.self) { try FloFile.write(small, to: missingFolder) }
    }

    @Test func floRejectsBadFiles() throws {
        let good = FloFile.encode(try FlowField(width: 2, height: 2, u: [1, 2, 3, 4], v: [5, 6, 7, 8]))
        var badMagic = good
        badMagic[0] ^= 0xFF
        #expect(throws: FlowError.badMagic(path: "<memory>")) { try FloFile.decode(badMagic) }
        #expect(throws: FlowError.badMagic(path: "<memory>")) { try FloFile.decode(Data("hello world!".utf8)) }
        #expect(throws: FlowError.wrongLength(path: "<memory>", expected: 12, found: 0)) { try FloFile.decode(Data()) }
        #expect(throws: FlowError.wrongLength(path: "<memory>", expected: 44, found: 40)) {
            try FloFile.decode(good.prefix(40))
        }
        #expect(throws: FlowError.wrongLength(path: "<memory>", expected: 44, found: 45)) {
            try FloFile.decode(good + Data([0]))
        }
        for (w, h) in [(0, 2), (2, -1), (Int32.max, Int32.max), (1 << 15 + 1, 1), (1 << 15, 1 << 15)] as [(Int32, Int32)] {
            #expect(throws: FlowError.badDimensions(path: "<memory>", width: Int(w), height: Int(h))) {
                try FloFile.decode(Self.header(202021.25, w, h) + Data(count: 64))
            }
        }
        let missing = Self.temporary("flo")
        #expect(throws: FlowError.self) { try FloFile.read(missing) }
    }

    @Test func pgmRoundTrips() throws {
        let image = try GrayImage(width: 3, height: 2, gray: [0, 1, 128, 254, 255, 7])
        let url = Self.temporary("pgm")
        defer { try? FileManager.default.removeItem(at: url) }
        try PGM.write(image, to: url)
        #expect(try Data(contentsOf: url) == Data("P5\n3 2\n255\n".utf8) + Data([0, 1, 128, 254, 255, 7]))
        #expect(try PGM.read(url) == image)
        // Comments and any whitespace are allowed in the header.
        let commented = Data("P5 # made by hand\n3\t2\r\n# maxval next\n255\n".utf8) + Data([0, 1, 128, 254, 255, 7])
        #expect(try PGM.decode(commented) == image)
        // Values are rounded and clamped when written.
        let odd = try GrayImage(width: 2, height: 1, pixels: [-3, 254.6])
        #expect(PGM.encode(odd).suffix(2) == Data([0, 255]))
    }

    @Test func pgmRejectsBadFiles() throws {
        let m = "<memory>"
        #expect(throws: FlowError.badMagic(path: m)) { try PGM.decode(Data("P2\n1 1\n255\n0".utf8)) }
        #expect(throws: FlowError.badMagic(path: m)) { try PGM.decode(Data()) }
        #expect(throws: FlowError.badHeader(path: m, reason: "maxval 65535, only 255 is supported")) {
            try PGM.decode(Data("P5\n1 1\n65535\n".utf8) + Data([0, 0]))
        }
        #expect(throws: FlowError.badHeader(path: m, reason: "header ends early")) { try PGM.decode(Data("P5\n4 ".utf8)) }
        #expect(throws: FlowError.badHeader(path: m, reason: "expected a number at byte 3")) {
            try PGM.decode(Data("P5\nx 1\n255\n".utf8))
        }
        #expect(throws: FlowError.badHeader(path: m, reason: "number too large")) {
            try PGM.decode(Data("P5\n99999999999999999999999 1\n255\n".utf8))
        }
        #expect(throws: FlowError.badDimensions(path: m, width: 0, height: 3)) {
            try PGM.decode(Data("P5\n0 3\n255\n".utf8))
        }
        #expect(throws: FlowError.wrongLength(path: m, expected: 15, found: 14)) {
            try PGM.decode(Data("P5\n2 2\n255\n".utf8) + Data([1, 2, 3]))
        }
        #expect(throws: FlowError.wrongLength(path: m, expected: 15, found: 16)) {
            try PGM.decode(Data("P5\n2 2\n255\n".utf8) + Data([1, 2, 3, 4, 5]))
        }
    }
}
