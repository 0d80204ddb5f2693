import Engine
import Foundation
import Testing
import Video
@testable import Synth

@Suite struct MotionTests {
    /// Image position of a fixed texture point, frame by frame.
    func track(_ motion: MotionClass, seed: UInt64) -> [(u: Float, v: Float)] {
        var rng = Xoshiro(seed: seed)
        let poses = motion.poses(frames: 9, size: 128, period: 256, rng: &rng)
        // A point on the plane that is 10 px right of and 6 px below the image centre at the middle frame.
        let mid = poses[4]
        let c = cos(mid.angle) * mid.scale, s = sin(mid.angle) * mid.scale
        let px = mid.x + c * 10 - s * 6, py = mid.y + s * 10 + c * 6
        return poses.map { $0.imagePosition(ofPlanePoint: px, py) }
    }

    @Test func contentMovesAsTheClassSays() {
        for seed in UInt64(0)..<20 {
            let left = track(.translateLeft, seed: seed), right = track(.translateRight, seed: seed)
            #expect(left[8].u < left[0].u - 5 && abs(left[8].v - left[0].v) < 0.01)
            #expect(right[8].u > right[0].u + 5)
            let up = track(.translateUp, seed: seed), down = track(.translateDown, seed: seed)
            #expect(up[8].v < up[0].v - 5 && down[8].v > down[0].v + 5)
            // Clockwise on screen (y down): the polar angle atan2(v, u) grows.
            let cw = track(.rotateClockwise, seed: seed), ccw = track(.rotateCounterclockwise, seed: seed)
            #expect(atan2(cw[8].v, cw[8].u) > atan2(cw[0].v, cw[0].u))
            #expect(atan2(ccw[8].v, ccw[8].u) < atan2(ccw[0].v, ccw[0].u))
            // Zooming in, points move away from the centre.
            let zin = track(.zoomIn, seed: seed), zout = track(.zoomOut, seed: seed)
            #expect(hypot(zin[8].u, zin[8].v) > hypot(zin[0].u, zin[0].v) * 1.05)
            #expect(hypot(zout[8].u, zout[8].v) < hypot(zout[0].u, zout[0].v) * 0.95)
            let still = track(.still, seed: seed)
            #expect(still.allSatisfy { abs($0.u - 10) < 1e-3 && abs($0.v - 6) < 1e-3 })
        }
    }

    /// A frame drawn at random from either class of a pair has the same pose distribution: compare
    /// the mean and spread of log-zoom (in/out) and of the angle (cw/ccw) over many videos.
    @Test func pairsLookAlikeFrameByFrame() {
        func stats(_ motion: MotionClass, _ value: (CameraPose) -> Float) -> (mean: Float, std: Float) {
            var rng = Xoshiro(seed: 42)
            var values: [Float] = []
            for _ in 0..<3000 {
                let poses = motion.poses(frames: 32, size: 128, period: 256, rng: &rng)
                values.append(value(poses[Int(rng.next() % 32)]))
            }
            let mean = values.reduce(0, +) / Float(values.count)
            let std = (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(values.count)).squareRoot()
            return (mean, std)
        }
        let zin = stats(.zoomIn) { log($0.scale) }, zout = stats(.zoomOut) { log($0.scale) }
        #expect(abs(zin.mean - zout.mean) < 0.03 && abs(zin.std - zout.std) < 0.03)
        let cw = stats(.rotateClockwise) { cos($0.angle) }, ccw = stats(.rotateCounterclockwise) { cos($0.angle) }
        #expect(abs(cw.mean - ccw.mean) < 0.05 && abs(cw.std - ccw.std) < 0.05)
        let l = stats(.translateLeft) { $0.x.truncatingRemainder(dividingBy: 256) }
        let r = stats(.translateRight) { $0.x.truncatingRemainder(dividingBy: 256) }
        #expect(abs(l.mean - r.mean) < 8 && abs(l.std - r.std) < 8)
    }

    @Test func renderingIsSeamlessAndMoves() {
        var rng = Xoshiro(seed: 3)
        let texture = Texture(size: 64, rng: &rng)
        // Shifting the camera by a whole period shows the same image.
        let a = Renderer.render(texture, poses: [CameraPose(x: 5, y: 7, angle: 0.3, scale: 1)], size: 32)
        let b = Renderer.render(texture, poses: [CameraPose(x: 69, y: -57, angle: 0.3, scale: 1)], size: 32)
        #expect(a.pixels == b.pixels)
        // Moving the camera one pixel right moves the content one pixel left.
        let c = Renderer.render(texture, poses: [CameraPose(x: 6, y: 7, angle: 0, scale: 1)], size: 32)
        let d = Renderer.render(texture, poses: [CameraPose(x: 5, y: 7, angle: 0, scale: 1)], size: 32)
        for y in 0..<32 { for x in 0..<31 { for ch in 0..<3 {
            #expect(c.pixels[(y * 32 + x) * 3 + ch] == d.pixels[(y * 32 + x + 1) * 3 + ch])
        } } }
    }
}

