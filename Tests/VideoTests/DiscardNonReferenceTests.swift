import Foundation
import Testing
@testable import Video

/// Skipping unwanted non-reference frames (AVDISCARD_NONREF) must not change any wanted frame.
/// The timing comparison behind the default runs only with MOTIVE_VIDEO_BENCH=1.
@Suite struct DiscardNonReferenceTests {
    /// Centres of `segments` equal segments, as TSN samples them at test time.
    static func tsnIndices(frames: Int, segments: Int) -> [Int] {
        (0..<segments).map { Int((Double($0) + 0.5) * Double(frames) / Double(segments)) }
    }

    @Test func sparseAccessStaysExact() throws {
        _ = quietFFmpeg
        let folder = TempFolder()
        let path = folder.file("bframes.mp4")
        // Long GOP, three B-frames (x264 then uses a B-pyramid: some B-frames are references, some not).
        try writeClip(path, count: 60, width: 96, height: 64,
                      options: EncodeOptions(codec: .h264, gop: 30, bFrames: 3))
        let picks = Self.tsnIndices(frames: 60, segments: 8) + [59, 31, 30, 1]
        let skipping = try VideoReader(path: path, options: ReaderOptions(discardNonReference: true))
        let keeping = try VideoReader(path: path, options: ReaderOptions(discardNonReference: false))
        let all = try keeping.decodeAll()
        expectSame(try skipping.frames(at: picks), all.frames(picks))
        expectSame(try keeping.frames(at: picks), all.frames(picks))
        for k in picks { #expect(frameNumber(in: all, frame: k) == k) }
    }

    /// MOTIVE_VIDEO_BENCH=1 swift test -c release -Xswiftc -enable-testing --filter discardTiming
    @Test(.enabled(if: ProcessInfo.processInfo.environment["MOTIVE_VIDEO_BENCH"] == "1"))
    func discardTiming() throws {
        _ = quietFFmpeg
        let folder = TempFolder()
        let (w, h, n) = (320, 240, 300)
        let picks = Self.tsnIndices(frames: n, segments: 8)
        for gop in [12, 250] {
            let path = folder.file("bench-gop\(gop).mp4")
            try writeClip(path, count: n, width: w, height: h,
                          options: EncodeOptions(codec: .h264, gop: gop, bFrames: 2, preset: "veryfast"))
            var best: [Bool: Double] = [:]
            var results: [Bool: FrameStack] = [:]
            for threads in [0, 1] {
                best = [:]
                for round in 0..<6 {
                    let discard = round % 2 == 0
                    let reader = try VideoReader(path: path, options: ReaderOptions(threads: threads, discardNonReference: discard))
                    let start = monotonicSeconds()
                    results[discard] = try reader.frames(at: picks)
                    best[discard] = min(best[discard] ?? .infinity, monotonicSeconds() - start)
                }
                let on = best[true]! * 1000, off = best[false]! * 1000
                print("NONREF gop \(gop) threads \(threads == 0 ? "auto" : "1"): discard \(on) ms, keep \(off) ms, speed-up \(off / on)×")
                #expect(results[true] == results[false])
            }
        }
    }
}
