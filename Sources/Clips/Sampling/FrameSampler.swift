import Engine

/// Picks which frames of a video form each clip, with MMAction2's `SampleFrames` semantics.
///
/// A clip is `clipLength` frames `frameInterval` apart. Training splits the usable range into
/// `clipCount` segments and takes a random offset in each (TSN: clipLength 1, clipCount K); testing
/// takes segment centres (2D, clipLength 1) or evenly spread clips (3D). Indices that run past the
/// end either wrap (`loop`) or repeat the clip's last valid frame (`repeatLast`). `startIndex` is
/// added last: 0 for decoded videos, 1 for frame folders named from `img_00001.jpg`.
///
/// The arithmetic follows the reference line by line, in Double, and truncates at the end as
/// numpy's `astype(int32)` does; its rounding is numpy's half-to-even.
public struct FrameSampler: Codable, Sendable, Equatable {
    public enum OutOfBound: String, Codable, Sendable {
        case loop
        case repeatLast = "repeat_last"
    }

    public let clipLength: Int
    public let frameInterval: Int
    public let clipCount: Int
    /// Adds a random 0..<frameInterval to every frame index.
    public let temporalJitter: Bool
    /// Test mode only: also the unshifted clips (2D), or twice the clips (3D), as TSM tests do.
    public let twiceSample: Bool
    public let outOfBound: OutOfBound
    public let testMode: Bool
    /// Training: real-valued segment length, so the tail of the video can be sampled too.
    public let keepTailFrames: Bool

    public init(clipLength: Int, frameInterval: Int = 1, clipCount: Int = 1, temporalJitter: Bool = false,
                twiceSample: Bool = false, outOfBound: OutOfBound = .loop, testMode: Bool = false,
                keepTailFrames: Bool = false) throws(SamplerError) {
        self.clipLength = clipLength
        self.frameInterval = frameInterval
        self.clipCount = clipCount
        self.temporalJitter = temporalJitter
        self.twiceSample = twiceSample
        self.outOfBound = outOfBound
        self.testMode = testMode
        self.keepTailFrames = keepTailFrames
        try validate()
    }

    /// The largest clip length, frame interval and clip count: a clip of more frames than this
    /// does not fit any model's input, and the indices alone would take gigabytes.
    public static let maxFrames = 1024

    private func validate() throws(SamplerError) {
        let bound = Self.maxFrames
        if !(1...bound).contains(clipLength) { throw .invalid("clipLength must be 1…\(bound), got \(clipLength)") }
        if !(1...bound).contains(frameInterval) { throw .invalid("frameInterval must be 1…\(bound), got \(frameInterval)") }
        if !(1...bound).contains(clipCount) { throw .invalid("clipCount must be 1…\(bound), got \(clipCount)") }
        // The reference divides by clipCount − 1 here.
        if testMode && twiceSample && clipLength > 1 && clipCount == 1 {
            throw .invalid("twiceSample needs clipCount ≥ 2 for dense (clipLength > 1) test clips")
        }
    }

    enum CodingKeys: String, CodingKey {
        case clipLength = "clip_len", frameInterval = "frame_interval", clipCount = "num_clips"
        case temporalJitter = "temporal_jitter", twiceSample = "twice_sample"
        case outOfBound = "out_of_bound_opt", testMode = "test_mode", keepTailFrames = "keep_tail_frames"
    }

