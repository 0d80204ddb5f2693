import Foundation
import Testing
@testable import Video

/// Every kind of bad input ends in a typed error naming the file (and the frame, for decode
/// errors): never a crash, never a hang. All inputs are generated here.
@Suite struct BadInputTests {
    let folder = TempFolder()

    init() { _ = quietFFmpeg }

    func write(_ bytes: [UInt8], to name: String) throws -> String {
        let path = folder.file(name)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    func bytes(of path: String) throws -> [UInt8] { try [UInt8](Data(contentsOf: URL(fileURLWithPath: path))) }

    /// Deterministic noise (a linear congruential generator).
    static func noise(_ count: Int, seed: UInt32 = 12345) -> [UInt8] {
        var state = seed
        return (0..<count).map { _ in state = state &* 1664525 &+ 1013904223; return UInt8(state >> 24) }
    }

    @Test func missingAndEmptyFiles() throws {
        let missing = folder.file("nope.mp4")
        #expect(videoError { try VideoReader(path: missing) } == .fileNotFound(path: missing))
        let empty = try write([], to: "empty.mp4")
        #expect(videoError { try VideoReader(path: empty) } == .emptyInput(path: empty))
        #expect(videoError { try VideoReader(bytes: []) } == .emptyInput(path: "<memory>"))
    }

    @Test func garbageIsNotAContainer() throws {
        let garbage = Self.noise(100_000)
        let path = try write(garbage, to: "garbage.mp4")
        guard case .unrecognizedFormat(let p, _) = videoError({ try VideoReader(path: path) }) else {
            Issue.record("garbage file opened or failed otherwise"); return
        }
        #expect(p == path)
        guard case .unrecognizedFormat = videoError({ try VideoReader(bytes: garbage) }) else {
            Issue.record("garbage bytes opened or failed otherwise"); return
        }
    }

    @Test(arguments: [(VideoCodec.h264, "cut.mp4"), (.h264, "cut.avi"), (.vp9, "cut.webm"), (.hevc, "cut.mkv")])
    func truncatedFiles(_ codec: VideoCodec, _ name: String) throws {
        let whole = folder.file("whole-" + name)
        try writeClip(whole, count: 30, width: 64, height: 48, options: EncodeOptions(codec: codec))
        let data = try bytes(of: whole)
        let path = try write(Array(data.prefix(data.count * 6 / 10)), to: name)
        guard case .truncated(let p, _) = videoError({ try VideoReader(path: path) }) else {
            Issue.record("\(name) cut at 60% was not reported as truncated: \(String(describing: videoError({ try VideoReader(path: path) })))")
            return
        }
        #expect(p == path)
    }

    /// The container's own sizes tell a cut-off file from a whole one, in every container.
    @Test(arguments: [(VideoCodec.h264, "x.mp4"), (.h264, "x.mov"), (.h264, "x.avi"), (.vp9, "x.webm"), (.hevc, "x.mkv")])
    func containerExtents(_ codec: VideoCodec, _ name: String) throws {
        let whole = folder.file("extent-" + name)
        try writeClip(whole, count: 30, width: 64, height: 48, options: EncodeOptions(codec: codec))
        let data = try bytes(of: whole)
        #expect(ContainerExtent.of(ByteWindow(bytes: data)) == .complete, "\(name)")
        #expect(ContainerExtent.of(ByteWindow(path: whole, size: data.count)) == .complete, "\(name)")
        guard case .short(let end, let size) = ContainerExtent.of(ByteWindow(bytes: Array(data.prefix(data.count - 1)))) else {
            Issue.record("\(name) one byte short is not short"); return
        }
        #expect(size == data.count - 1 && end > size, "\(name)")
        #expect(ContainerExtent.of(ByteWindow(bytes: Self.noise(5000))) == .unknown)
    }

    /// A whole MP4 whose sample table is overwritten is damaged, not truncated; cut, it is truncated.
    @Test func damagedIsNotTruncated() throws {
        let whole = folder.file("whole.mp4")
        try writeClip(whole, count: 30, width: 64, height: 48, options: EncodeOptions(codec: .h264))
        var data = try bytes(of: whole)
        let table = try #require((0..<(data.count - 4)).first { data[$0..<($0 + 4)].elementsEqual("stsz".utf8) })
        for i in (table + 12)..<(table + 60) { data[i] = 0xFF }
        let path = try write(data, to: "damaged.mp4")
        for error in [videoError({ try VideoReader(path: path) }), videoError({ try VideoReader(bytes: data) })] {
            guard case .damaged = error else { Issue.record("not reported as damaged: \(String(describing: error))"); continue }
            #expect(error?.description.contains("file is damaged") == true)
        }
        let cut = try write(Array(data.prefix(data.count * 6 / 10)), to: "damaged-cut.mp4")
        guard case .truncated(_, let reason) = videoError({ try VideoReader(path: cut) }) else {
            Issue.record("cut file not reported as truncated"); return
        }
        #expect(reason.contains("the data ends at byte \(data.count * 6 / 10) of"), "\(reason)")
    }

    @Test func audioOnlyWAVHasNoVideoStream() throws {
        // 0.1 s of 8 kHz mono 16-bit PCM: a RIFF header, a "fmt " chunk and a "data" chunk.
        let samples = (0..<800).flatMap { i -> [UInt8] in
            let v = Int16(sin(Double(i) * 0.2) * 8000)
            return [UInt8(truncatingIfNeeded: v), UInt8(truncatingIfNeeded: v >> 8)]
        }
        func le32(_ v: Int) -> [UInt8] { (0..<4).map { UInt8((v >> (8 * $0)) & 0xFF) } }
        func le16(_ v: Int) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }
        let fmt = le16(1) + le16(1) + le32(8000) + le32(16000) + le16(2) + le16(16)
        let wav = Array("RIFF".utf8) + le32(4 + 8 + fmt.count + 8 + samples.count) + Array("WAVE".utf8)
            + Array("fmt ".utf8) + le32(fmt.count) + fmt + Array("data".utf8) + le32(samples.count) + samples
        let path = try write(wav, to: "tone.wav")
        #expect(videoError { try VideoReader(path: path) } == .noVideoStream(path: path))
    }

