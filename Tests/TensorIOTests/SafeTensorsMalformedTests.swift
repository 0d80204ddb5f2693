import Engine
import Foundation
import Testing
@testable import TensorIO

/// Bad bytes must give a typed error, never a crash. Each file is built here from its header text.
@Suite struct SafeTensorsMalformedTests {
    /// An 8-byte length (the header's own unless `declaredLength` is given), the header, the data.
    func file(_ header: String, data: [UInt8] = [], declaredLength: UInt64? = nil) -> Data {
        let json = Array(header.utf8)
        let length = declaredLength ?? UInt64(json.count)
        return Data(withUnsafeBytes(of: length.littleEndian, Array.init) + json + data)
    }

    func entry(_ name: String, _ dtype: String = "F32", shape: [Int], offsets: (Int, Int)) -> String {
        "\"\(name)\":{\"dtype\":\"\(dtype)\",\"shape\":\(shape),\"data_offsets\":[\(offsets.0),\(offsets.1)]}"
    }

    func expectError(_ expected: SafeTensorsError, _ data: Data, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(throws: expected, sourceLocation: sourceLocation) { try SafeTensors(data: data) }
    }

    func expectInvalidJSON(_ data: Data, sourceLocation: SourceLocation = #_sourceLocation) {
        let error = #expect(throws: SafeTensorsError.self, sourceLocation: sourceLocation) { try SafeTensors(data: data) }
        guard case .invalidJSON = error else {
            Issue.record("expected .invalidJSON, got \(String(describing: error))", sourceLocation: sourceLocation)
            return
        }
    }

    @Test func wellFormedBaseline() throws {
        let read = try SafeTensors(data: file("{\(entry("w", shape: [2], offsets: (0, 8)))}", data: [UInt8](repeating: 0, count: 8)))
        #expect(read["w"]?.scalars == [0, 0])
    }

    @Test func fileTooShort() {
        expectError(.fileTooShort(byteCount: 0), Data())
        expectError(.fileTooShort(byteCount: 7), Data(repeating: 0, count: 7))
    }

    @Test func headerLengthAboveTheCap() {
        expectError(.headerTooLarge(length: 100_000_001), file("{}", declaredLength: 100_000_001))
        expectError(.headerTooLarge(length: .max), file("{}", declaredLength: .max))
    }

    @Test func headerLengthPastTheEndOfTheFile() {
        expectError(.headerExceedsFile(length: 3, available: 2), file("{}", declaredLength: 3))
    }

    @Test func invalidJSON() {
        expectInvalidJSON(file(""))
        expectInvalidJSON(file("{\"w\":"))
        expectInvalidJSON(file("{\"w\":{} x"))
        expectInvalidJSON(file("{\"w\":{\"dtype\":\"F32\",}}"))
        expectInvalidJSON(file("{\"a\u{1}\":{}}"))                           // raw control character
        expectInvalidJSON(file("{\"\\ud800\":{}}"))                           // lone surrogate
        expectInvalidJSON(file("{\"w\":[01]}"))                              // leading zero
        expectInvalidJSON(Data(file("{\"?\":{}}").map { $0 == UInt8(ascii: "?") ? 0xFF : $0 }))  // bad UTF-8
        // Deep nesting must stop at the cap, not overflow the stack.
        expectInvalidJSON(file(String(repeating: "[", count: 100_000)))
    }

    @Test func jsonThatIsNotASafetensorsHeader() {
        let noData = { (header: String) in file(header) }
        let error = #expect(throws: SafeTensorsError.self) { try SafeTensors(data: noData("[]")) }
        #expect(error == .invalidHeader(key: nil, reason: "the header is not a JSON object"))
        for header in ["{\"w\":[]}",
                       "{\"w\":{\"shape\":[],\"data_offsets\":[0,0]}}",
                       "{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,0]}}",
                       "{\"w\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,0]}}",
                       "{\"w\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0]}}",
                       "{\"w\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,99999999999999999999]}}",
                       "{\"w\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}}"] {
            let error = #expect(throws: SafeTensorsError.self) { try SafeTensors(data: noData(header)) }
            guard case .invalidHeader(key: "w", _) = error else {
                Issue.record("\(header): expected .invalidHeader naming w, got \(String(describing: error))")
                continue
            }
        }
        for header in ["{\"__metadata__\":[]}", "{\"__metadata__\":{\"epoch\":3}}"] {
            let error = #expect(throws: SafeTensorsError.self) { try SafeTensors(data: noData(header)) }
            guard case .invalidHeader(key: "__metadata__", _) = error else {
                Issue.record("\(header): expected .invalidHeader naming __metadata__, got \(String(describing: error))")
                continue
            }
        }
    }

    @Test func unknownDType() {
        expectError(.unknownDType(key: "w", dtype: "F8_E4M3"),
                    file("{\(entry("w", "F8_E4M3", shape: [1], offsets: (0, 1)))}", data: [0]))
    }

