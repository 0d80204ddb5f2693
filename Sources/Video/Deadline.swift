import CFFmpeg

/// A deadline FFmpeg polls through its interrupt callback while it waits on input,
/// so a hostile or endless input cannot hold a call forever.
final class Deadline {
    private var end = Double.infinity

    func start(seconds: Double) { end = monotonicSeconds() + seconds }
    func clear() { end = .infinity }
    var expired: Bool { monotonicSeconds() > end }

    /// The callback to install in `AVFormatContext.interrupt_callback`; `self` must outlive the context.
    var callback: AVIOInterruptCB {
        AVIOInterruptCB(callback: deadlineExpired, opaque: Unmanaged.passUnretained(self).toOpaque())
    }
}

private let deadlineExpired: @convention(c) (UnsafeMutableRawPointer?) -> Int32 = { opaque in
    guard let opaque else { return 0 }
    return Unmanaged<Deadline>.fromOpaque(opaque).takeUnretainedValue().expired ? 1 : 0
}
