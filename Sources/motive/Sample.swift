import ArgumentParser
import Clips
import Engine
import Foundation

/// `motive sample VIDEO …`: the frame indices a sampler picks (MMAction2's SampleFrames).
struct Sample: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the frame indices the segment sampler picks for a video.",
        discussion: "TSN: --clip-len 1 --clips K. Dense 3D clips: --clip-len T --interval τ. Flow stacks: --clip-len L.")

    @Argument(help: "A video file, or a folder of frames (whose indices start at 1).") var video: String
    @Option(name: .customLong("clip-len"), help: "Frames per clip.") var clipLength = 1
    @Option(help: "Distance between consecutive frames of a clip.") var interval = 1
    @Option(help: "Clips (segments) per video.") var clips = 1
    @Flag(help: "Test mode: segment centres (2D) or evenly spread clips (3D) instead of random offsets.") var test = false
    @Option(name: .customLong("out-of-bound"), help: "Past the end of a short video: loop or repeat_last.") var outOfBound = "loop"
    @Option(help: "Seed of the random offsets (training mode).") var seed: UInt64 = 0
    @Flag(help: "Print JSON instead of one clip per line.") var json = false

    func run() throws {
        guard let bound = FrameSampler.OutOfBound(rawValue: outOfBound) else {
            throw CLIError("--out-of-bound must be loop or repeat_last, got \(outOfBound)")
        }
        let reader = try openVideo(video)
        guard reader.frameCount > 0 else { throw CLIError("\(video) has no frames") }
        let sampler = try FrameSampler(clipLength: clipLength, frameInterval: interval, clipCount: clips,
                                       outOfBound: bound, testMode: test)
        var rng = Xoshiro(seed: seed)
        let picked = sampler.indices(frameCount: reader.frameCount, startIndex: isFrameFolder(video) ? 1 : 0, using: &rng)
        if json {
            struct Output: Encodable { let video: String; let frameCount: Int; let clips: [[Int]] }
            print(try jsonString(Output(video: video, frameCount: reader.frameCount, clips: picked)))
        } else {
            for clip in picked { print(clip.map(String.init).joined(separator: " ")) }
        }
    }
}
