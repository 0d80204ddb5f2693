import Foundation

/// A value that threads share, behind a lock: Motive's stand-in for the standard library's
/// `Mutex`. `Mutex` waits on a futex inside the (uninstrumented) standard library, so the thread
/// sanitizer never sees it taken and reports every access it guards as a race; `NSLock` is a
/// pthread mutex, which the sanitizer does see (`make test-tsan`, docs/development.md).
///
/// `@unchecked`: `value` is only reached inside `withLock`, under `lock`.
public final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    public init(_ value: Value) { self.value = value }

    /// Runs `body` with the value, holding the lock.
    public func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
