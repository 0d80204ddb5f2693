import Testing
import Foundation
@testable import Engine

@Suite struct AttentionShiftTests {
    @Test func attentionMatchesHandComputation() {
        // One query against two keys: scores (1·1, 1·0)/√1 → softmax (e/(e+1), 1/(e+1)).
        let q = Tensor([1], shape: [1, 1]), k = Tensor([1, 0], shape: [2, 1]), v = Tensor([10, 20], shape: [2, 1])
        let p = Float(M_E / (M_E + 1))
        expectClose(scaledDotProductAttention(q, k, v).scalars, [10 * p + 20 * (1 - p)])
        // Causal: the first query sees only the first key.
        let q2 = Tensor([1, 1], shape: [2, 1])
        expectClose(scaledDotProductAttention(q2, k, v, isCausal: true).scalars, [10, 10 * p + 20 * (1 - p)])
        let masked = scaledDotProductAttention(q, k, v, mask: Tensor([0, -Float.infinity], shape: [1, 2]))
        expectClose(masked.scalars, [10])
    }

    @Test func attentionGradients() {
        let q = randomTensor([2, 3, 4], seed: 101), k = randomTensor([2, 5, 4], seed: 102), v = randomTensor([2, 5, 3], seed: 103)
        gradCheck([q, k, v], "sdpa") { scaledDotProductAttention($0[0], $0[1], $0[2]) }
        let qq = randomTensor([1, 4, 4], seed: 104)
        gradCheck([qq, q.sliced(axis: 1, start: 0, end: 3).detached().sliced(axis: 0, start: 0, end: 1).detached().padded([(0, 0), (0, 1), (0, 0)])], "causal") {
            scaledDotProductAttention($0[0], $0[1], $0[1], isCausal: true)
        }
    }

    @Test func temporalShiftMovesFoldsAndZeroFills() {
        // N = 1, T = 3, C = 4 with foldDiv 4: channel 0 reads t+1, channel 1 reads t−1, channels 2–3 stay.
        let x = Tensor((0..<12).map { Float($0) }, shape: [3, 4, 1, 1])
        let y = temporalShift(x, segments: 3, foldDiv: 4)
        expectClose(y.scalars, [4, 0, 2, 3,
                                8, 1, 6, 7,
                                0, 5, 10, 11])
        let z = randomTensor([4, 8, 2, 2], seed: 105)
        gradCheck([z], "temporal shift") { temporalShift($0[0], segments: 2) }
    }
}

@Suite struct PastOnlyShiftTests {
    @Test func onlineShiftLooksBackOnly() {
        // T = 3, C = 4, foldDiv 4: channel 0 reads t−1 (zeros at t = 0), the others stay.
        let x = Tensor((0..<12).map { Float($0) }, shape: [3, 4, 1, 1])
        expectClose(temporalShift(x, segments: 3, foldDiv: 4, pastOnly: true).scalars,
                    [0, 1, 2, 3,
                     0, 5, 6, 7,
                     4, 9, 10, 11])
        let z = randomTensor([4, 8, 2, 2], seed: 106)
        gradCheck([z], "past-only shift") { temporalShift($0[0], segments: 4, pastOnly: true) }
    }
}
