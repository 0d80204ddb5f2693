import Support
import Synchronization

/// A flat, owned Float32 buffer. Tensors that are views of one another (reshape) share a Storage.
/// Every allocation is counted, so tests and benchmarks can see live and peak tensor memory.
public final class Storage: @unchecked Sendable {
    public let pointer: UnsafeMutablePointer<Float>
    public let count: Int
    /// Elements the buffer holds, at least `count` (a pooled buffer's size class).
    private let capacity: Int

    /// Uninitialised storage: callers must write every element.
    public init(uninitializedCount count: Int) {
        ensure(count >= 0, "Storage: negative element count \(count)")
        self.count = count
        (pointer, capacity) = Profiler.span(.allocation) { BufferPool.take(count) }
        MemoryStats.allocated(count * 4)
    }

    public convenience init(repeating value: Float, count: Int) {
        self.init(uninitializedCount: count)
        Profiler.span(.allocation) { pointer.update(repeating: value, count: count) }
    }

    deinit {
        Profiler.span(.allocation) { BufferPool.give(pointer, capacity: capacity) }
        MemoryStats.freed(count * 4)
    }
}

/// A kernel's temporary buffer (im2col tiles, per-worker partial sums), counted like tensor memory.
struct Scratch {
    let pointer: UnsafeMutablePointer<Float>
    let count: Int
    private let capacity: Int

    init(_ count: Int) {
        self.count = count
        (pointer, capacity) = BufferPool.take(count)
        MemoryStats.allocated(count * 4)
    }

    init(zeroed count: Int) {
        self.init(count)
        pointer.update(repeating: 0, count: count)
    }

    func free() {
        BufferPool.give(pointer, capacity: capacity)
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

/// Keeps freed large buffers for reuse by later allocations of the same size class, or of a
/// size class down to a quarter as large.
///
/// Training and inference allocate the same activation sizes step after step. Fresh large
/// allocations come from the kernel as untouched pages, and faulting them in costs as much as a
/// fast kernel's work (a ResNet-50 training step at batch 16 faults in gigabytes). So buffers of
/// at least `minimumBytes` are kept when freed and handed out again. Their sizes are rounded up to
/// classes eight to a power of two, so that nearby sizes (a layer's output and a larger layer's
/// scratch) share buffers; the unused tail of a buffer is never written, so it costs no resident memory.
/// When its own class has no buffer, a request takes the smallest pooled buffer of up to four
/// times its size before it asks the system: pages that are already resident serve it, so a
/// forward pass whose layers shrink (a ResNet's stages) runs its later layers in the earlier
/// layers' memory instead of growing the process. On the test machine this took TSN-R50's
/// inference from 167 to 139 MiB above its weights, I3D-R50's from 146 to 82 and SlowFast-R50's
/// from 328 to 167, with the training steps' reuse unchanged.
///
/// How much the pool keeps: by default, as much as keeps the pooled plus the live bytes within
/// the most the live bytes have ever reached, plus half again for buffers that are free at that
/// peak but needed again later (and at least `floorBytes`). A steady loop then finds nearly every
/// buffer in the pool (SlowFast-R50's training step at batch 2: 1266 of 1285), yet the pool stays
/// bounded by what the workload itself has needed at once. A miss that would go over that cap
/// first releases pooled buffers of other sizes. `limitBytes` sets a fixed cap instead.
/// `MemoryStats` counts only buffers in use, not the pool.
public enum BufferPool {
    static let minimumBytes = 256 << 10
    static let floorBytes = 1 << 30
    private static let state = Locked(State())

    struct Block: @unchecked Sendable { let pointer: UnsafeMutablePointer<Float> }

    struct State: @unchecked Sendable {
        var free: [Int: [Block]] = [:]
        var bytes = 0
        var limit: Int?
        var live = 0
        var highWater = 0
        var hits = 0
        var misses = 0

        /// The most the pool may hold now.
        var room: Int { limit ?? max(BufferPool.floorBytes, highWater + highWater / 2) - live }

        /// Releases pooled buffers until `bytes` is at most `target`, largest sizes first.
        mutating func shrink(to target: Int) {
            while bytes > max(0, target), let key = free.keys.max() {
                guard let block = free[key]?.popLast() else { free[key] = nil; continue }
                if free[key]!.isEmpty { free[key] = nil }
                block.pointer.deallocate()
                bytes -= key * 4
            }
        }
    }

    /// A fixed cap on the pooled bytes; nil (the default) lets the pool follow the live high-water mark.
    public static var limitBytes: Int? {
        get { state.withLock { $0.limit } }
        set {
            state.withLock { s in
                s.limit = newValue.map { max(0, $0) }
                s.shrink(to: s.room)
            }
        }
    }

    /// Bytes held for reuse.
    public static var pooledBytes: Int { state.withLock { $0.bytes } }

    /// Large allocations served from the pool, and those that needed fresh memory, since the start.
    public static var hitsAndMisses: (hits: Int, misses: Int) { state.withLock { ($0.hits, $0.misses) } }

    /// Returns every pooled buffer to the system.
    public static func drain() {
        state.withLock { $0.shrink(to: 0) }
    }

    /// `count` rounded up to its size class: the next multiple of an eighth of the power of two below it.
    static func sizeClass(_ count: Int) -> Int {
        let step = max(1, (1 << (Int.bitWidth - 1 - count.leadingZeroBitCount)) >> 3)
        return (count + step - 1) / step * step
    }

    /// A buffer of at least `requested` elements and its capacity, which `give` takes back.
    static func take(_ requested: Int) -> (pointer: UnsafeMutablePointer<Float>, capacity: Int) {
        guard requested * 4 >= minimumBytes else { return (.allocate(capacity: max(requested, 1)), requested) }
        let count = sizeClass(requested)
        let (block, capacity) = state.withLock { s -> (Block?, Int) in
            // Its own class first; else the smallest pooled class up to four times the size.
            let found = s.free[count]?.isEmpty == false ? count
                : s.free.keys.filter { $0 > count && $0 <= 4 * count }.min()
            var block: Block? = nil
            if let found, let b = s.free[found]?.popLast() {
                if s.free[found]!.isEmpty { s.free[found] = nil }
                s.bytes -= found * 4
                block = b
            }
            let capacity = block == nil ? count : found!
            s.live += capacity * 4
            s.highWater = max(s.highWater, s.live)
            if block == nil {
                s.misses += 1
                s.shrink(to: s.room)
            } else {
                s.hits += 1
            }
            return (block, capacity)
        }
        return (block?.pointer ?? .allocate(capacity: capacity), capacity)
    }

    /// Takes back a buffer from `take`, with the capacity `take` gave.
    static func give(_ pointer: UnsafeMutablePointer<Float>, capacity: Int) {
        guard capacity * 4 >= minimumBytes else { pointer.deallocate(); return }
        let count = capacity, bytes = count * 4
        let block = Block(pointer: pointer)
        let kept = state.withLock { s -> Bool in
            s.live -= bytes
            guard s.bytes + bytes <= s.room else { return false }
            s.free[count, default: []].append(block)
            s.bytes += bytes
            return true
        }
        if !kept { pointer.deallocate() }
    }
}
