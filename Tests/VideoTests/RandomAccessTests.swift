import Foundation
import Testing
@testable import Video

/// Random access must give exactly the frames a sequential decode gives, for every codec, and
/// those frames must be the synthetic frames that were written (loosely: codecs are lossy).
@Suite struct RandomAccessTests {
    struct Case: CustomStringConvertible, Sendable {
        var codec: VideoCodec
        var file: String
        var bFrames = 0
        var description: String { "\(codec.rawValue) in \(file)" }
    }

    static let cases: [Case] = [
        Case(codec: .h264, file: "clip.mp4", bFrames: 2),
        Case(codec: .h264, file: "clip.mkv", bFrames: 3),
        Case(codec: .hevc, file: "clip.mkv", bFrames: 2),
        Case(codec: .hevc, file: "clip.mp4", bFrames: 3),
        Case(codec: .vp9, file: "clip.webm"),
        Case(codec: .mpeg4, file: "clip.avi"),
        Case(codec: .mjpeg, file: "clip.avi"),
    ]

    static let (width, height, count) = (96, 64, 40)
    static let picks = [37, 3, 3, 20, 11, 12, 0, 39, 25, 26, 24, 5]

    @Test(arguments: cases)
    func randomAccessMatchesSequentialDecode(_ c: Case) throws {
        _ = quietFFmpeg
        let folder = TempFolder()
        let path = folder.file(c.file)
        let writer = try writeClip(path, count: Self.count, width: Self.width, height: Self.height,
                                   options: EncodeOptions(codec: c.codec, gop: 12, bFrames: c.bFrames, quality: 20))
        #expect(writer.codecUsed == c.codec)

        let reader = try VideoReader(path: path)
        #expect(reader.frameCount == Self.count)
        #expect(reader.info.frameCount == Self.count)
        #expect(reader.info.codec == c.codec.rawValue)
        #expect(reader.info.width == Self.width && reader.info.height == Self.height)
        #expect(reader.info.rotation == 0)
        #expect(abs(reader.info.duration - Double(Self.count) / 25) < 0.1, "duration \(reader.info.duration)")

        let all = try reader.decodeAll()
        #expect(all.count == Self.count && all.width == Self.width && all.height == Self.height)
        let synthetic = syntheticFrames(count: Self.count, width: Self.width, height: Self.height)
        for k in 0..<Self.count {
            #expect(frameNumber(in: all, frame: k) == k, "\(c): frame \(k) shows another number")
            let here = meanDifference(all, k, synthetic, k)
            #expect(here < 8, "\(c): frame \(k) differs from its source by \(here)")
            if k > 0 { #expect(here < meanDifference(all, k, synthetic, k - 1)) }
            if k + 1 < Self.count { #expect(here < meanDifference(all, k, synthetic, k + 1)) }
        }

        let picked = try reader.frames(at: Self.picks)
        expectSame(picked, all.frames(Self.picks), "\(c): random access differs from decodeAll")
        // Without skipping non-reference frames, and again on a fresh reader (no state carried over).
        let keepAll = try VideoReader(path: path, options: ReaderOptions(discardNonReference: false))
        expectSame(try keepAll.frames(at: Self.picks), picked)
        // Every frame alone, walking backwards so each one needs a seek.
        for k in stride(from: Self.count - 1, through: 0, by: -1) {
            expectSame(try reader.frames(at: [k]), all.frame(k), "\(c): frame \(k) alone")
        }
        // In memory, through the custom AVIOContext.
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        let memory = try VideoReader(bytes: bytes)
        #expect(memory.info == reader.info)
        expectSame(try memory.frames(at: Self.picks), picked)
        // Resized output: native size scaled down, exact between access patterns too.
        let small = FrameSize(width: 48, height: 40)
        let allSmall = try reader.decodeAll(size: small)
        #expect(allSmall.width == 48 && allSmall.height == 40)
        expectSame(try reader.frames(at: Self.picks, size: small), allSmall.frames(Self.picks))
    }
}