    @Test func unknownFourCCIsUnsupported() throws {
        // An MPEG-4 AVI whose FourCC ("FMP4", in the stream header and the bitmap header) is replaced.
        let good = folder.file("good.avi")
        try writeClip(good, count: 5, width: 64, height: 48, options: EncodeOptions(codec: .mpeg4))
        var data = try bytes(of: good)
        var replaced = 0
        for i in 0..<(data.count - 4) where data[i..<(i + 4)].elementsEqual("FMP4".utf8) {
            data.replaceSubrange(i..<(i + 4), with: "QQQQ".utf8)
            replaced += 1
        }
        #expect(replaced == 2)
        let path = try write(data, to: "unknown.avi")
        guard case .unsupportedCodec(let p, let codec) = videoError({ try VideoReader(path: path) }) else {
            Issue.record("unknown FourCC not reported as unsupported"); return
        }
        #expect(p == path && codec.contains("QQQQ"))
    }

    @Test func oversizedFramesAreRefusedBeforeDecoding() throws {
        let path = folder.file("big.mkv")
        try writeClip(path, count: 3, width: 160, height: 120, options: EncodeOptions(codec: .mjpeg))
        #expect(videoError { try VideoReader(path: path, options: ReaderOptions(maxPixels: 160 * 120 - 1)) }
                == .tooLarge(path: path, width: 160, height: 120, maxPixels: 160 * 120 - 1))
        #expect(try VideoReader(path: path, options: ReaderOptions(maxPixels: 160 * 120)).frameCount == 3)
    }

    @Test func corruptFrameNamesItsIndex() throws {
        // MJPEG in AVI: every frame is one JPEG; wipe the headers of frame 5 (its tables and SOF).
        let good = folder.file("good.avi")
        try writeClip(good, count: 12, width: 64, height: 48, options: EncodeOptions(codec: .mjpeg))
        var data = try bytes(of: good)
        var starts: [Int] = []
        for i in 0..<(data.count - 3) where data[i] == 0xFF && data[i + 1] == 0xD8 && data[i + 2] == 0xFF {
            starts.append(i)
        }
        try #require(starts.count == 12)
        for i in (starts[5] + 2)..<(starts[5] + 300) { data[i] = 0 }
        let path = try write(data, to: "corrupt.avi")
        let reader = try VideoReader(path: path)
        #expect(reader.frameCount == 12)
        guard case .decodeFailed(let p, 5, _) = videoError({ try reader.decodeAll() }) else {
            Issue.record("decodeAll did not fail at frame 5"); return
        }
        #expect(p == path)
        guard case .decodeFailed(_, 5, _) = videoError({ try reader.frames(at: [9, 5, 1]) }) else {
            Issue.record("random access did not fail at frame 5"); return
        }
        // The frames around it still decode, and match a clean decode of the original.
        let clean = try VideoReader(path: good).decodeAll()
        expectSame(try reader.frames(at: [4, 6, 11]), clean.frames([4, 6, 11]))
    }

    @Test func indicesOutOfRange() throws {
        let path = folder.file("short.mkv")
        try writeClip(path, count: 4, width: 64, height: 48, options: EncodeOptions(codec: .mjpeg))
        let reader = try VideoReader(path: path)
        #expect(videoError { try reader.frames(at: [0, 4]) } == .indexOutOfRange(path: path, index: 4, frameCount: 4))
        #expect(videoError { try reader.frames(at: [-1]) } == .indexOutOfRange(path: path, index: -1, frameCount: 4))
        #expect(try reader.frames(at: []).count == 0)
    }

    @Test func emptyFrameFolder() throws {
        let pattern = folder.path + "/img_%05d.jpg"
        #expect(videoError { try VideoReader(frameFolder: folder.path) } == .noFrames(path: pattern))
    }

    @Test func deadlineStopsOpening() throws {
        let path = folder.file("clip.mkv")
        try writeClip(path, count: 4, width: 64, height: 48, options: EncodeOptions(codec: .mjpeg))
        guard case .timedOut(let p, _) = videoError({ try VideoReader(path: path, options: ReaderOptions(timeout: 0)) }) else {
            Issue.record("a zero deadline did not stop the reader"); return
        }
        #expect(p == path)
    }

    @Test func writerRejectsBadRequests() throws {
        #expect(videoError { try VideoWriter(path: folder.file("x.unknownext"), width: 64, height: 48) }
                == .unsupportedContainer(path: folder.file("x.unknownext"), reason: "no muxer for this file extension"))
        guard case .unsupportedContainer = videoError({
            try VideoWriter(path: folder.file("x.webm"), width: 64, height: 48, options: EncodeOptions(codec: .mjpeg))
        }) else { Issue.record("WebM accepted MJPEG"); return }
        let writer = try VideoWriter(path: folder.file("x.mkv"), width: 64, height: 48, options: EncodeOptions(codec: .mjpeg))
        guard case .invalidArgument = videoError({ try writer.append(syntheticFrames(count: 1, width: 32, height: 48)) }) else {
            Issue.record("wrong frame size accepted"); return
        }
        #expect(videoError { try VideoWriter(path: folder.file("y.mkv"), width: 0, height: 48) } != nil)
    }
}
