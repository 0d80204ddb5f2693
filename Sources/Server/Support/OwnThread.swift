import Foundation

/// Runs blocking work (a training process's supervision, opening a network stream, waiting for
/// a thread to stop) on a thread of its own, so that it never holds one of Swift concurrency's
/// few cooperative threads, on which every request of the daemon runs.
func onOwnThread<T: Sendable>(named name: String, _ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread { continuation.resume(with: Result { try work() }) }
        thread.name = name
        thread.start()
    }
}

/// `onOwnThread` for work that cannot fail.
func onOwnThread<T: Sendable>(named name: String, _ work: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        let thread = Thread { continuation.resume(returning: work()) }
        thread.name = name
        thread.start()
    }
}
