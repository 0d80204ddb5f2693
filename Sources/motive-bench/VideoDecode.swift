import ArgumentParser
import Clips
import Engine
import Foundation
import Support
import Video

/// `motive-bench video`: clips per second for TSN 8-segment sampling and a dense 16-frame clip on
/// generated 10 s H.264 videos (GOP 250). Writes the videos and the clip indices to `--out`, so
/// `bench/video_decode.py` can time decord and PyAV on exactly the same clips.
struct VideoDecode: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "video", abstract: "Video decode throughput (see bench/video.sh).")

    @Option(help: "Folder for the generated videos and clips.json.") var out = "/tmp/motive-video-bench"
    @Option(help: "Timed passes over the clips (the median is reported).") var repeats = 3
    @Option(help: "Clips per sampling scheme.") var clips = 16

    struct Plan: Codable {
        struct VideoPlan: Codable { var name: String; var file: String; var clips: [String: [[Int]]] }
        var videos: [VideoPlan]
    }

    func run() throws {
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        var plan = Plan(videos: [])
        for (width, height) in [(320, 240), (640, 360)] {
            let name = "\(width)x\(height)"
            let file = "h264_\(name)_gop250.mp4"
            let path = (out as NSString).appendingPathComponent(file)
            if !FileManager.default.fileExists(atPath: path) { try writeTestVideo(path, width: width, height: height) }
            let frameCount = try VideoReader(path: path).frameCount
            var rng = Xoshiro(seed: 7)
            let tsn = FrameSampler.tsn(segments: 8)
            let dense = FrameSampler.dense(length: 16, interval: 4)
            let schemes: [String: [[Int]]] = [
                "tsn8": (0..<clips).map { _ in tsn.indices(frameCount: frameCount, using: &rng).flatMap { $0 } },
                "dense16x4": (0..<clips).map { _ in dense.indices(frameCount: frameCount, using: &rng).flatMap { $0 } },
            ]
            plan.videos.append(.init(name: name, file: file, clips: schemes))
            for scheme in schemes.keys.sorted() {
                let picks = schemes[scheme]!
                _ = try VideoReader(path: path).frames(at: picks[0])   // warm-up
                var rates: [Double] = []
                for _ in 0..<repeats {
                    let start = DispatchTime.now().uptimeNanoseconds
                    for indices in picks {
                        // A fresh reader per clip, as a data loader opens each video anew.
                        let frames = try VideoReader(path: path).frames(at: indices)
                        precondition(frames.count == indices.count)
                    }
                    rates.append(Double(picks.count) / (Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9))
                }
                emit([("bench", "video:\(name):\(scheme)"), ("library", "motive"), ("clips_per_s", median(rates))])
            }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try AtomicFile.write(encoder.encode(plan), to: URL(fileURLWithPath: out).appendingPathComponent("clips.json"))
    }

    /// 10 s at 25 fps: drifting colour gradients, moving discs and film grain, so that the encoder
    /// has real work and every frame differs.
    func writeTestVideo(_ path: String, width: Int, height: Int) throws {
        var options = EncodeOptions()
        options.codec = .h264
        options.gop = 250
        options.bFrames = 2
        let writer = try VideoWriter(path: path, width: width, height: height, options: options)
        var rng = Xoshiro(seed: 99)
        let discs = (0..<12).map { _ in (x: rng.nextFloat(), y: rng.nextFloat(), r: 0.03 + 0.08 * rng.nextFloat(),
                                          vx: rng.nextFloat() - 0.5, vy: rng.nextFloat() - 0.5,
                                          c: (UInt8(rng.next() % 256), UInt8(rng.next() % 256), UInt8(rng.next() % 256))) }
        for f in 0..<250 {
            var pixels = [UInt8](repeating: 0, count: width * height * 3)
            let t = Float(f) / 25
            for y in 0..<height {
                for x in 0..<width {
                    let i = (y * width + x) * 3
                    let u = Float(x) / Float(width), v = Float(y) / Float(height)
                    let grain = Float(rng.next() % 16)
                    pixels[i] = UInt8(min(255, 128 + 90 * sin(6 * u + t) + grain))
                    pixels[i + 1] = UInt8(min(255, 128 + 90 * sin(5 * v - 0.7 * t) + grain))
                    pixels[i + 2] = UInt8(min(255, 128 + 90 * sin(4 * (u + v) + 1.3 * t) + grain))
                }
            }
            for d in discs {
                let cx = (d.x + d.vx * t * 0.2).truncatingRemainder(dividingBy: 1), cy = (d.y + d.vy * t * 0.2).truncatingRemainder(dividingBy: 1)
                let px = Int((cx < 0 ? cx + 1 : cx) * Float(width)), py = Int((cy < 0 ? cy + 1 : cy) * Float(height))
                let r = Int(d.r * Float(height))
                for y in max(0, py - r)..<min(height, py + r) {
                    for x in max(0, px - r)..<min(width, px + r) where (x - px) * (x - px) + (y - py) * (y - py) <= r * r {
                        let i = (y * width + x) * 3
                        pixels[i] = d.c.0; pixels[i + 1] = d.c.1; pixels[i + 2] = d.c.2
                    }
                }
            }
            try writer.append(FrameStack(count: 1, height: height, width: width, pixels: pixels))
        }
        try writer.finish()
    }
}
