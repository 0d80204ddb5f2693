import Testing
@testable import Flow

@Suite struct FlowFieldTests {
    @Test func quantizesLikeDenseflow() throws {
        // round((f + 20) / 40 · 255): −20 → 0, −10 → 63.75 → 64, 0 → 127.5 → 128, 5 → 159.375 → 159,
        // 19.9 → 254.36 → 254, 20 → 255; beyond ±20 clips.
        let flow = try FlowField(width: 4, height: 2, u: [-20, -10, 0, 5, 19.9, 20, -100, 100],
                                 v: [0.1, -0.1, 1, -1, 2, -2, 30, -30])
        let (x, y) = flow.quantized(bound: 20)
        #expect(x == [0, 64, 128, 159, 254, 255, 0, 255])
        // 0.1 → 128.1375 → 128, −0.1 → 126.8625 → 127, 1 → 133.875 → 134, −1 → 121.125 → 121,
        // 2 → 140.25 → 140, −2 → 114.75 → 115.
        #expect(y == [128, 127, 134, 121, 140, 115, 255, 0])
        let (x1, _) = flow.quantized(bound: 1)
        #expect(x1 == [0, 0, 128, 255, 255, 255, 0, 255])
    }

    @Test func endPointErrorHonoursTheMargin() throws {
        let zero = try FlowField(width: 4, height: 4, u: .init(repeating: 0, count: 16), v: .init(repeating: 0, count: 16))
        var u = [Float](repeating: 0, count: 16), v = u
        u[0] = 3; v[0] = 4  // a corner off by 5 px
        u[5] = 0.6; v[5] = 0.8  // an inner pixel off by 1 px
        let other = try FlowField(width: 4, height: 4, u: u, v: v)
        #expect(abs(other.meanEndPointError(to: zero) - 6.0 / 16) < 1e-6)
        #expect(abs(other.meanEndPointError(to: zero, margin: 1) - 1.0 / 4) < 1e-6)
    }

    @Test func grayImageConversions() throws {
        #expect(try GrayImage(width: 2, height: 1, gray: [0, 255]).pixels == [0, 255])
        // OpenCV COLOR_RGB2GRAY on these pixels gives 124, 91, 2 (checked with cv2.cvtColor).
        let rgb = try GrayImage(width: 3, height: 1, rgb24: [10, 200, 33, 255, 0, 128, 1, 2, 3])
        #expect(rgb.pixels == [124, 91, 2])
        #expect(try GrayImage(width: 1, height: 1, rgb24: [255, 255, 255]).pixels == [255])
        #expect(throws: FlowError.invalidImage(reason: "2×2 needs 3 RGB24 bytes per pixel, got 11 in all")) {
            try GrayImage(width: 2, height: 2, rgb24: .init(repeating: 0, count: 11))
        }
        #expect(throws: FlowError.self) { try GrayImage(width: 0, height: 2, gray: []) }
        #expect(throws: FlowError.self) { try GrayImage(width: Int.max, height: 2, gray: []) }
        #expect(throws: FlowError.self) { try FlowField(width: 2, height: 2, u: [0, 0, 0, 0], v: [0]) }
    }
}
