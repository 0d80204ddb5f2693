import Engine
import Foundation
import Video

/// `motive dataset synth`: labelled videos whose classes are defined by motion alone, really
/// encoded through libavcodec, so that Motive trains and tests with no downloads.
public struct SynthOptions: Sendable {
    public enum Family: String, CaseIterable, Sendable, Codable {
        /// Camera motion over random textures (or frames of `sources`): 10 classes.
        case motion
        /// Clips of real footage played forward or reversed, at normal or double speed: 4 classes; needs `sources`.
        case playback
    }

    public var family: Family = .motion
    public var classes: Int? = nil            // the first N classes of the family (all when nil)
    public var perClass = 100
    public var frames = 32
    public var size = 128
    public var fps = 25
    public var seed: UInt64 = 0
    public var valFraction = 0.2
    public var codec: VideoCodec = .h264
    public var sources: [String] = []         // real videos for textures (motion) or footage (playback)

    public init() {}
}

public enum SynthError: Error, CustomStringConvertible, Equatable {
    case invalidOption(String)
    case sourceUnreadable(path: String, reason: String)
    case writeFailed(path: String, reason: String)

    public var description: String {
        switch self {
        case .invalidOption(let why): "synth: \(why)"
        case .sourceUnreadable(let path, let reason): "synth: cannot use source video \(path): \(reason)"
        case .writeFailed(let path, let reason): "synth: cannot write \(path): \(reason)"
        }
    }
}

/// What one run wrote.
public struct SynthSummary: Sendable {
    public var classNames: [String]
    public var train: [(path: String, label: Int)]
    public var val: [(path: String, label: Int)]
    public var codec: VideoCodec
}

public enum SynthDataset {
    public static func classNames(_ family: SynthOptions.Family) -> [String] {
        switch family {
        case .motion: MotionClass.allCases.map(\.rawValue)
        case .playback: PlaybackClass.allCases.map(\.rawValue)
        }
    }

    /// Writes `videos/<class>/<class>_NNNN.<ext>`, `train.txt`, `val.txt` and `classes.txt` under `root`.
    /// The same options give the same files.
    public static func generate(into root: String, options o: SynthOptions,
                                progress: (@Sendable (Int, Int) -> Void)? = nil) throws -> SynthSummary {
        let names = classNames(o.family)
        let count = o.classes ?? names.count
        guard (1...names.count).contains(count) else {
            throw SynthError.invalidOption("--classes must be 1…\(names.count) for family \(o.family.rawValue), got \(count)")
        }
        guard (1...100_000).contains(o.perClass), (2...10_000).contains(o.frames), (16...1024).contains(o.size), (1...1000).contains(o.fps) else {
            throw SynthError.invalidOption("need --per-class 1…100000, --frames 2…10000, --size 16…1024, --fps 1…1000")
        }
        guard (0..<1).contains(o.valFraction) else { throw SynthError.invalidOption("--val-fraction must be in [0, 1)") }
        if o.family == .playback && o.sources.isEmpty {
            throw SynthError.invalidOption("family playback needs real footage: pass --source VIDEO…")
        }
        let sources = try o.sources.map { try SourceVideo(path: $0) }
        let ext = o.codec == .vp9 ? "webm" : o.codec == .mpeg4 || o.codec == .mjpeg ? "avi" : "mp4"
        let classNames = Array(names.prefix(count))
        let fm = FileManager.default
        for name in classNames {
            let dir = (root as NSString).appendingPathComponent("videos/\(name)")
            do { try fm.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
                throw SynthError.writeFailed(path: dir, reason: "\(error)")
            }
        }
        let jobs = classNames.indices.flatMap { c in (0..<o.perClass).map { (c, $0) } }
        let results = Results(count: jobs.count)
        let done = Counter()
        Parallel.forTasks(jobs.count) { j in
            let (c, i) = jobs[j]
            let relative = "videos/\(classNames[c])/\(classNames[c])_\(String(format: "%04d", i)).\(ext)"
            var rng = Xoshiro(seed: videoSeed(o.seed, classIndex: c, index: i))
            do {
                let frames = try render(classIndex: c, family: o.family, options: o, sources: sources, rng: &rng)
                let path = (root as NSString).appendingPathComponent(relative)
                let codec = try encode(frames, to: path, options: o)
                results.set(j, .success((relative, codec)))
            } catch {
                results.set(j, .failure(SynthError.writeFailed(path: relative, reason: "\(error)")))
            }
            progress?(done.increment(), jobs.count)
        }
        var train: [(String, Int)] = [], val: [(String, Int)] = []
        var codecUsed = o.codec
        let valPerClass = Int((Double(o.perClass) * o.valFraction).rounded())
        for (j, (c, i)) in jobs.enumerated() {
            let (relative, codec) = try results.get(j).get()
            codecUsed = codec
            if i >= o.perClass - valPerClass { val.append((relative, c)) } else { train.append((relative, c)) }
        }
        try writeList(train, to: root, name: "train.txt")
        try writeList(val, to: root, name: "val.txt")
        try write(classNames.joined(separator: "\n") + "\n", to: (root as NSString).appendingPathComponent("classes.txt"))
        return SynthSummary(classNames: classNames, train: train, val: val, codec: codecUsed)
    }

