import Engine
import Foundation
import Testing
@testable import TensorIO

/// `Fixtures/reference.safetensors` comes from the reference writer via
/// Tests/Fixtures/make_safetensors_fixture.py; the values below repeat that script.
@Suite struct SafeTensorsFixtureTests {
    let file: SafeTensors

    init() throws {
        let url = try #require(Bundle.module.url(forResource: "reference", withExtension: "safetensors",
                                                 subdirectory: "Fixtures"))
        file = try SafeTensors(contentsOf: url)
    }

    @Test func keysFollowTheFileOrder() {
        // The reference writer orders data by alignment, then name.
        #expect(file.keys == ["bn.num_batches_tracked", "double", "conv.weight", "empty", "scale", "int32",
                              "bfloat", "half", "int16", "int8", "uint8", "mask"])
        #expect(file.metadata == ["format": "pt"])
    }

    @Test(arguments: [
        ("conv.weight", SafeTensors.DType.f32, [2, 1, 3, 3], (0..<18).map(Float.init)),
        ("scale", .f32, [], [0.5]),
        ("empty", .f32, [0, 3], []),
        ("half", .f16, [2, 3], [1, -2, 0.5, 65504, 0x1p-24, -.infinity]),
        ("bfloat", .bf16, [3], [1, -2, 3.140625]),
        ("double", .f64, [2], [0.25, -1.5]),
        ("bn.num_batches_tracked", .i64, [], [42]),
        ("int32", .i32, [3], [-3, 0, 100_000]),
        ("int16", .i16, [2], [-32768, 32767]),
        ("int8", .i8, [2], [-128, 127]),
        ("uint8", .u8, [2], [0, 255]),
        ("mask", .bool, [2, 2], [1, 0, 0, 1]),
    ] as [(String, SafeTensors.DType, [Int], [Float])])
    func tensorHasExactValues(name: String, dtype: SafeTensors.DType, shape: [Int], values: [Float]) throws {
        let entry = try #require(file.entry(name))
        #expect(entry.dtype == dtype)
        #expect(entry.tensor.shape == shape)
        #expect(entry.tensor.scalars == values)
    }

    @Test func loadsFromMemoryAsFromDisk() throws {
        let data = try Data(contentsOf: try #require(Bundle.module.url(
            forResource: "reference", withExtension: "safetensors", subdirectory: "Fixtures")))
        let inMemory = try SafeTensors(data: data)
        #expect(inMemory.keys == file.keys)
        for key in file.keys {
            #expect(inMemory[key]?.scalars == file[key]?.scalars)
        }
    }

    @Test func missingNameGivesNil() {
        #expect(file["nope"] == nil)
        #expect(file.entry("nope") == nil)
    }
}
