import Support
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
        pointer = Profiler.span(.allocation) { BufferPool.take(count) }
        MemoryStats.allocated(count * 4)
    }

    public convenience init(repeating value: Float, count: Int) {
        self.init(uninitializedCount: count)
        Profiler.span(.allocation) { pointer.update(repeating: value, count: count) }
    }

    deinit {
        Profiler.span(.allocation) { BufferPool.give(pointer, count) }
        MemoryStats.freed(count * 4)
    }
}

/// A kernel's temporary buffer (im2col tiles, per-worker partial sums), counted like tensor memory.
struct Scratch {
    let pointer: UnsafeMutablePointer<Float>
    let count: Int

    init(_ count: Int) {
        self.count = count
        pointer = BufferPool.take(count)
        MemoryStats.allocated(count * 4)
    }

    init(zeroed count: Int) {
        self.init(count)
        pointer.update(repeating: 0, count: count)
    }

    func free() {
        BufferPool.give(pointer, count)
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

/// Keeps freed large buffers for reuse by the next allocation of the same size.
///
/// Training and inference allocate the same activation sizes step after step. Fresh large
/// allocations come from the kernel as untouched pages, and faulting them in costs as much as a
/// fast kernel's work, so buffers of at least `minimumBytes` are kept, up to `limitBytes` in all,
/// and handed out again. `MemoryStats` counts only buffers in use, not the pool.
public enum BufferPool {
    static let minimumBytes = 256 << 10
    private static let state = Locked(State())

    struct Block: @unchecked Sendable { let pointer: UnsafeMutablePointer<Float> }

    struct State: @unchecked Sendable {
        var free: [Int: [Block]] = [:]
        var bytes = 0
        var limit = 1 << 30
    }

    /// The most the pool may hold (default 1 GiB). Lowering it releases buffers at once.
    public static var limitBytes: Int {
        get { state.withLock { $0.limit } }
        set {
            state.withLock { s in
                s.limit = max(0, newValue)
                while s.bytes > s.limit, let key = s.free.keys.first {
                    for b in s.free.removeValue(forKey: key)! { b.pointer.deallocate(); s.bytes -= key * 4 }
                }
            }
        }
    }

    /// Bytes held for reuse.
    public static var pooledBytes: Int { state.withLock { $0.bytes } }

    static func take(_ count: Int) -> UnsafeMutablePointer<Float> {
        if count * 4 >= minimumBytes {
            let reused = state.withLock { s -> Block? in
                guard let b = s.free[count]?.popLast() else { return nil }
                s.bytes -= count * 4
                return b
            }
            if let reused { return reused.pointer }
        }
        return .allocate(capacity: max(count, 1))
    }

    static func give(_ pointer: UnsafeMutablePointer<Float>, _ count: Int) {
        if count * 4 >= minimumBytes {
            let block = Block(pointer: pointer)
            let kept = state.withLock { s -> Bool in
                guard s.bytes + count * 4 <= s.limit else { return false }
                s.free[count, default: []].append(block)
                s.bytes += count * 4
                return true
            }
            if kept { return }
        }
        pointer.deallocate()
    }
}