    /// The generator seed of video `index` of class `classIndex`.
    static func videoSeed(_ seed: UInt64, classIndex c: Int, index i: Int) -> UInt64 {
        seed &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(c) &* 1_000_003 &+ UInt64(i)
    }

    /// The frames of one video of class `classIndex`.
    static func render(classIndex: Int, family: SynthOptions.Family, options o: SynthOptions,
                       sources: [SourceVideo], rng: inout Xoshiro) throws -> FrameStack {
        switch family {
        case .motion:
            let texture: Texture
            if sources.isEmpty {
                texture = Texture(size: 256 * max(1, o.size / 128), rng: &rng)
            } else {
                let source = sources[Int(rng.next() % UInt64(sources.count))]
                texture = try source.texture(frame: Int(rng.next() % UInt64(source.frameCount)))
            }
            let motion = MotionClass.allCases[classIndex]
            let poses = motion.poses(frames: o.frames, size: o.size, period: texture.size, rng: &rng)
            return Renderer.render(texture, poses: poses, size: o.size)
        case .playback:
            let source = sources[Int(rng.next() % UInt64(sources.count))]
            return try PlaybackClass.allCases[classIndex].frames(from: source, count: o.frames, size: o.size, rng: &rng)
        }
    }

    /// One encoder thread per video (the videos already run in parallel).
    private static func encode(_ frames: FrameStack, to path: String, options o: SynthOptions) throws -> VideoCodec {
        var enc = EncodeOptions()
        enc.codec = o.codec
        enc.fps = o.fps
        enc.threads = 1
        let writer = try VideoWriter(path: path, width: frames.width, height: frames.height, options: enc)
        try writer.append(frames)
        try writer.finish()
        return writer.codecUsed
    }

    private static func writeList(_ entries: [(String, Int)], to root: String, name: String) throws {
        try write(entries.map { "\($0.0) \($0.1)" }.joined(separator: "\n") + (entries.isEmpty ? "" : "\n"),
                  to: (root as NSString).appendingPathComponent(name))
    }

    private static func write(_ text: String, to path: String) throws {
        do { try text.write(toFile: path, atomically: true, encoding: .utf8) } catch {
            throw SynthError.writeFailed(path: path, reason: "\(error)")
        }
    }
}

/// Per-job outcomes written from concurrent workers.
private final class Results: @unchecked Sendable {
    private var slots: [Result<(String, VideoCodec), SynthError>?]
    private let lock = NSLock()
    init(count: Int) { slots = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ r: Result<(String, VideoCodec), SynthError>) { lock.lock(); slots[i] = r; lock.unlock() }
    func get(_ i: Int) -> Result<(String, VideoCodec), SynthError> { lock.lock(); defer { lock.unlock() }; return slots[i]! }
}

private final class Counter: @unchecked Sendable {
    private var n = 0
    private let lock = NSLock()
    func increment() -> Int { lock.lock(); defer { lock.unlock() }; n += 1; return n }
}
