import Engine
import Flow
import Foundation
import Testing
import Video
@testable import Clips

/// Videos to flow folders: the flow of a known motion, written as denseflow does, and whole lists
/// with failures reported and resumable runs.
@Suite struct FlowExtractionTests {
    /// A smooth texture moving `dx` pixels right per frame: `frames` frames of 64×48.
    static func movingTexture(_ path: String, frames: Int = 5, dx: Int = 2) throws {
        let (w, h) = (64, 48)
        var pixels = [UInt8](repeating: 0, count: frames * w * h * 3)
        for t in 0..<frames { for y in 0..<h { for x in 0..<w {
            let u = Double(x - dx * t), v = Double(y)
            let value = 128 + 50 * sin(0.31 * u + 0.17 * v) + 40 * cos(0.23 * v - 0.27 * u) + 20 * sin(0.11 * u * 0.7 + 0.05 * v * v / 10)
            let p = ((t * h + y) * w + x) * 3
            let b = UInt8(clamping: Int(value.rounded()))
            (pixels[p], pixels[p + 1], pixels[p + 2]) = (b, b, b)
        } } }
        let writer = try VideoWriter(path: path, width: w, height: h, options: EncodeOptions(codec: .h264, quality: 8))
        try writer.append(FrameStack(count: frames, height: h, width: w, pixels: pixels))
        try writer.finish()
    }

