import Testing
@testable import Flow

/// The building blocks against plain reference code.
@Suite struct KernelTests {
    static func randomPlane(_ count: Int, seed: UInt64) -> [Float] {
        var rng = SplitMix64(seed: seed)
        // Few distinct values, so ties are common.
        return (0..<count).map { _ in Float(Int(rng.uniform(0, 12))) * 0.5 }
    }

    @Test(arguments: [3, 5])
    func medianMatchesSorting(_ k: Int) {
        for (w, h) in [(1, 1), (3, 2), (8, 8), (13, 7), (37, 5)] {
            let src = Self.randomPlane(w * h, seed: UInt64(w * 100 + h))
            var dst = [Float](repeating: -1, count: w * h)
            var input = src
            input.withUnsafeMutableBufferPointer { s in
                dst.withUnsafeMutableBufferPointer { d in
                    MedianFilter(kernel: k).apply(s.baseAddress!, into: d.baseAddress!, Size(width: w, height: h),
                                                  threads: 1)
                }
            }
            var expected = [Float](repeating: 0, count: w * h)
            for y in 0..<h {
                for x in 0..<w {
                    var window: [Float] = []
                    for dy in -(k / 2)...(k / 2) {
                        for dx in -(k / 2)...(k / 2) {
                            window.append(src[min(max(y + dy, 0), h - 1) * w + min(max(x + dx, 0), w - 1)])
                        }
                    }
                    expected[y * w + x] = window.sorted()[k * k / 2]
                }
            }
            #expect(dst == expected, "\(k)×\(k) median of a \(w)×\(h) image")
        }
    }

    @Test func selectionNetworkSizes() {
        #expect(MedianFilter.selectionNetwork(count: 25).pairs.count == 113)
        #expect(MedianFilter.selectionNetwork(count: 9).pairs.count == 24)
    }

    /// Values checked with cv2.resize(..., fx=0.8, fy=0.8) and cv2.resize to a size on this ramp.
    @Test func resizeSamplesWhereOpenCVDoes() {
        let src = (0..<10).map { Float($0 * 10) }
        var out = [Float](repeating: 0, count: 8)
        var input = src
        let down = ResizePlan.downscale(Size(width: 10, height: 1), step: 0.8)
        #expect(down.destination == Size(width: 8, height: 1))
        input.withUnsafeMutableBufferPointer { s in
            out.withUnsafeMutableBufferPointer { d in down.apply(s.baseAddress!, into: d.baseAddress!, threads: 1) }
        }
        // x' = (d + 0.5) · 1.25 − 0.5, clamped at the right edge.
        let expected: [Float] = [1.25, 13.75, 26.25, 38.75, 51.25, 63.75, 76.25, 88.75]
        for (a, b) in zip(out, expected) { #expect(abs(a - b) < 1e-4) }
        var up = [Float](repeating: 0, count: 5)
        var small: [Float] = [0, 10, 20]
        let plan = ResizePlan.resample(Size(width: 3, height: 1), to: Size(width: 5, height: 1))
        small.withUnsafeMutableBufferPointer { s in
            up.withUnsafeMutableBufferPointer { d in plan.apply(s.baseAddress!, into: d.baseAddress!, factor: 2, threads: 1) }
        }
        // x' = (d + 0.5) · 0.6 − 0.5 = −0.2 (clamped to 0), 0.4, 1.0, 1.6, 2.2 (clamped to 2); then × 2.
        let up2: [Float] = [0, 8, 20, 32, 40]
        for (a, b) in zip(up, up2) { #expect(abs(a - b) < 1e-4) }
    }

    @Test func pyramidSizesFollowOpenCV() {
        let p = TVL1Parameters()                               // OpenCV's default step, 0.8
        #expect(Workspace(size: Size(width: 160, height: 120), parameters: p, threads: 1).levels
                == [Size(width: 160, height: 120), Size(width: 128, height: 96), Size(width: 102, height: 77),
                    Size(width: 82, height: 62), Size(width: 66, height: 50)])
        let half = TVL1Parameters(scaleStep: 0.5)
        #expect(Workspace(size: Size(width: 160, height: 120), parameters: half, threads: 1).levels
                == [Size(width: 160, height: 120), Size(width: 80, height: 60), Size(width: 40, height: 30)])
        // 20×15 would have a side under 16, so the pyramid stops at 40×30.
        #expect(Workspace(size: Size(width: 80, height: 60), parameters: half, threads: 1).levels
                == [Size(width: 80, height: 60), Size(width: 40, height: 30)])
    }

    @Test func cubicWeightsAreKeysWithAMinusThreeQuarters() {
        #expect(cubicWeights(0) == SIMD4(0, 1, 0, 0))
        for t: Float in [0.1, 0.25, 0.5, 0.9] {
            let w = cubicWeights(t), mirrored = cubicWeights(1 - t)
            #expect(abs(w.sum() - 1) < 1e-6)
            // Symmetric kernel: the taps for 1 − t are those for t in reverse.
            #expect(abs(w[0] - mirrored[3]) < 1e-6 && abs(w[1] - mirrored[2]) < 1e-6)
        }
        // Keys at t = ½: outer taps a/8 = −0.09375, inner taps ½ − a/8 = 0.59375 for a = −0.75.
        let half = cubicWeights(0.5)
        #expect(abs(half[0] + 0.09375) < 1e-7 && abs(half[1] - 0.59375) < 1e-7)
    }
}
