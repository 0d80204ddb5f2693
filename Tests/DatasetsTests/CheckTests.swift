import Clips
import Foundation
import Support
import Synth
import Testing
import Video
@testable import Datasets

@Suite struct CheckTests {
    /// 3 classes × 3 videos of 8 frames at 32×32 (2 train, 1 val each), written by Synth.
    func synthetic(_ s: Scratch) throws -> DatasetLists {
        FFmpegLogLevel.error.apply()
        var o = SynthOptions()
        o.classes = 3; o.perClass = 3; o.frames = 8; o.size = 32; o.seed = 3; o.valFraction = 0.34
        _ = try SynthDataset.generate(into: s.url.path, options: o)
        return DatasetLists(train: s.path("train.txt"), val: s.path("val.txt"), classes: s.path("classes.txt"), root: s.url)
    }

    func corrupt(_ s: Scratch, _ relative: String) {
        var state: UInt32 = 9      // a fixed xorshift stream: the same bytes every run
        let bytes = (0..<5000).map { _ in
            state ^= state << 13; state ^= state >> 17; state ^= state << 5
            return UInt8(truncatingIfNeeded: state)
        }
        s.file(relative)
        try! Data(bytes).write(to: s.path(relative))
    }

    @Test func anUnreadableVideoIsListedAndTheDatasetStaysReady() throws {
        let s = Scratch(); defer { s.remove() }
        let lists = try synthetic(s)
        corrupt(s, "videos/corrupt.mp4")
        s.file("train.txt", s.read("train.txt") + "videos/corrupt.mp4 0\nvideos/missing.mp4 1\n")
        let calls = Locked(0)
        let report = try DatasetCheck.run(lists, progress: { done, total in calls.withLock { $0 += 1 }; #expect(total == 11 && done <= total) })
        #expect(report.state == .ready)
        #expect(calls.withLock { $0 } == 11)
        #expect(report.videos == 11 && report.readable == 9)
        #expect(report.unreadable.map(\.path) == ["videos/corrupt.mp4", "videos/missing.mp4"])
        #expect(report.unreadable[1].error == "videos/missing.mp4: no such file")
        #expect(!report.unreadable.contains { $0.error.contains(s.url.path) })
        #expect(report.classes.map(\.name) == ["translate_left", "translate_right", "translate_up"])
        #expect(report.classes.map(\.train) == [2, 2, 2] && report.classes.map(\.val) == [1, 1, 1])
        #expect(report.frames == 9 * 8 && report.resolutions == ["32x32": 9])
        #expect(abs(report.totalSeconds - 9 * 8 / 25.0) < 0.05)
        #expect(abs(report.classes[0].seconds - 3 * 8 / 25.0) < 0.02)
        #expect(report.warnings == ["2 unreadable videos"])
    }

    @Test func nothingReadableIsInvalid() throws {
        let s = Scratch(); defer { s.remove() }
        corrupt(s, "a.mp4"); corrupt(s, "b.mp4")
        s.file("train.txt", "a.mp4 0\nb.mp4 1\n")
        s.file("classes.txt", "x\ny\nz\n")
        let report = try DatasetCheck.run(DatasetLists(train: s.path("train.txt"), classes: s.path("classes.txt"), root: s.url), workers: 3)
        #expect(report.state == .invalid && report.readable == 0 && report.unreadable.count == 2)
        #expect(report.warnings == ["2 unreadable videos", "no training video is readable", "classes.txt names 3 classes, the lists use 2",
                                    "classes x, y, z have no readable train videos"])

        s.file("empty.txt", "")
        let empty = try DatasetCheck.run(DatasetLists(train: s.path("empty.txt"), root: s.url))
        #expect(empty.state == .invalid && empty.videos == 0 && empty.warnings == ["the train list is empty"])
    }

    @Test func rawframeFoldersAreCounted() throws {
        let s = Scratch(); defer { s.remove() }
        FFmpegLogLevel.error.apply()
        var options = EncodeOptions()
        options.codec = .mjpeg
        for (name, count) in [("walk", 6), ("run", 4)] {
            s.folder("frames/\(name)")
            let writer = try VideoWriter(path: s.path("frames/\(name)/img_%05d.jpg").path, width: 40, height: 24, options: options)
            try writer.append(FrameStack(count: count, height: 24, width: 40, pixels: [UInt8](repeating: 90, count: count * 24 * 40 * 3)))
            try writer.finish()
        }
        s.folder("frames/empty")
        s.file("train.txt", "frames/walk 6 0\nframes/run 5 1\nframes/empty 3 1\n")
        let report = try DatasetCheck.run(DatasetLists(train: s.path("train.txt"), root: s.url))
        #expect(report.state == .ready && report.readable == 2 && report.frames == 10)
        #expect(report.resolutions == ["40x24": 2] && abs(report.totalSeconds - 10 / 25.0) < 1e-9)
        #expect(report.unreadable == [.init(path: "frames/empty", error: "frames/empty: no image files")])
        #expect(report.classes == [.init(name: "class_0", train: 1, seconds: 6 / 25.0), .init(name: "class_1", train: 1, seconds: 4 / 25.0)])
        #expect(report.warnings == ["1 unreadable video", "1 frame folder holds a different number of images than the list says"])
    }

    @Test func aPreparedFoldersDatasetChecks() throws {
        let s = Scratch(); defer { s.remove() }
        _ = try synthetic(s)
        for name in ["train.txt", "val.txt", "classes.txt"] { try FileManager.default.removeItem(at: s.path(name)) }
        let lists = try DatasetLayout.prepare(s.url, format: .folders)       // videos/ wraps the class folders
        let report = try DatasetCheck.run(lists)
        #expect(report.state == .ready && report.readable == 9 && report.unreadable.isEmpty)
        #expect(report.classes.map(\.train) == [2, 2, 2] && report.classes.map(\.val) == [1, 1, 1] && report.warnings.isEmpty)
    }

    @Test func cancellingStopsTheCheck() throws {
        let s = Scratch(); defer { s.remove() }
        let lists = try synthetic(s)
        let done = Locked(0)
        #expect(throws: CancellationError.self) {
            try DatasetCheck.run(lists, workers: 1, progress: { n, _ in done.withLock { $0 = n } }, isCancelled: { done.withLock { $0 } >= 2 })
        }
        #expect(done.withLock { $0 } == 2)
    }
}
