import Engine
import Foundation
import Testing
@testable import TensorIO

@Suite struct SafeTensorsWriteTests {
    /// Names deliberately out of alphabetical order: the caller's order must survive.
    func sample() throws -> SafeTensors {
        try SafeTensors([
            ("conv.weight", Tensor((0..<18).map(Float.init), shape: [2, 1, 3, 3])),
            ("bias", Tensor([-1.5, 2.25], shape: [2])),
            ("scalar", Tensor(scalar: 3)),
            ("empty", Tensor.zeros([0, 4])),
        ], metadata: ["format": "pt", "note": "quote \" backslash \\ newline \n tab \t é ✓"])
    }

    func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("motive-io-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    func expectSameContents(_ read: SafeTensors, _ written: SafeTensors) {
        #expect(read.keys == written.keys)
        #expect(read.metadata == written.metadata)
        #expect(Set(read.tensors.keys) == Set(written.keys))
        for entry in written.entries {
            #expect(read.entry(entry.name)?.dtype == .f32)
            #expect(read[entry.name]?.shape == entry.tensor.shape)
            #expect(read[entry.name]?.scalars == entry.tensor.scalars)
        }
    }

    @Test func acceptsAStateDictOfUnlabelledPairs() throws {
        let stateDict: [(String, Tensor)] = [("w", Tensor([1, 2], shape: [2]))]
        #expect(try SafeTensors(data: SafeTensors(stateDict).encoded())["w"]?.scalars == [1, 2])
    }

    @Test func roundTripsThroughMemory() throws {
        let written = try sample()
        expectSameContents(try SafeTensors(data: written.encoded()), written)
    }

    /// Also leaves a copy at $TMPDIR/motive-roundtrip.safetensors for the Python read-back in
    /// Tests/Fixtures/make_safetensors_fixture.py.
    @Test func roundTripsThroughAFile() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("model.safetensors")
        let written = try sample()
        try written.write(to: url)
        expectSameContents(try SafeTensors(contentsOf: url), written)
        #expect(try Data(contentsOf: url) == written.encoded())

        let shared = FileManager.default.temporaryDirectory.appendingPathComponent("motive-roundtrip.safetensors")
        try written.write(to: shared)
    }

    @Test func writeReplacesAnExistingFileAndLeavesNoTemporaryFile() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("model.safetensors")
        try SafeTensors([("a", Tensor([1, 2, 3], shape: [3]))]).write(to: url)
        try SafeTensors([("b", Tensor(scalar: 7))]).write(to: url)
        let read = try SafeTensors(contentsOf: url)
        #expect(read.keys == ["b"])
        #expect(read["b"]?.scalars == [7])
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["model.safetensors"])
    }

    @Test func writeIntoAMissingDirectoryFailsWithAnIOError() throws {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("motive-missing-\(UUID().uuidString)/model.safetensors")
        let error = #expect(throws: SafeTensorsError.self) {
            try SafeTensors([("a", Tensor(scalar: 1))]).write(to: url)
        }
        guard case .io = error else { Issue.record("expected .io, got \(String(describing: error))"); return }
    }

    @Test func headerIsJSONAndDataStartsOnAnEightByteBoundary() throws {
        for count in 0..<9 {  // header lengths with every remainder mod 8
            let tensors = SafeTensors.tensorsNamed(count)
            let header = try SafeTensors(tensors, metadata: count.isMultiple(of: 2) ? [:] : ["k": "v"]).encodedHeader()
            let length = header.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
            #expect(length == header.count - 8)
            #expect(header.count % 8 == 0)
            let json = try #require(try JSONSerialization.jsonObject(with: Data(header.dropFirst(8))) as? [String: Any])
            #expect(json.count == count + (count.isMultiple(of: 2) ? 0 : 1))
            var offset = 0
            for (name, tensor) in tensors {
                let entry = try #require(json[name] as? [String: Any])
                #expect(entry["dtype"] as? String == "F32")
                #expect(entry["shape"] as? [Int] == tensor.shape)
                #expect(entry["data_offsets"] as? [Int] == [offset, offset + 4 * tensor.count])
                offset += 4 * tensor.count
            }
        }
    }

    @Test func refusesDuplicateAndReservedNames() {
        #expect(throws: SafeTensorsError.duplicateKey("a")) {
            try SafeTensors([("a", Tensor(scalar: 1)), ("a", Tensor(scalar: 2))])
        }
        #expect(throws: SafeTensorsError.reservedName("__metadata__")) {
            try SafeTensors([("__metadata__", Tensor(scalar: 1))])
        }
    }
}

extension SafeTensors {
    /// `count` tensors with names of growing length, so headers vary in size.
    static func tensorsNamed(_ count: Int) -> [(name: String, tensor: Tensor)] {
        (0..<count).map { i in (String(repeating: "w", count: i + 1), Tensor.arange(i)) }
    }
}