    /// A value out of bounds is a decoding error at its own key.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let clipLength = try c.decode(Int.self, forKey: .clipLength)
        let frameInterval = try c.decodeIfPresent(Int.self, forKey: .frameInterval) ?? 1
        let clipCount = try c.decodeIfPresent(Int.self, forKey: .clipCount) ?? 1
        for (key, value) in [(CodingKeys.clipLength, clipLength), (.frameInterval, frameInterval), (.clipCount, clipCount)]
        where !(1...Self.maxFrames).contains(value) {
            throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: "1…\(Self.maxFrames)")
        }
        try self.init(clipLength: clipLength, frameInterval: frameInterval, clipCount: clipCount,
                      temporalJitter: c.decodeIfPresent(Bool.self, forKey: .temporalJitter) ?? false,
                      twiceSample: c.decodeIfPresent(Bool.self, forKey: .twiceSample) ?? false,
                      outOfBound: c.decodeIfPresent(OutOfBound.self, forKey: .outOfBound) ?? .loop,
                      testMode: c.decodeIfPresent(Bool.self, forKey: .testMode) ?? false,
                      keepTailFrames: c.decodeIfPresent(Bool.self, forKey: .keepTailFrames) ?? false)
    }

    /// Clips returned per video: clipCount, doubled by twiceSample in test mode.
    public var clipsPerVideo: Int { testMode && twiceSample ? 2 * clipCount : clipCount }

    /// Frames spanned by one clip: `clipLength·frameInterval` in training, one fewer gap in testing.
    var spanned: Int { testMode ? (clipLength - 1) * frameInterval + 1 : clipLength * frameInterval }

    /// Frame indices, clipsPerVideo × clipLength, in `startIndex ..< startIndex + frameCount`.
    public func indices(frameCount: Int, startIndex: Int = 0, using rng: inout Xoshiro) -> [[Int]] {
        var draws = SamplerDraws()
        if !testMode { draws.clip = (0..<clipCount).map { _ in rng.nextUnit() } }
        if temporalJitter { draws.frame = (0..<(clipsPerVideo * clipLength)).map { _ in rng.nextUnit() } }
        return indices(frameCount: frameCount, startIndex: startIndex, draws: draws)
    }

    /// The same, with the random numbers given: `draws.clip` feeds the training offsets (one per
    /// clip, used only by the branches that draw), `draws.frame` the temporal jitter.
    public func indices(frameCount n: Int, startIndex: Int = 0, draws: SamplerDraws) -> [[Int]] {
        precondition(n >= 1, "FrameSampler: a video needs at least one frame, got \(n)")
        let offsets = testMode ? testOffsets(n) : trainOffsets(n, draws.clip)
        var jitter = draws.frame.makeIterator()
        return offsets.map { offset in
            var clip = (0..<clipLength).map { j -> Double in
                var x = offset + Double(j * frameInterval)
                if temporalJitter { x += Double(randint(frameInterval, jitter.next()!)) }
                return x
            }
            switch outOfBound {
            case .loop:
                clip = clip.map { $0.truncatingRemainder(dividingBy: Double(n)) }
            case .repeatLast:
                let last = clip.filter { $0 < Double(n) }.max() ?? 0
                clip = clip.map { $0 < Double(n) ? $0 : last }
            }
            return clip.map { Int($0 + Double(startIndex)) }
        }
    }

    /// `_get_train_clips`.
    private func trainOffsets(_ n: Int, _ u: [Double]) -> [Double] {
        let span = spanned, k = clipCount
        if keepTailFrames {
            let avg = Double(n - span + 1) / Double(k)
            guard n > span - 1 else { return Array(repeating: 0, count: k) }
            return (0..<k).map { Double(Int(Double($0) * avg + (0 + (avg - 0) * u[$0]))) }
        }
        let avg = floorDiv(n - span + 1, k)
        if avg > 0 {
            return (0..<k).map { Double($0 * avg + randint(avg, u[$0])) }
        } else if n > max(k, span) {
            return (0..<k).map { Double(randint(n - span + 1, u[$0])) }.sorted()
        } else if avg == 0 {
            let ratio = (Double(n - span) + 1.0) / Double(k)
            return (0..<k).map { (Double($0) * ratio).rounded(.toNearestOrEven) }
        }
        return Array(repeating: 0, count: k)
    }

    /// `_get_test_clips`.
    private func testOffsets(_ n: Int) -> [Double] {
        if clipLength == 1 {
            let avg = Double(n) / Double(clipCount)
            let base = (0..<clipCount).map { Double($0) * avg }
            let centres = base.map { $0 + avg / 2.0 }
            return twiceSample ? centres + base : centres
        }
        let maxOffset = max(n - spanned, 0)
        if clipsPerVideo > 1 {
            let between = Double(maxOffset) / Double(clipCount - 1)
            return (0..<clipsPerVideo).map { (Double($0) * between).rounded(.toNearestOrEven) }
        }
        return [Double(maxOffset / 2)]
    }

    /// `np.random.randint(high)` driven by a unit uniform.
    private func randint(_ high: Int, _ u: Double) -> Int { Int((u * Double(high)).rounded(.down)) }

    private func floorDiv(_ a: Int, _ b: Int) -> Int {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }
}

extension FrameSampler {
    /// TSN: one frame from each of `segments` segments.
    public static func tsn(segments: Int, testMode: Bool = false) -> FrameSampler {
        try! FrameSampler(clipLength: 1, clipCount: segments, testMode: testMode)
    }

    /// Dense 3D clips (I3D, SlowOnly, X3D): `length` frames `interval` apart.
    public static func dense(length: Int, interval: Int, clips: Int = 1, testMode: Bool = false) -> FrameSampler {
        try! FrameSampler(clipLength: length, frameInterval: interval, clipCount: clips, testMode: testMode)
    }

    /// Optical-flow stacks: `length` consecutive frames from each of `segments` segments.
    public static func flowStack(length: Int, segments: Int, testMode: Bool = false) -> FrameSampler {
        try! FrameSampler(clipLength: length, clipCount: segments, testMode: testMode)
    }
}

/// Unit uniforms in [0, 1) that drive a training draw.
public struct SamplerDraws: Sendable, Equatable {
    public var clip: [Double] = []
    public var frame: [Double] = []
    public init(clip: [Double] = [], frame: [Double] = []) {
        self.clip = clip
        self.frame = frame
    }
}

public enum SamplerError: Error, Equatable, CustomStringConvertible {
    case invalid(String)
    public var description: String {
        switch self { case .invalid(let m): "FrameSampler: \(m)" }
    }
}

extension Xoshiro {
    /// Uniform in [0, 1) with 53 random bits.
    mutating func nextUnit() -> Double { Double(next() >> 11) * 0x1p-53 }
}
