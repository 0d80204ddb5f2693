import Engine
import Foundation
import Testing
@testable import TensorIO

@Suite struct NPYTests {
    func fixture(_ name: String) throws -> URL {
        try #require(Bundle.module.url(forResource: name, withExtension: "npy", subdirectory: "Fixtures"))
    }

    @Test func readsNumpyFiles() throws {
        let t = try NPY.read(fixture("arange_2x3x4_f32"))
        #expect(t.shape == [2, 3, 4])
        #expect(t.scalars == (0..<24).map(Float.init))
        let d = try NPY.read(fixture("pair_f64"))
        #expect(d.shape == [2] && d.scalars == [1.5, -2])
    }

    @Test func roundTripsAndRejectsBadFiles() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("motive-\(UUID().uuidString).npy")
        defer { try? FileManager.default.removeItem(at: url) }
        let t = Tensor([1, 2, 3, 4, 5, 6], shape: [1, 2, 3])
        try NPY.write(t, to: url)
        let back = try NPY.read(url)
        #expect(back.shape == [1, 2, 3] && back.scalars == t.scalars)
        #expect(throws: NPY.Error.notNPY("bad magic")) { try NPY.read(Data("hello world".utf8)) }
        var cut = try Data(contentsOf: fixture("arange_2x3x4_f32"))
        cut.removeLast(8)
        #expect(throws: NPY.Error.truncated(expected: 96, found: 88)) { try NPY.read(cut) }
    }
}
