import Testing
@testable import TensorIO

@Suite struct DTypeTests {
    @Test func byteSizes() {
        #expect(SafeTensors.DType.allCases.map(\.byteSize) == [8, 4, 2, 2, 8, 4, 2, 1, 1, 1])
    }

    @Test func halfBitsByHand() {
        #expect(floatFromHalf(0x3C00) == 1)
        #expect(floatFromHalf(0xC000) == -2)
        #expect(floatFromHalf(0x7BFF) == 65504)
        #expect(floatFromHalf(0x0001) == 0x1p-24)       // smallest subnormal
        #expect(floatFromHalf(0x03FF) == 1023 * 0x1p-24) // largest subnormal
        #expect(floatFromHalf(0x8000).sign == .minus && floatFromHalf(0x8000) == 0)
        #expect(floatFromHalf(0xFC00) == -.infinity)
        #expect(floatFromHalf(0x7E00).isNaN)
    }

    #if !(os(macOS) && arch(x86_64))
    @Test func halfMatchesFloat16ForEveryBitPattern() {
        for bits in UInt16.min...UInt16.max {
            let expected = Float(Float16(bitPattern: bits))
            let got = floatFromHalf(bits)
            if expected.isNaN {
                #expect(got.isNaN)
            } else if got.bitPattern != expected.bitPattern {
                Issue.record("half 0x\(String(bits, radix: 16)): got \(got), expected \(expected)")
            }
        }
    }
    #endif
}
