import Foundation
import Testing
import Video
@testable import Clips

/// resize_linear.json comes from Tests/Fixtures/make_clips_resize_fixture.py (cv2.resize, INTER_LINEAR).
struct ResizeFixture: Decodable {
    struct Case: Decodable {
        let height, width, outHeight, outWidth: Int
        let pixels, expected: [UInt8]
    }
    let opencv: String
    let cases: [Case]
}

/// A one-frame stack from rows of grey values (R = G = B).
func grey(_ rows: [[UInt8]]) -> FrameStack {
    FrameStack(count: 1, height: rows.count, width: rows[0].count, pixels: rows.flatMap { $0.flatMap { [$0, $0, $0] } })
}

/// The R channel of frame `t`, row by row.
func red(_ s: FrameStack, frame t: Int = 0) -> [[UInt8]] {
    (0..<s.height).map { y in (0..<s.width).map { x in s.pixels[((t * s.height + y) * s.width + x) * 3] } }
}

@Suite struct ResizeTests {
    @Test func matchesOpenCV() throws {
        let url = try #require(Bundle.module.url(forResource: "resize_linear", withExtension: "json", subdirectory: "Fixtures"))
        let fixture = try JSONDecoder().decode(ResizeFixture.self, from: Data(contentsOf: url))
        #expect(fixture.cases.count == 36)
        for c in fixture.cases {
            let src = FrameStack(count: 1, height: c.height, width: c.width, pixels: c.pixels)
            let out = src.resized(to: FrameSize(width: c.outWidth, height: c.outHeight))
            #expect(out.pixels == c.expected, "\(c.width)×\(c.height) → \(c.outWidth)×\(c.outHeight)")
        }
    }

    @Test func halvingAveragesTwoByTwoBlocks() {
        // 4×4 → 2×2 samples at the block centres: (a+b+c+d+2) >> 2, e.g. (40+44+56+61+2) >> 2 = 50.
        let img = grey([[0, 4, 8, 12], [16, 20, 24, 28], [32, 36, 40, 44], [48, 52, 56, 61]])
        #expect(red(img.resized(to: .square(2))) == [[10, 18], [42, 50]])
    }

    @Test func upscalingClampsAtTheBorder() {
        // 2 → 4 columns: x = −0.25, 0.25, 0.75, 1.25 → 0, 0.25, 0.75, 1 of the way.
        #expect(red(grey([[0, 200]]).resized(to: FrameSize(width: 4, height: 1))) == [[0, 50, 150, 200]])
    }

    @Test func framesResizeIndependently() {
        let two = FrameStack.concat([grey([[0, 0], [0, 0]]), grey([[100, 100], [100, 100]])])
        let out = two.resized(to: .square(3))
        #expect(red(out, frame: 0) == Array(repeating: [0, 0, 0], count: 3))
        #expect(red(out, frame: 1) == Array(repeating: [100, 100, 100], count: 3))
    }

    @Test func shortSideFollowsMMCV() {
        #expect(FrameStack.shortSideSize(height: 240, width: 320, side: 256) == FrameSize(width: 341, height: 256))
        #expect(FrameStack.shortSideSize(height: 1080, width: 1920, side: 128) == FrameSize(width: 228, height: 128))
        #expect(FrameStack.shortSideSize(height: 400, width: 300, side: 256) == FrameSize(width: 256, height: 341))
    }
}
