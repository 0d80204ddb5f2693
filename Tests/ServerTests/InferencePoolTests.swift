import Foundation
@testable import Server
import Testing

@Suite struct InferencePoolTests {
    final class Payload: Sendable {}

    /// Polls for up to ten seconds: a pool thread lets go of a job just after it has answered.
    static func eventually(_ condition: () -> Bool) async throws -> Bool {
        let deadline = Date().addingTimeInterval(10)
        while !condition() && Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
        return condition()
    }

    /// The threads hold the pool, never the other way round: once `shutdown` has let them exit,
    /// the pool is freed (a daemon's tests create and stop many).
    @Test func aShutDownPoolIsFreed() async throws {
        weak var weakPool: InferencePool?
        do {
            let pool = InferencePool(threads: 2)
            weakPool = pool
            pool.shutdown()
        }
        #expect(try await Self.eventually { weakPool == nil })
    }

    /// A finished job's captures (the model, the upload) are released while the pool runs on.
    @Test func aFinishedJobIsReleased() async throws {
        let pool = InferencePool(threads: 1)
        defer { pool.shutdown() }
        weak var weakPayload: Payload?
        do {
            let payload = Payload()
            weakPayload = payload
            let answer = try await pool.run { () -> Int in withExtendedLifetime(payload) { 1 } }
            #expect(answer == 1)
        }
        #expect(try await Self.eventually { weakPayload == nil })
    }
}
