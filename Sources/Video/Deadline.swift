import CFFmpeg
import Synchronization

/// A deadline FFmpeg polls through its interrupt callback while it waits on input,
/// so a hostile or endless input cannot hold a call forever. `cancel()` (from any thread) makes
/// it expire for good: a live source's owner stops a blocked read with it.
final class Deadline: Sendable {
    /// The monotonic nanosecond at which the deadline passes; `.max` when none is set.
    private let end = Atomic<UInt64>(.max)
    private let cancelled = Atomic<Bool>(false)

    func start(seconds: Double) {
        let now = monotonicSeconds()
        end.store(seconds.isFinite ? UInt64(max(0, (now + seconds) * 1e9)) : .max, ordering: .relaxed)
    }
    func clear() { end.store(.max, ordering: .relaxed) }
    func cancel() { cancelled.store(true, ordering: .relaxed) }
    var isCancelled: Bool { cancelled.load(ordering: .relaxed) }
    var expired: Bool {
        isCancelled || UInt64(max(0, monotonicSeconds() * 1e9)) > end.load(ordering: .relaxed)
    }

    /// The callback to install in `AVFormatContext.interrupt_callback`; `self` must outlive the context.
    var callback: AVIOInterruptCB {
        AVIOInterruptCB(callback: deadlineExpired, opaque: Unmanaged.passUnretained(self).toOpaque())
    }
}

private let deadlineExpired: @convention(c) (UnsafeMutableRawPointer?) -> Int32 = { opaque in
    guard let opaque else { return 0 }
    return Unmanaged<Deadline>.fromOpaque(opaque).takeUnretainedValue().expired ? 1 : 0
}