    @Test func shapeDisagreesWithTheByteCount() {
        expectError(.sizeMismatch(key: "w", dtype: .f32, shape: [3], byteCount: 8),
                    file("{\(entry("w", shape: [3], offsets: (0, 8)))}", data: .init(repeating: 0, count: 8)))
        expectError(.sizeMismatch(key: "w", dtype: .f16, shape: [2], byteCount: 8),
                    file("{\(entry("w", "F16", shape: [2], offsets: (0, 8)))}", data: .init(repeating: 0, count: 8)))
        // A product that overflows Int must not trap.
        expectError(.sizeMismatch(key: "w", dtype: .f32, shape: [1 << 62, 4], byteCount: 0),
                    file("{\(entry("w", shape: [1 << 62, 4], offsets: (0, 0)))}"))
        expectError(.sizeMismatch(key: "w", dtype: .f64, shape: [1 << 61], byteCount: 0),
                    file("{\(entry("w", "F64", shape: [1 << 61], offsets: (0, 0)))}"))
    }

    @Test func offsetsOutOfRange() {
        expectError(.offsetsOutOfRange(key: "w", begin: 0, end: 16, dataLength: 8),
                    file("{\(entry("w", shape: [4], offsets: (0, 16)))}", data: .init(repeating: 0, count: 8)))
        expectError(.offsetsOutOfRange(key: "w", begin: 8, end: 0, dataLength: 8),
                    file("{\(entry("w", shape: [2], offsets: (8, 0)))}", data: .init(repeating: 0, count: 8)))
    }

    @Test func overlappingTensors() {
        let header = "{\(entry("a", shape: [2], offsets: (0, 8))),\(entry("b", shape: [2], offsets: (4, 12)))}"
        expectError(.overlappingTensors(key: "b", other: "a"), file(header, data: .init(repeating: 0, count: 12)))
        let same = "{\(entry("a", shape: [2], offsets: (0, 8))),\(entry("b", shape: [2], offsets: (0, 8)))}"
        expectError(.overlappingTensors(key: "b", other: "a"), file(same, data: .init(repeating: 0, count: 8)))
    }

    @Test func bytesThatBelongToNoTensor() {
        let gap = "{\(entry("a", shape: [1], offsets: (0, 4))),\(entry("b", shape: [1], offsets: (8, 12)))}"
        expectError(.uncoveredBytes(begin: 4, end: 8, before: "b"), file(gap, data: .init(repeating: 0, count: 12)))
        let tail = "{\(entry("a", shape: [1], offsets: (0, 4)))}"
        expectError(.uncoveredBytes(begin: 4, end: 8, before: nil), file(tail, data: .init(repeating: 0, count: 8)))
        expectError(.uncoveredBytes(begin: 0, end: 3, before: nil), file("{}", data: [1, 2, 3]))
    }

    @Test func duplicateKeys() {
        let twice = "{\(entry("a", shape: [1], offsets: (0, 4))),\(entry("a", shape: [1], offsets: (4, 8)))}"
        expectError(.duplicateKey("a"), file(twice, data: .init(repeating: 0, count: 8)))
        expectError(.duplicateKey("__metadata__.format"), file("{\"__metadata__\":{\"format\":\"pt\",\"format\":\"np\"}}"))
        expectError(.duplicateKey("__metadata__"), file("{\"__metadata__\":{},\"__metadata__\":{}}"))
    }

    /// A header of empty entries past the cap is refused as a whole (a million of them used to
    /// take a minute, and a line of output each); the cap itself passes, metadata not counted.
    @Test func entryCountIsCapped() throws {
        func header(_ count: Int) -> String {
            "{\"__metadata__\":{\"format\":\"pt\"}," + (0..<count).map { entry("k\($0)", shape: [0], offsets: (0, 0)) }.joined(separator: ",") + "}"
        }
        expectError(.tooManyEntries(count: SafeTensors.maxEntries + 1), file(header(SafeTensors.maxEntries + 1)))
        #expect(try SafeTensors(data: file(header(SafeTensors.maxEntries))).entries.count == SafeTensors.maxEntries)
    }

    @Test func missingFileGivesAnIOError() {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("motive-absent-\(UUID().uuidString)")
        let error = #expect(throws: SafeTensorsError.self) { try SafeTensors(contentsOf: url) }
        guard case .io = error else { Issue.record("expected .io, got \(String(describing: error))"); return }
    }

    @Test func errorMessagesNameTheKey() {
        #expect(SafeTensorsError.sizeMismatch(key: "conv.weight", dtype: .f32, shape: [2], byteCount: 4)
            .description.contains("\"conv.weight\""))
        #expect(SafeTensorsError.overlappingTensors(key: "b", other: "a").localizedDescription.contains("\"a\""))
    }

    /// Every truncation and every single-byte corruption of a real file either loads or throws.
    @Test func corruptedFixtureNeverCrashes() throws {
        let url = try #require(Bundle.module.url(forResource: "reference", withExtension: "safetensors",
                                                 subdirectory: "Fixtures"))
        let original = try Data(contentsOf: url)
        for length in 0..<original.count {
            #expect(throws: SafeTensorsError.self) { try SafeTensors(data: original.prefix(length)) }
        }
        var generator = SystemRandomNumberGenerator()
        for position in 0..<original.count {
            var corrupted = original
            corrupted[position] = UInt8.random(in: 0...255, using: &generator)
            _ = try? SafeTensors(data: corrupted)
        }
    }
}