@Suite struct SynthDatasetTests {
    func temporaryFolder() -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("motive-synth-\(UUID().uuidString)").path
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func smallOptions() -> SynthOptions {
        var o = SynthOptions()
        o.classes = 3; o.perClass = 2; o.frames = 8; o.size = 32; o.seed = 11; o.valFraction = 0.5
        return o
    }

    /// The same seed renders the same frames, and every written video decodes to them (lossy,
    /// so within a small error), with the lists in a fixed order.
    @Test func writesListsAndDecodableVideosDeterministically() throws {
        FFmpegLogLevel.error.apply()
        let o = Self.smallOptions()
        let a = temporaryFolder(), b = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: a); try? FileManager.default.removeItem(atPath: b) }
        let first = try SynthDataset.generate(into: a, options: o)
        let second = try SynthDataset.generate(into: b, options: o)
        #expect(first.train.map(\.path) == second.train.map(\.path) && first.val.map(\.path) == second.val.map(\.path))
        let train = try String(contentsOfFile: a + "/train.txt", encoding: .utf8)
        #expect(train == "videos/translate_left/translate_left_0000.mp4 0\nvideos/translate_right/translate_right_0000.mp4 1\nvideos/translate_up/translate_up_0000.mp4 2\n")
        #expect(try String(contentsOfFile: a + "/classes.txt", encoding: .utf8) == "translate_left\ntranslate_right\ntranslate_up\n")
        #expect(try String(contentsOfFile: b + "/train.txt", encoding: .utf8) == train)
        for (c, name) in first.classNames.enumerated() {
            for i in 0..<o.perClass {
                let path = "videos/\(name)/\(name)_\(String(format: "%04d", i)).mp4"
                var rng = Xoshiro(seed: SynthDataset.videoSeed(o.seed, classIndex: c, index: i))
                let rendered = try SynthDataset.render(classIndex: c, family: o.family, options: o, sources: [], rng: &rng)
                var again = Xoshiro(seed: SynthDataset.videoSeed(o.seed, classIndex: c, index: i))
                #expect(try SynthDataset.render(classIndex: c, family: o.family, options: o, sources: [], rng: &again) == rendered)
                for root in [a, b] {
                    let decoded = try VideoReader(path: root + "/" + path).decodeAll()
                    #expect(decoded.count == 8 && decoded.width == 32)
                    let error = zip(decoded.pixels, rendered.pixels).reduce(0) { $0 + abs(Int($1.0) - Int($1.1)) }
                    #expect(Double(error) / Double(rendered.pixels.count) < 12, "\(path): mean error \(Double(error) / Double(rendered.pixels.count))")
                }
            }
        }
    }

    @Test func badOptionsAreRefused() {
        var o = SynthOptions()
        o.classes = 11
        #expect(throws: SynthError.self) { try SynthDataset.generate(into: "/tmp/unused", options: o) }
        o = SynthOptions()
        o.family = .playback
        #expect(throws: SynthError.invalidOption("family playback needs real footage: pass --source VIDEO…")) {
            try SynthDataset.generate(into: "/tmp/unused", options: o)
        }
    }

    @Test func playbackFamilyReordersRealFootage() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        // A "real" source: 40 frames whose first pixel encodes the frame number.
        let source = folder + "/source.mkv"
        var pixels = [UInt8](repeating: 0, count: 40 * 32 * 32 * 3)
        for f in 0..<40 { for p in 0..<(32 * 32) { pixels[(f * 32 * 32 + p) * 3] = UInt8(f * 6) } }
        var enc = EncodeOptions()
        enc.codec = .mjpeg
        let writer = try VideoWriter(path: source, width: 32, height: 32, options: enc)
        try writer.append(FrameStack(count: 40, height: 32, width: 32, pixels: pixels))
        try writer.finish()
        let video = try SourceVideo(path: source)
        var rng = Xoshiro(seed: 1)
        func levels(_ c: PlaybackClass) throws -> [Int] {
            let frames = try c.frames(from: video, count: 5, size: 16, rng: &rng)
            return (0..<5).map { Int((Float(frames.pixels[$0 * frames.frameBytes]) / 6).rounded()) }
        }
        let forward = try levels(.forward), reversed = try levels(.reversed), fast = try levels(.forwardDouble)
        #expect(zip(forward, forward.dropFirst()).allSatisfy { $1 == $0 + 1 })
        #expect(zip(reversed, reversed.dropFirst()).allSatisfy { $1 == $0 - 1 })
        #expect(zip(fast, fast.dropFirst()).allSatisfy { $1 == $0 + 2 })
    }
}