    static func temporary() throws -> URL {
        FFmpegLogLevel.error.apply()
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("motive-flowx-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Mean byte of the interior (12 px from every edge) of each frame of a flow image sequence.
    static func interiorMeans(_ folder: String, _ template: String) throws -> [Double] {
        let reader = try VideoReader(frameFolder: folder, template: template)
        let frames = try reader.frames(at: Array(0..<reader.frameCount))
        let (w, h) = (frames.width, frames.height)
        return (0..<frames.count).map { f in
            var sum = 0.0, n = 0.0
            for y in 12..<(h - 12) { for x in 12..<(w - 12) { sum += Double(frames.pixels[((f * h + y) * w + x) * 3]); n += 1 } }
            return sum / n
        }
    }

    @Test func aMovingTextureGivesItsFlow() throws {
        let dir = try Self.temporary()
        defer { try? FileManager.default.removeItem(at: dir) }
        try Self.movingTexture(dir.appendingPathComponent("right.mp4").path)
        let n = try FlowExtraction.extract(video: dir.appendingPathComponent("right.mp4").path, into: dir.appendingPathComponent("out").path)
        #expect(n == 4)
        // +2 px with a bound of 20 is byte 128 + 2 · 255 / 40 ≈ 140.75; no vertical motion is 127.5.
        for mean in try Self.interiorMeans(dir.appendingPathComponent("out").path, "flow_x_%05d.jpg") {
            #expect(abs(mean - 140.75) < 2, "x byte \(mean)")
        }
        for mean in try Self.interiorMeans(dir.appendingPathComponent("out").path, "flow_y_%05d.jpg") {
            #expect(abs(mean - 127.5) < 2, "y byte \(mean)")
        }
        // A step of 2 doubles the motion and leaves one flow frame fewer; --size resizes first.
        let two = try FlowExtraction.extract(video: dir.appendingPathComponent("right.mp4").path, into: dir.appendingPathComponent("two").path,
                                             options: FlowExtractionOptions(step: 2))
        #expect(two == 3)
        for mean in try Self.interiorMeans(dir.appendingPathComponent("two").path, "flow_x_%05d.jpg") {
            #expect(abs(mean - 153.5) < 3, "x byte \(mean) for 4 px")
        }
        #expect(throws: FlowExtractionError.tooFewFrames(path: dir.appendingPathComponent("right.mp4").path, frames: 5, step: 5)) {
            try FlowExtraction.extract(video: dir.appendingPathComponent("right.mp4").path, into: dir.appendingPathComponent("none").path,
                                       options: FlowExtractionOptions(step: 5))
        }
    }

    @Test func sizesForTheFlow() {
        let native = FrameSize(width: 640, height: 360)
        #expect(FlowExtractionOptions().flowSize(native: native) == native)
        #expect(FlowExtractionOptions(maxShortSide: 256).flowSize(native: native) == FrameSize(width: 455, height: 256))
        #expect(FlowExtractionOptions(maxShortSide: 512).flowSize(native: native) == native)
        #expect(FlowExtractionOptions(size: FrameSize(width: 340, height: 256)).flowSize(native: native) == FrameSize(width: 340, height: 256))
        #expect(throws: FlowExtractionError.self) { try FlowExtractionOptions(bound: 0).validate() }
        #expect(throws: FlowExtractionError.self) { try FlowExtractionOptions(step: 0).validate() }
    }

    @Test func listsResumeAndReportFailures() throws {
        let dir = try Self.temporary()
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("videos/right"), withIntermediateDirectories: true)
        try Self.movingTexture(dir.appendingPathComponent("videos/right/a.mp4").path, frames: 4)
        try Self.movingTexture(dir.appendingPathComponent("videos/right/b.mp4").path, frames: 3)
        try Data(repeating: 7, count: 3000).write(to: dir.appendingPathComponent("videos/right/broken.mp4"))
        let list = AnnotationList(items: [Annotation(path: "right/a.mp4", label: 1), Annotation(path: "right/broken.mp4", label: 0),
                                          Annotation(path: "right/b.mp4", label: 1)])
        let out = dir.appendingPathComponent("flow")
        let root = DataRoot(dir.appendingPathComponent("videos"))
        let first = try FlowDataset.extract(list: list, listName: "train.txt", root: root, out: out, options: .init(), jobs: 2)
        #expect(first.extracted == 2 && first.skipped == 0)
        #expect(first.failures.map(\.path) == ["right/broken.mp4"])
        #expect(try String(contentsOf: first.list, encoding: .utf8) == "right/a 3 1\nright/b 2 1\n")
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("right/a/.done").path))
        // The list reads back as a rawframe list of flow folders.
        let flowList = try AnnotationList.readList(first.list)
        #expect(flowList.items == [Annotation(path: "right/a", label: 1, frameCount: 3), Annotation(path: "right/b", label: 1, frameCount: 2)])

        // A second run skips what is done; a folder without its marker (interrupted) is redone.
        try FileManager.default.removeItem(at: out.appendingPathComponent("right/b/.done"))
        let second = try FlowDataset.extract(list: list, listName: "train.txt", root: root, out: out, options: .init(), jobs: 1)
        #expect(second.skipped == 1 && second.extracted == 1 && second.failures.count == 1)
        // Other options would mix two kinds of flow in one folder.
        #expect(throws: FlowExtractionError.self) {
            try FlowDataset.extract(list: list, listName: "train.txt", root: root, out: out, options: FlowExtractionOptions(bound: 15), jobs: 1)
        }
    }

    /// Two-stream samples: each segment's middle RGB frame beside its live flow stack.
    @Test func twoStreamSamplesPairEachSegmentsFrameWithItsFlow() throws {
        let dir = try Self.temporary()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("right.mp4").path
        try Self.movingTexture(path, frames: 9)
        let recipe = SampleRecipe(sampler: .flowStack(length: 2, segments: 2, testMode: true),
                                  pipeline: ClipPipeline([], normalization: Normalization(.flow)))
        var rng = Xoshiro(seed: 1)
        let reader = try VideoReader(path: path)
        let both = try recipe.twoStreamSample(reader, options: .init(), rgb: Normalization(.imagenet), threads: 2, using: &rng)
        let flow = try recipe.liveFlowSample(reader, options: .init(), threads: 2, using: &rng)
        #expect(both.shape == [2, 7, 1, 48, 64] && flow.shape == [2, 4, 1, 48, 64])
        #expect(both.sliced(axis: 1, start: 3, end: 7).scalars == flow.scalars)
        let starts = recipe.sampler.indices(frameCount: 8, startIndex: 0, using: &rng).map { $0[0] }
        let frames = try reader.frames(at: starts.map { $0 + 1 })          // the middle of each 2-frame stack
        for (segment, _) in starts.enumerated() {
            for (y, x) in [(5, 5), (20, 40)] {
                let byte = Float(frames.pixels[((segment * 48 + y) * 64 + x) * 3])
                let value = both.scalars[(((segment * 7) * 48) + y) * 64 + x]
                #expect(abs(value - (byte - 123.675) / 58.395) < 1e-5)
            }
        }
    }
}
