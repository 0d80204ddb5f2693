import Engine
import Foundation
import Testing
@testable import Clips

/// One row of sample_frames.json, written by Tests/Fixtures/make_sampler_fixture.py from
/// MMAction2's SampleFrames with the uniforms given in clipDraws/frameDraws (k · 2⁻⁵³).
struct SamplerCase: Decodable, CustomStringConvertible {
    let frameCount, clipLength, frameInterval, clipCount, startIndex: Int
    let temporalJitter, twiceSample, testMode, keepTailFrames: Bool
    let outOfBound: String
    let expected: [[Int]]?
    let clipDraws, frameDraws: [Int]

    var description: String {
        "n=\(frameCount) len=\(clipLength) τ=\(frameInterval) clips=\(clipCount) test=\(testMode) "
            + "jitter=\(temporalJitter) twice=\(twiceSample) tail=\(keepTailFrames) \(outOfBound) start=\(startIndex)"
    }

    func sampler() throws -> FrameSampler {
        try FrameSampler(clipLength: clipLength, frameInterval: frameInterval, clipCount: clipCount,
                         temporalJitter: temporalJitter, twiceSample: twiceSample,
                         outOfBound: FrameSampler.OutOfBound(rawValue: outOfBound)!, testMode: testMode,
                         keepTailFrames: keepTailFrames)
    }

    var draws: SamplerDraws {
        SamplerDraws(clip: clipDraws.map { Double($0) * 0x1p-53 }, frame: frameDraws.map { Double($0) * 0x1p-53 })
    }
}

func loadSamplerCases() throws -> [SamplerCase] {
    let url = try #require(Bundle.module.url(forResource: "sample_frames", withExtension: "json",
                                             subdirectory: "Fixtures"))
    return try JSONDecoder().decode([SamplerCase].self, from: Data(contentsOf: url))
}

@Suite struct FrameSamplerTests {
    @Test func matchesMMAction2() throws {
        let cases = try loadSamplerCases()
        #expect(cases.count > 300)
        var checked = 0
        for c in cases {
            guard let expected = c.expected else {
                #expect(throws: SamplerError.self, "\(c)") { try c.sampler() }
                continue
            }
            let got = try c.sampler().indices(frameCount: c.frameCount, startIndex: c.startIndex, draws: c.draws)
            #expect(got == expected, "\(c)")
            checked += 1
        }
        #expect(checked > 300)
    }

    @Test func tsnTestTakesSegmentCentres() {
        // 10 frames, 3 segments of 3⅓: centres at 1.67, 5, 8.33 → 1, 5, 8.
        #expect(FrameSampler.tsn(segments: 3, testMode: true).indices(frameCount: 10, draws: .init()) == [[1], [5], [8]])
        // Frame folders count from 1.
        #expect(FrameSampler.tsn(segments: 3, testMode: true).indices(frameCount: 10, startIndex: 1, draws: .init())
                == [[2], [6], [9]])
    }

    @Test func denseShortVideoLoopsOrRepeats() throws {
        // 8 frames 2 apart need 15 frames; a 10-frame video gets offset 0.
        let loop = FrameSampler.dense(length: 8, interval: 2, testMode: true)
        #expect(loop.indices(frameCount: 10, draws: .init()) == [[0, 2, 4, 6, 8, 0, 2, 4]])
        let last = try FrameSampler(clipLength: 8, frameInterval: 2, outOfBound: .repeatLast, testMode: true)
        #expect(last.indices(frameCount: 10, draws: .init()) == [[0, 2, 4, 6, 8, 8, 8, 8]])
    }

    @Test func trainingDrawsStayInTheirSegment() {
        let sampler = FrameSampler.tsn(segments: 8)
        var rng = Xoshiro(seed: 7)
        for _ in 0..<200 {
            let inds = sampler.indices(frameCount: 100, using: &rng).map { $0[0] }
            // 100 // 8 = 12 frames per segment.
            for (k, i) in inds.enumerated() { #expect((k * 12)..<(k * 12 + 12) ~= i) }
        }
    }

    @Test func seedDeterminesTheDraw() {
        let sampler = FrameSampler.dense(length: 4, interval: 4, clips: 3)
        var a = Xoshiro(seed: 1), b = Xoshiro(seed: 1), c = Xoshiro(seed: 2)
        let x = sampler.indices(frameCount: 300, using: &a)
        #expect(x == sampler.indices(frameCount: 300, using: &b))
        #expect(x != sampler.indices(frameCount: 300, using: &c))
    }

    @Test func decodesMMAction2Keys() throws {
        let json = #"{"clip_len": 32, "frame_interval": 2, "num_clips": 1, "out_of_bound_opt": "repeat_last"}"#
        let s = try JSONDecoder().decode(FrameSampler.self, from: Data(json.utf8))
        #expect(s.clipLength == 32 && s.frameInterval == 2 && s.outOfBound == .repeatLast && !s.testMode)
        #expect(throws: (any Error).self) {
            try JSONDecoder().decode(FrameSampler.self, from: Data(#"{"clip_len": 0}"#.utf8))
        }
    }
}
