import Engine
import Foundation
import Testing
import Video
@testable import Clips

@Suite struct ClipLoaderTests {
    /// A folder with `videos` small MJPEG clips whose frames encode (video, frame) in their colour,
    /// one garbage file, and a frame folder.
    static func makeDataset() throws -> (root: String, list: AnnotationList) {
        FFmpegLogLevel.error.apply()
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("motive-loader-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root + "/frames/clip", withIntermediateDirectories: true)
        var items: [Annotation] = []
        for v in 0..<5 {
            var pixels = [UInt8](repeating: 0, count: 12 * 24 * 32 * 3)
            for f in 0..<12 { for p in 0..<(24 * 32) {
                pixels[(f * 24 * 32 + p) * 3] = UInt8(v * 40)
                pixels[(f * 24 * 32 + p) * 3 + 1] = UInt8(f * 20)
            } }
            var options = EncodeOptions()
            options.codec = .mjpeg
            let name = "v\(v).avi"
            let writer = try VideoWriter(path: root + "/" + name, width: 32, height: 24, options: options)
            try writer.append(FrameStack(count: 12, height: 24, width: 32, pixels: pixels))
            try writer.finish()
            items.append(Annotation(path: name, label: v % 3))
            if v == 2 {
                try Data((0..<4000).map { UInt8(($0 * 7919) % 251) }).write(to: URL(fileURLWithPath: root + "/broken.mp4"))
                items.append(Annotation(path: "broken.mp4", label: 1))
                let folder = try VideoWriter(path: root + "/frames/clip/img_%05d.jpg", width: 32, height: 24, options: options)
                try folder.append(FrameStack(count: 12, height: 24, width: 32, pixels: pixels))
                try folder.finish()
                items.append(Annotation(path: "frames/clip", label: 2, frameCount: 12))
            }
        }
        return (root, AnnotationList(items: items, classes: ["a", "b", "c"]))
    }

    func loader(_ list: AnnotationList, root: String, workers: Int) throws -> ClipLoader {
        let recipe = SampleRecipe(sampler: try FrameSampler(clipLength: 2, frameInterval: 2, clipCount: 2),
                                  pipeline: ClipPipeline([.centreCrop(size: FrameSize(width: 16, height: 16))], normalization: Normalization(.c3d)))
        var options = ClipLoader.Options()
        options.batchSize = 3; options.workers = workers; options.prefetch = 1; options.seed = 5
        return ClipLoader(list: list, root: DataRoot(path: root), recipe: recipe, options: options)
    }

    /// A stream dropped after its first batch, with workers busy on the next ones, returns from
    /// its stop only when no worker loop is left: nothing decodes once a run has stopped.
    @Test func droppingAStreamWaitsForItsWorkers() throws {
        let (root, list) = try Self.makeDataset()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let loader = try loader(list, root: root, workers: 3)
        for _ in 0..<5 {
            var stream: BatchStream? = loader.epoch(0)
            #expect(stream?.next() != nil)
            let work = try #require(stream?.work)
            stream = nil
            #expect(work.runningWorkers == 0)
        }
    }

    @Test func batchesAreCompleteOrderedAndIndependentOfWorkerCount() throws {
        let (root, list) = try Self.makeDataset()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let one = try loader(list, root: root, workers: 1), three = try loader(list, root: root, workers: 3)
        let a = Array(one.epoch(0)), b = Array(three.epoch(0))
        #expect(a.count == 3)
        // 7 entries, one broken: 6 clips, each 2 clips × 1 crop = 2 views of C × 2 × 16 × 16.
        #expect(a.map(\.labels.count).reduce(0, +) == 6)
        #expect(a.flatMap(\.failed).map(\.path) == ["broken.mp4"])
        for (x, y) in zip(a, b) {
            #expect(x.clips.shape == [x.labels.count, 2, 3, 2, 16, 16])
            #expect(x.labels == y.labels && x.paths == y.paths)
            #expect(x.clips.scalars == y.clips.scalars)
        }
        // Another epoch is shuffled differently, but holds the same videos.
        let next = Array(one.epoch(1))
        #expect(Set(next.flatMap(\.paths)) == Set(a.flatMap(\.paths)))
        #expect(next.flatMap(\.paths) != a.flatMap(\.paths))
    }

    /// Three processes' shards of 7 entries: 3 videos each (the order padded with its own
    /// beginning), together the whole epoch, every video with the clip it has in one process,
    /// and an all-failed batch returned empty rather than skipped.
    @Test func shardsDealTheEpochAsOneProcessReadsIt() throws {
        let (root, list) = try Self.makeDataset()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let whole = try loader(list, root: root, workers: 2)
        var clips: [String: [Float]] = [:]
        for batch in whole.epoch(3) {
            for (i, path) in batch.paths.enumerated() {
                let n = batch.clips.count / batch.labels.count
                clips[path] = Array(batch.clips.scalars[(i * n)..<((i + 1) * n)])
            }
        }
        let order = whole.order(epoch: 3)
        var dealt: [[Int]] = []
        for index in 0..<3 {
            var options = whole.options
            options.shard = ClipLoader.Shard(index: index, count: 3)
            options.batchSize = 1
            let shard = ClipLoader(list: list, root: DataRoot(path: root), recipe: whole.recipe, options: options)
            #expect(shard.videosPerEpoch == 3 && shard.batchesPerEpoch == 3)
            let share = shard.share(epoch: 3)
            #expect(share.positions == [index, index + 3, index + 6])
            dealt.append(share.indices)
            let batches = Array(shard.epoch(3))
            #expect(batches.count == 3, "a shard returns every batch, empty ones included")
            for batch in batches {
                if batch.labels.isEmpty {
                    #expect(batch.failed.map(\.path) == ["broken.mp4"] && batch.clips.count == 0)
                    continue
                }
                let path = batch.paths[0]
                // Position 6 is padding (the epoch's first video again), so it draws anew.
                if share.positions[batches.firstIndex { $0.paths.first == path }!] < 7 {
                    #expect(batch.clips.scalars == clips[path], "\(path) in shard \(index)")
                }
            }
        }
        #expect(dealt.flatMap { $0 }.count == 9)
        #expect(Set(dealt.flatMap { $0 }) == Set(0..<7))
        #expect(dealt[0][2] == order[6] && dealt[1][2] == order[0] && dealt[2][2] == order[1])
    }

    @Test func samplesCarryTheRightFrames() throws {
        let (root, list) = try Self.makeDataset()
        defer { try? FileManager.default.removeItem(atPath: root) }
        var rng = Xoshiro(seed: 1)
        let recipe = SampleRecipe(sampler: try FrameSampler(clipLength: 3, frameInterval: 2, clipCount: 1, testMode: true),
                                  pipeline: ClipPipeline([], normalization: Normalization(.c3d)))
        for item in list.items where item.path != "broken.mp4" {
            let clip = try recipe.load(item, root: DataRoot(path: root), using: &rng)
            #expect(clip.shape == [1, 3, 3, 24, 32])
            // Test mode, 12 frames, one clip of 3 × 2: frames 3, 5, 7 (0-based), for videos and
            // frame folders alike. The green channel holds 20·frame; c3d normalisation subtracts 117.
            let plane = 24 * 32
            for t in 0..<3 {
                let green = clip.data[(1 * 3 + t) * plane + plane / 2] + 117
                #expect(abs(green - Float((3 + 2 * t) * 20)) < 6, "\(item.path) frame \(t): \(green)")
            }
        }
    }
}

extension ClipLoaderTests {
    @Test func abandoningAnEpochStopsItsWorkers() throws {
        let (root, list) = try Self.makeDataset()
        defer { try? FileManager.default.removeItem(atPath: root) }
        weak var abandoned: BatchStream?
        do {
            let stream = try loader(list, root: root, workers: 2).epoch(0)
            abandoned = stream
            _ = stream.next()
        }
        #expect(abandoned == nil)
    }
}
