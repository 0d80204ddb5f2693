import Engine
import Foundation
import Testing
import Video
@testable import Clips

/// Flow stacks: x and y frames become 2L interleaved channels per segment, normalised around 128,
/// and every mirror inverts x.
@Suite struct FlowStackTests {
    /// `count` grey frames of `width`×`height`; frame f, column c holds `value(f, c)` in R, G and B.
    static func grey(_ count: Int, width: Int = 8, height: Int = 6, _ value: (Int, Int) -> Int) -> FrameStack {
        var pixels = [UInt8](repeating: 0, count: count * width * height * 3)
        for f in 0..<count { for y in 0..<height { for x in 0..<width {
            let v = UInt8(value(f, x)), p = ((f * height + y) * width + x) * 3
            (pixels[p], pixels[p + 1], pixels[p + 2]) = (v, v, v)
        } } }
        return FrameStack(count: count, height: height, width: width, pixels: pixels)
    }

    static func recipe(_ transforms: [ClipTransform] = [], segments: Int = 2, length: Int = 2) -> SampleRecipe {
        SampleRecipe(sampler: .flowStack(length: length, segments: segments, testMode: true),
                     pipeline: ClipPipeline(transforms, normalization: Normalization(.flow)), source: .flow(FlowFrames()))
    }

    /// Element [view, channel, 0, row, column] of a flow sample.
    static func at(_ t: Tensor, _ v: Int, _ c: Int, x: Int = 0, y: Int = 0) -> Float {
        let s = t.shape
        return t.scalars[((v * s[1] + c) * s[3] + y) * s[4] + x]
    }

    @Test func channelsInterleaveXAndYPerSegment() throws {
        // 2 segments × 2 frames: x of frame f is 10 + 20f, y is 200 − 20f.
        let x = Self.grey(4) { f, _ in 10 + 20 * f }, y = Self.grey(4) { f, _ in 200 - 20 * f }
        var rng = Xoshiro(seed: 1)
        let sample = try Self.recipe().flowSample(x: x, y: y, using: &rng)
        #expect(sample.shape == [2, 4, 1, 6, 8])
        for segment in 0..<2 {
            for l in 0..<2 {
                let f = segment * 2 + l
                #expect(Self.at(sample, segment, 2 * l) == (Float(10 + 20 * f) - 128) / 128)
                #expect(Self.at(sample, segment, 2 * l + 1) == (Float(200 - 20 * f) - 128) / 128)
            }
        }
    }

    @Test func aFlipMirrorsBothAndInvertsX() throws {
        let x = Self.grey(2) { _, c in 100 + c }, y = Self.grey(2) { _, c in 50 + 3 * c }
        var rng = Xoshiro(seed: 1)
        let recipe = Self.recipe([.flip(HorizontalFlip(probability: 1))], segments: 1)
        let sample = try recipe.flowSample(x: x, y: y, using: &rng)
        for c in 0..<8 {
            let source = 7 - c
            #expect(Self.at(sample, 0, 0, x: c) == (Float(255 - (100 + source)) - 128) / 128)
            #expect(Self.at(sample, 0, 1, x: c) == (Float(50 + 3 * source) - 128) / 128)
        }
    }

    @Test func tenCropMirrorsInvertXToo() throws {
        let x = Self.grey(1) { _, c in 100 + c }, y = Self.grey(1) { _, c in 50 + 3 * c }
        var rng = Xoshiro(seed: 1)
        let recipe = Self.recipe([.tenCrop(size: .square(4))], segments: 1, length: 1)
        let sample = try recipe.flowSample(x: x, y: y, using: &rng)
        #expect(sample.shape == [10, 2, 1, 4, 4])
        // Views 0 and 1: the top-left crop (columns 0–3) and its mirror.
        for c in 0..<4 {
            #expect(Self.at(sample, 0, 0, x: c) == (Float(100 + c) - 128) / 128)
            #expect(Self.at(sample, 1, 0, x: c) == (Float(255 - (100 + 3 - c)) - 128) / 128)
            #expect(Self.at(sample, 1, 1, x: c) == (Float(50 + 3 * (3 - c)) - 128) / 128)
        }
    }

    /// A flow folder written as JPEGs: frame f has x = 60 + 20f and y = 190 − 20f everywhere.
    static func writeFolder(_ folder: String, frames: Int, yFrames: Int? = nil) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for (template, count, value) in [("flow_x_%05d.jpg", frames, { (f: Int) in 60 + 20 * f }),
                                         ("flow_y_%05d.jpg", yFrames ?? frames, { (f: Int) in 190 - 20 * f })] {
            let writer = try VideoWriter(path: folder + "/" + template, width: 32, height: 24, options: EncodeOptions(codec: .mjpeg, quality: 5))
            try writer.append(Self.grey(count, width: 32, height: 24) { f, _ in value(f) })
            try writer.finish()
        }
    }

    @Test func readsFlowFolders() throws {
        FFmpegLogLevel.error.apply()
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("motive-flow-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        try Self.writeFolder(root + "/walk", frames: 6)
        try Self.writeFolder(root + "/short_y", frames: 6, yFrames: 5)
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: root + "/video.mp4"))
        let recipe = Self.recipe()
        var rng = Xoshiro(seed: 1)
        let sample = try recipe.load(Annotation(path: "walk", label: 0, frameCount: 6), root: DataRoot(path: root), using: &rng)
        #expect(sample.shape == [2, 4, 1, 24, 32])
        let expected = recipe.sampler.indices(frameCount: 6, startIndex: 1, using: &rng).flatMap { $0 }.map { $0 - 1 }
        for (i, f) in expected.enumerated() {
            let (segment, l) = (i / 2, i % 2)
            #expect(abs(Self.at(sample, segment, 2 * l, x: 5, y: 5) * 128 + 128 - Float(60 + 20 * f)) <= 3)
            #expect(abs(Self.at(sample, segment, 2 * l + 1, x: 5, y: 5) * 128 + 128 - Float(190 - 20 * f)) <= 3)
        }
        #expect(throws: LoaderError.flowMismatch("short_y", x: 6, y: 5)) {
            try recipe.load(Annotation(path: "short_y", label: 0, frameCount: 6), root: DataRoot(path: root), using: &rng)
        }
        #expect(throws: LoaderError.notAFlowFolder("missing")) {
            try recipe.load(Annotation(path: "missing", label: 0), root: DataRoot(path: root), using: &rng)
        }
        // A file is a video whose flow is computed; this one is not a video.
        #expect(throws: VideoError.self) {
            try recipe.load(Annotation(path: "video.mp4", label: 0), root: DataRoot(path: root), using: &rng)
        }
    }
}

@Suite struct ListKindTests {
    @Test func rawframeAndVideoListsAreToldApart() throws {
        let raw = try AnnotationList.parseList("walk/v1 31 0\nrun/v2 40 1\n")
        #expect(raw.items == [Annotation(path: "walk/v1", label: 0, frameCount: 31), Annotation(path: "run/v2", label: 1, frameCount: 40)])
        let videos = try AnnotationList.parseList("walk/v1.mp4 0\nrun/v 2.mp4 1\n")
        #expect(videos.items == [Annotation(path: "walk/v1.mp4", label: 0), Annotation(path: "run/v 2.mp4", label: 1)])
        // One line without a frame count makes it a video list.
        #expect(try AnnotationList.parseList("a 3 0\nb 1\n").items.map(\.frameCount) == [nil, nil])
    }
}
