import Foundation
import Clips
import Testing
@testable import Inference
import Zoo

/// Timeline windows: refused before any arithmetic that could overflow or never end.
@Suite struct TimelineWindowTests {
    /// 50 frames at 25 fps: 2 s.
    static let times = (0..<50).map { Double($0) / 25 }

    @Test func windowsCoverTheVideo() throws {
        let windows = try Predictor.timelineWindows(Self.times, window: 1, stride: 0.5)
        #expect(windows.map(\.start) == [0, 0.5, 1])
        #expect(windows.map(\.frames) == [0..<25, 13..<38, 25..<50])           // frame 13 is the first at or after 0.5 s
        #expect(try Predictor.timelineWindows(Self.times, window: 5, stride: 1).map(\.frames) == [0..<50])
    }

    @Test(arguments: [0, -1, .nan, .infinity, 1e-300, 1e-19, 0.01])
    func badStridesAreRefused(stride: Double) {
        #expect(throws: PredictionError.self) {
            try Predictor.timelineWindows(Self.times, window: 1, stride: stride)
        }
    }

    @Test func aHugeStrideGivesOneWindow() throws {
        #expect(try Predictor.timelineWindows(Self.times, window: 1, stride: 1e300).count == 1)
    }

    @Test func tooManyWindowsAreRefused() {
        let long = (0..<100_000).map { Double($0) / 25 }          // 4000 s
        #expect(throws: PredictionError.tooManyWindows(count: 3997, limit: 600)) {
            try Predictor.timelineWindows(long, window: 4, stride: 1)
        }
    }

    @Test func durationsParse() {
        #expect(parseDuration("2s") == 2 && parseDuration("500ms") == 0.5 && parseDuration("1m") == 60 && parseDuration("1.5") == 1.5)
        for bad in ["0s", "-1s", "nan", "inf", "1e400s", "x", ""] { #expect(parseDuration(bad) == nil, "\(bad)") }
    }
}

/// Which file of a folder is its checkpoint.
@Suite struct CheckpointLocatorTests {
    func folder(_ files: [String]) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("locator-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        for f in files { try Data().write(to: url.appendingPathComponent(f)) }
        return url
    }

    @Test func bestThenLastThenModelThenTheOnlyOne() throws {
        #expect(try CheckpointLocator.resolve(folder(["last.safetensors", "best.safetensors", "model.safetensors"]).path).lastPathComponent == "best.safetensors")
        #expect(try CheckpointLocator.resolve(folder(["last.safetensors", "model.safetensors"]).path).lastPathComponent == "last.safetensors")
        #expect(try CheckpointLocator.resolve(folder(["model.safetensors", "x.safetensors"]).path).lastPathComponent == "model.safetensors")
        #expect(try CheckpointLocator.resolve(folder(["mine.safetensors", ".hidden.safetensors"]).path).lastPathComponent == "mine.safetensors")
        let file = try folder(["a.safetensors"]).appendingPathComponent("a.safetensors")
        #expect(try CheckpointLocator.resolve(file.path) == file)
    }

    @Test func ambiguousOrMissingIsAnError() throws {
        #expect(throws: CheckpointError.self) { try CheckpointLocator.resolve(folder(["a.safetensors", "b.safetensors"]).path) }
        #expect(throws: CheckpointError.self) { try CheckpointLocator.resolve("/nonexistent/motive") }
    }

    @Test func resumeTakesTheLastOnly() throws {
        #expect(CheckpointLocator.resumable(in: try folder(["best.safetensors"])) == nil)
        #expect(CheckpointLocator.resumable(in: try folder(["best.safetensors", "last.safetensors"]))?.lastPathComponent == "last.safetensors")
    }
}

/// Format-1 checkpoints keep their test settings in the job config, with the old averaging names.
@Suite struct LegacyCheckpointTests {
    func info(average: String) throws -> CheckpointInfo {
        let json = """
        {"preset": "r3d_18_tiny", "classNames": ["a", "b"], "epoch": 1, "step": 2,
         "input": {"frames": 8, "size": 64, "normalization": "kinetics", "clipLength": 8, "frameInterval": 2, "clips": 1},
         "config": {"eval": {"clips": 4, "crops": 3, "average": "\(average)", "interval": 1},
                    "data": {"train_list": "t.txt", "train_pipeline": {"transforms": [], "normalization": "imagenet"}}}}
        """
        return try JSONDecoder().decode(CheckpointInfo.self, from: Data(json.utf8))
    }

    @Test func oldNamesMeanWhatTheyMeant() throws {
        let score = try info(average: "score")              // format 1: the mean of probabilities
        #expect(score.format == 1 && score.testing?.averaging == .prob)
        #expect(score.testing?.clips == 4 && score.testing?.crops == 3)
        #expect(score.testing?.normalization == Normalization(.imagenet))
        #expect(try info(average: "logit").testing?.averaging == .score)
    }

    @Test func unknownNamesAreErrors() {
        let json = #"{"frames": 8, "size": 64, "normalization": "mystery", "clipLength": 8, "frameInterval": 2, "clips": 1}"#
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(InputSpec.self, from: Data(json.utf8)) }
        #expect(ViewAveraging.parse("logit") == .score && ViewAveraging.parse("prob") == .prob && ViewAveraging.parse("mean") == nil)
    }
}
