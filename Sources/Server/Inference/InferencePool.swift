import Foundation
import ServiceLifecycle

/// A few dedicated threads that decode videos and run models, away from the event loops and
/// Swift's cooperative pool (both must never block for the seconds a model takes). Work waits
/// in FIFO order. The engine already spreads each op over every core, so a small pool keeps the
/// cores busy without oversubscribing them.
public final class InferencePool: Service, @unchecked Sendable {
    private let condition = NSCondition()
    private var queue: [(() -> Void)?] = []
    private var head = 0
    private var stopping = false
    public let threadCount: Int

    public init(threads: Int) {
        threadCount = max(1, threads)
        for i in 0..<threadCount {
            // The threads keep the pool alive until `shutdown`; the pool keeps no reference to them,
            // so once they have exited it is freed.
            let thread = Thread { self.workLoop() }
            thread.name = "motive-inference-\(i)"
            thread.stackSize = 16 << 20
            thread.start()
        }
    }

    /// Jobs submitted and not yet started.
    public var waiting: Int { condition.withLock { queue.count - head } }

    /// Runs `work` on a pool thread and returns its result.
    func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            submit { continuation.resume(with: Result { try work() }) }
        }
    }

    private func submit(_ job: @escaping () -> Void) {
        condition.withLock {
            queue.append(job)
            condition.signal()
        }
    }

    private func workLoop() {
        while true {
            condition.lock()
            while head == queue.count && !stopping { condition.wait() }
            if head == queue.count {
                condition.unlock()
                return
            }
            let job = queue[head]!
            queue[head] = nil       // what the job captured (a model, an upload) is not kept until compaction
            head += 1
            if head > 64 && head * 2 > queue.count {
                queue.removeFirst(head)
                head = 0
            }
            condition.unlock()
            job()
        }
    }

    /// Lets the threads finish the queued work and exit.
    public func shutdown() {
        condition.withLock {
            stopping = true
            condition.broadcast()
        }
    }

    /// Runs until the server shuts down (after in-flight requests have finished), then stops the threads.
    public func run() async throws {
        try? await gracefulShutdown()
        shutdown()
    }
}
