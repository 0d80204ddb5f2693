import Testing
@testable import Engine

/// Bad shapes stop the program with a message naming the op and the shapes; nothing is computed silently.
/// Each case runs in a child process (an exit test).
@Suite struct BadInputTests {
    @Test func incompatibleBroadcastStops() async {
        await #expect(processExitsWith: .failure) {
            _ = Tensor.zeros([2, 3]) + Tensor.zeros([4])
        }
    }

    @Test func matmulInnerMismatchStops() async {
        await #expect(processExitsWith: .failure) {
            _ = matmul(Tensor.zeros([2, 3]), Tensor.zeros([4, 5]))
        }
    }

    @Test func convChannelMismatchStops() async {
        await #expect(processExitsWith: .failure) {
            _ = conv(Tensor.zeros([1, 3, 8, 8]), weight: Tensor.zeros([4, 2, 3, 3]))
        }
    }

    @Test func invalidAxisStops() async {
        await #expect(processExitsWith: .failure) {
            _ = Tensor.zeros([2, 3]).sum(axis: 2)
        }
    }

    @Test func messageNamesOpAndShapes() async throws {
        let result = try await #require(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Tensor.zeros([2, 3]) * Tensor.zeros([4])
        }
        let message = String(decoding: result.standardErrorContent, as: UTF8.self)
        #expect(message.contains("mul: shapes [2, 3] and [4] do not broadcast"))
    }
}
