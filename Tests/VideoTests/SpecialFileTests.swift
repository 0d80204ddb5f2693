import Foundation
import Testing
@testable import Video

/// Files that stress the index and the output path: variable frame rate, rotation metadata,
/// odd sizes, numbered images.
@Suite struct SpecialFileTests {
    @Test func variableFrameRateKeepsTimestampsAndFrames() throws {
        _ = quietFFmpeg
        let folder = TempFolder()
        let path = folder.file("vfr.mp4")
        // Gaps from 10 ms to 200 ms.
        var times: [Double] = [0]
        for i in 1..<30 { times.append(times[i - 1] + [0.04, 0.01, 0.2, 0.033, 0.1][i % 5]) }
        try writeClip(path, count: 30, width: 64, height: 48,
                      options: EncodeOptions(codec: .h264, gop: 10, bFrames: 2, timestamps: times))
        let reader = try VideoReader(path: path)
        try #require(reader.frameCount == 30)
        let offset = reader.timestamps[0]
        for (got, want) in zip(reader.timestamps, times) { #expect(abs(got - offset - want) < 0.002) }
        let all = try reader.decodeAll()
        for k in 0..<30 { #expect(frameNumber(in: all, frame: k) == k) }
        let picks = [29, 2, 17, 9, 10, 3]
        expectSame(try reader.frames(at: picks), all.frames(picks))
    }

    @Test(arguments: [90, 180, 270])
    func rotationMetadataTurnsFrames(_ degrees: Int) throws {
        _ = quietFFmpeg
        let folder = TempFolder()
        let path = folder.file("rotated.mp4")
        let (w, h) = (64, 48)
        try writeClip(path, count: 20, width: w, height: h, options: EncodeOptions(codec: .h264, rotation: degrees))
        let reader = try VideoReader(path: path)
        #expect(reader.info.rotation == degrees)
        #expect(reader.info.width == w && reader.info.height == h)  // coded size
        let all = try reader.decodeAll()
        let expected = rotated(syntheticFrames(count: 20, width: w, height: h), by: degrees)
        #expect(all.width == expected.width && all.height == expected.height)
        for k in 0..<20 { #expect(meanDifference(all, k, expected, k) < 8, "frame \(k) turned wrong") }
        let picks = [19, 4, 13]
        expectSame(try reader.frames(at: picks), all.frames(picks))
        // A requested size is the size after rotation.
        let sized = try reader.frames(at: [3], size: FrameSize(width: 30, height: 20))
        #expect(sized.width == 30 && sized.height == 20)

        let upright = try VideoReader(path: path, options: ReaderOptions(autoRotate: false)).decodeAll()
        #expect(upright.width == w && upright.height == h)
        expectSame(rotated(upright, by: degrees), all)
        for k in 0..<20 { #expect(frameNumber(in: upright, frame: k) == k) }
    }

    @Test(arguments: [(VideoCodec.h264, "odd.mp4"), (.vp9, "odd.webm"), (.mjpeg, "odd.mkv")])
    func oddFrameSize(_ codec: VideoCodec, _ file: String) throws {
        _ = quietFFmpeg
        let folder = TempFolder()
        let path = folder.file(file)
        let (w, h, n) = (317, 241, 8)
        try writeClip(path, count: n, width: w, height: h, options: EncodeOptions(codec: codec, gop: 4))
        let reader = try VideoReader(path: path)
        #expect(reader.info.width == w && reader.info.height == h && reader.frameCount == n)
        let all = try reader.decodeAll()
        #expect(all.width == w && all.height == h)
        let synthetic = syntheticFrames(count: n, width: w, height: h)
        for k in 0..<n {
            #expect(frameNumber(in: all, frame: k) == k)
            #expect(meanDifference(all, k, synthetic, k) < 8)
        }
        expectSame(try reader.frames(at: [7, 1, 5]), all.frames([7, 1, 5]))
    }

    @Test func frameFolderOfJPEGs() throws {
        _ = quietFFmpeg
        let folder = TempFolder()
        // The image2 muxer writes img_00001.jpg, img_00002.jpg, …
        try writeClip(folder.file("img_%05d.jpg"), count: 15, width: 80, height: 60,
                      options: EncodeOptions(codec: .mjpeg, quality: 10))
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        #expect(names.count == 15 && names.first == "img_00001.jpg" && names.last == "img_00015.jpg")

        let reader = try VideoReader(frameFolder: folder.path)
        #expect(reader.frameCount == 15)
        #expect(reader.info.codec == "mjpeg")
        let all = try reader.decodeAll()
        for k in 0..<15 { #expect(frameNumber(in: all, frame: k) == k) }
        expectSame(try reader.frames(at: [14, 0, 7, 7]), all.frames([14, 0, 7, 7]))
        // Starting later in the numbering shifts frame 0.
        let later = try VideoReader(frameFolder: folder.path, startNumber: 6)
        #expect(later.frameCount == 10)
        expectSame(try later.frames(at: [0]), all.frame(5))
    }
}
