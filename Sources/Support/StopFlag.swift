import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A flag that one thread sets and another polls: how a long run is asked to stop.
public final class StopFlag: Sendable {
    private let value = Locked(false)
    public init() {}
    public var isSet: Bool { value.withLock { $0 } }
    public func set() { value.withLock { $0 = true } }
}

/// SIGINT and SIGTERM (and, optionally, the parent process going away) bridged to a handler.
/// The signals' default actions are off while it listens; `cancel` restores them.
/// `@unchecked`: `sources` is written once, in `init`, and only read (to cancel) after; Dispatch sources are thread-safe.
public final class StopSignals: @unchecked Sendable {
    private let sources: [any DispatchSourceProtocol]
    private let signals: [Int32]
    private let restoreDefaults: Bool

    /// Calls `onSignal(count)` on a background queue for every one of `signals` (SIGINT and
    /// SIGTERM unless told), `count` being how many have come so far; with `watchParent`, the
    /// parent's exit counts as one. Without `restoreDefaults`, `cancel` leaves the signals
    /// ignored (a process of a distributed run that has stopped still gets the requests that
    /// mpirun passes on, and must live until the others end).
    public init(watchParent: Bool = false, signals: [Int32] = [SIGINT, SIGTERM], restoreDefaults: Bool = true,
                _ onSignal: @escaping @Sendable (Int) -> Void) {
        self.signals = signals
        self.restoreDefaults = restoreDefaults
        let count = Locked(0)
        let fire: @Sendable () -> Void = {
            let n = count.withLock { value -> Int in
                value += 1
                return value
            }
            onSignal(n)
        }
        var sources: [any DispatchSourceProtocol] = []
        for sig in signals {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler(handler: fire)
            source.resume()
            sources.append(source)
        }
        if watchParent {
            let parent = getppid()
            let timer = DispatchSource.makeTimerSource(queue: .global())
            timer.schedule(deadline: .now() + 0.5, repeating: 0.5)
            let fired = Locked(false)
            timer.setEventHandler {
                guard getppid() != parent, fired.withLock({ f in defer { f = true }; return !f }) else { return }
                fire()
            }
            timer.resume()
            sources.append(timer)
        }
        self.sources = sources
    }

    public func cancel() {
        for source in sources { source.cancel() }
        if restoreDefaults { for sig in signals { signal(sig, SIG_DFL) } }
    }
}
