import Synchronization

/// A flat, owned Float32 buffer. Tensors that are views of one another (reshape) share a Storage.
/// Every allocation is counted, so tests and benchmarks can see live and peak tensor memory.
public final class Storage: @unchecked Sendable {
    public let pointer: UnsafeMutablePointer<Float>
    public let count: Int

    /// Uninitialised storage: callers must write every element.
    public init(uninitializedCount count: Int) {
        ensure(count >= 0, "Storage: negative element count \(count)")
        self.count = count
        pointer = .allocate(capacity: max(count, 1))
        MemoryStats.allocated(count * 4)
    }

    public convenience init(repeating value: Float, count: Int) {
        self.init(uninitializedCount: count)
        if value == 0 {
            pointer.update(repeating: 0, count: count)
        } else {
            pointer.initialize(repeating: value, count: count)
        }
    }

    deinit {
        pointer.deallocate()
        MemoryStats.freed(count * 4)
    }
}

/// A kernel's temporary buffer (im2col tiles, per-worker partial sums), counted like tensor memory.
struct Scratch {
    let pointer: UnsafeMutablePointer<Float>
    let count: Int

    init(_ count: Int) {
        self.count = count
        pointer = .allocate(capacity: max(count, 1))
        MemoryStats.allocated(count * 4)
    }

    init(zeroed count: Int) {
        self.init(count)
        pointer.update(repeating: 0, count: count)
    }

    func free() {
        pointer.deallocate()
        MemoryStats.freed(count * 4)
    }
}

/// Bytes held by live tensor storages and kernel scratch buffers, and the high-water mark since the last `resetPeak()`.
public enum MemoryStats {
    private static let live = Atomic<Int>(0)
    private static let peak = Atomic<Int>(0)

    static func allocated(_ bytes: Int) {
        let now = live.add(bytes, ordering: .relaxed).newValue
        var seen = peak.load(ordering: .relaxed)
        while now > seen {
            let (exchanged, original) = peak.compareExchange(expected: seen, desired: now, ordering: .relaxed)
            if exchanged { break }
            seen = original
        }
    }

    static func freed(_ bytes: Int) {
        live.subtract(bytes, ordering: .relaxed)
    }

    public static var liveBytes: Int { live.load(ordering: .relaxed) }
    public static var peakBytes: Int { peak.load(ordering: .relaxed) }
    /// Starts a new high-water mark at the current live size.
    public static func resetPeak() { peak.store(live.load(ordering: .relaxed), ordering: .relaxed) }
}
