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

    /// Seeking lands on the keyframe at or before the wanted frame, not a GOP earlier, and a run
    /// of wanted frames decodes after one seek.
    @Test func randomAccessDecodesOnlyFromTheKeyframe() throws {
        _ = quietFFmpeg
        let folder = TempFolder()
        let path = folder.file("gop12.mp4")
        try writeClip(path, count: 60, width: 64, height: 48, options: EncodeOptions(codec: .h264, gop: 12, bFrames: 2))
        for k in [18, 47, 59] {
            let reader = try VideoReader(path: path, options: ReaderOptions(threads: 1, discardNonReference: false))
            let keyframe = reader.index.keyframe(atOrBefore: k)  // x264 may add keyframes at scene cuts
            #expect(keyframe > k - 12)
            _ = try reader.frames(at: [k])
            // Frames keyframe…k, plus at most the B-frame reordering delay.
            #expect(reader.picturesDecoded >= k - keyframe + 1 && reader.picturesDecoded <= k - keyframe + 4,
                    "frame \(k): \(reader.picturesDecoded) pictures decoded")
        }
        let reader = try VideoReader(path: path)
        let keyframes = reader.index.keyframes
        #expect(keyframes.count >= 5 && keyframes.first == 0)
        // Within a GOP: one group. Across a keyframe with frames to skip: a new group. A keyframe
        // right after the previous wanted frame: no seek, decoding simply goes on.
        let (a, b) = (keyframes[1], keyframes[2])
        #expect(reader.groups(of: [0, a - 1]) == [[0, a - 1]])
        #expect(reader.groups(of: [0, a + 1, b]) == [[0], [a + 1], [b]])
        #expect(reader.groups(of: [a - 1, a, a + 2]) == [[a - 1, a, a + 2]])
    }

    /// MOTIVE_VIDEO_BENCH=1 swift test -c release -Xswiftc -enable-testing --filter discardTiming
    @Test(.enabled(if: ProcessInfo.processInfo.environment["MOTIVE_VIDEO_BENCH"] == "1"))
    func discardTiming() throws {
        _ = quietFFmpeg
        let folder = TempFolder()
        let (w, h, n) = (320, 240, 300)
        let picks = Self.tsnIndices(frames: n, segments: 8)
        for (gop, bFrames) in [(12, 2), (250, 2), (250, 3)] {
            let path = folder.file("bench-gop\(gop)-b\(bFrames).mp4")
            try writeClip(path, count: n, width: w, height: h,
                          options: EncodeOptions(codec: .h264, gop: gop, bFrames: bFrames, preset: "veryfast"))
            var best: [Bool: Double] = [:]
            var results: [Bool: FrameStack] = [:]
            var pictures: [Bool: Int] = [:]
            for threads in [0, 1] {
                best = [:]
                for round in 0..<16 {
                    let discard = round % 2 == 0
                    let reader = try VideoReader(path: path, options: ReaderOptions(threads: threads, discardNonReference: discard))
                    let start = monotonicSeconds()
                    results[discard] = try reader.frames(at: picks)
                    best[discard] = min(best[discard] ?? .infinity, monotonicSeconds() - start)
                    pictures[discard] = reader.picturesDecoded
                }
                let on = best[true]! * 1000, off = best[false]! * 1000
                print("NONREF gop \(gop) B \(bFrames) threads \(threads == 0 ? "auto" : "1"): discard \(on) ms "
                      + "(\(pictures[true]!) pictures), keep \(off) ms (\(pictures[false]!) pictures), speed-up \(off / on)×")
                #expect(results[true] == results[false])
            }
        }
    }
}
