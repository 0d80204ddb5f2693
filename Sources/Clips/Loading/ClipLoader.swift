import Dispatch
import Engine
import Foundation
import Video

/// One batch: B × V × C × T × H × W clips (V views per video) with their labels and paths.
public struct ClipBatchResult: Sendable {
    public let clips: Tensor
    public let labels: [Int]
    public let paths: [String]
    /// Videos of this batch that failed and were left out.
    public let failed: [LoadFailure]
    /// Worker time spent decoding and transforming this batch's videos (failed ones included),
    /// summed over videos: what decoding costs, whether or not it overlapped the consumer.
    public let decodeSeconds: Double
}

public struct LoadFailure: Error, Sendable, CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String { "\(path): \(reason)" }
    public init(path: String, reason: String) { (self.path, self.reason) = (path, reason) }
}

/// Data loading that overlaps decoding with compute.
///
/// Decode workers fill a bounded queue of `prefetch` batches ahead of the consumer. Every
/// video's random draws come from its own generator, seeded by (seed, epoch, position), and the
/// epoch order from (seed, epoch), so batches are the same whatever the thread timing. A video
/// that fails is retried `retries` times, then left out of its batch and reported; it never
/// stops the epoch.
public final class ClipLoader: Sendable {
    public struct Options: Sendable {
        public var batchSize = 8
        public var workers = 2
        public var prefetch = 2
        public var shuffle = true
        public var dropLast = false
        public var seed: UInt64 = 0
        public var retries = 0
        /// Read only this process's share of each epoch (training on several processes).
        public var shard: Shard?
        public init() {}
    }

    /// One process's share of an epoch, as PyTorch's `DistributedSampler` deals it: the epoch's
    /// order (the same on every process) is padded with its own beginning to a multiple of
    /// `count`, and process `index` takes positions index, index + count, … So every process has
    /// as many videos, and each video keeps the random draws it would have in one process.
    public struct Shard: Sendable, Equatable {
        public var index: Int
        public var count: Int
        public init(index: Int, count: Int) {
            precondition(count >= 1 && (0..<count).contains(index), "ClipLoader.Shard: index \(index) of \(count)")
            (self.index, self.count) = (index, count)
        }
    }

    public let list: AnnotationList
    public let root: DataRoot
    public let recipe: SampleRecipe
    public let options: Options
    /// Called (from a worker thread) for each video that is left out.
    public let onFailure: (@Sendable (LoadFailure) -> Void)?

    public init(list: AnnotationList, root: DataRoot, recipe: SampleRecipe, options: Options,
                onFailure: (@Sendable (LoadFailure) -> Void)? = nil) {
        precondition(options.batchSize >= 1 && options.workers >= 1 && options.prefetch >= 1,
                     "ClipLoader: batchSize, workers and prefetch must be ≥ 1")
        self.list = list
        self.root = root
        self.recipe = recipe
        self.options = options
        self.onFailure = onFailure
    }

    /// Videos this process reads per epoch.
    public var videosPerEpoch: Int {
        guard let shard = options.shard else { return list.count }
        return (list.count + shard.count - 1) / shard.count
    }

    public var batchesPerEpoch: Int {
        options.dropLast ? videosPerEpoch / options.batchSize : (videosPerEpoch + options.batchSize - 1) / options.batchSize
    }

    /// The video order of `epoch`.
    public func order(epoch: Int) -> [Int] {
        var order = Array(0..<list.count)
        if options.shuffle {
            var rng = Xoshiro(seed: options.seed &+ UInt64(epoch) &* 0x2545_F491_4F6C_DD1D)
            for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
        }
        return order
    }

    /// The batches of one epoch, decoded ahead on the workers.
    /// `skipping` leaves out the epoch's first batches without decoding them (a resumed epoch).
    public func epoch(_ epoch: Int, skipping: Int = 0) -> BatchStream { BatchStream(loader: self, epoch: epoch, skipping: skipping) }

    /// What this process reads in `epoch`, in order: each video's list index, and its position
    /// in the whole epoch (which seeds its random draws).
    func share(epoch: Int) -> (indices: [Int], positions: [Int]) {
        let order = order(epoch: epoch)
        guard let shard = options.shard, !order.isEmpty else { return (order, Array(order.indices)) }
        let positions = Array(stride(from: shard.index, to: videosPerEpoch * shard.count, by: shard.count))
        return (positions.map { order[$0 % order.count] }, positions)
    }

    /// Loads one video with its own generator; retries per the options.
    func loadItem(_ position: Int, epoch: Int, index: Int) -> Result<Tensor, LoadFailure> {
        let item = list.items[index]
        var lastError = ""
        for attempt in 0...options.retries {
            var rng = Xoshiro(seed: options.seed ^ (UInt64(epoch) << 40) ^ (UInt64(position) << 8) ^ UInt64(attempt))
            do { return .success(try recipe.load(item, root: root, using: &rng)) } catch { lastError = "\(error)" }
        }
        let failure = LoadFailure(path: item.path, reason: lastError)
        onFailure?(failure)
        return .failure(failure)
    }
}

/// Batches of one epoch, in order. Iterating blocks until the next batch is ready; at most
/// `prefetch` batches are queued for the `workers` decode loops ahead of the consumer.
/// Dropping the stream (or finishing it) stops the workers, and waits for those still decoding
/// a video to finish it: a run stopped mid-epoch must not exit, and run the process's exit
/// handlers, beside a decoder (that corrupted the heap of MPI ranks stopped by a signal).
public final class BatchStream: Sequence, IteratorProtocol {
    private let loader: ClipLoader
    let work: WorkQueue
    private let batchCount: Int
    private var nextBatch = 0
    /// Failures of batches that had no good video, reported with the next batch returned.
    private var carried: [LoadFailure] = []
    private var carriedSeconds = 0.0
    /// Failures no returned batch carried (the epoch's last batches failed whole): read once
    /// iteration has ended.
    public private(set) var unreported: [LoadFailure] = []
    private var scheduledBatches = 0
    private var started = false

    init(loader: ClipLoader, epoch: Int, skipping: Int) {
        self.loader = loader
        batchCount = loader.batchesPerEpoch
        nextBatch = Swift.min(Swift.max(skipping, 0), batchCount)
        scheduledBatches = nextBatch
        let share = loader.share(epoch: epoch)
        work = WorkQueue(loader: loader, epoch: epoch, order: share.indices, seeds: share.positions)
    }

    deinit { work.stop() }

    private func positions(ofBatch b: Int) -> Range<Int> {
        let size = loader.options.batchSize
        return (b * size)..<Swift.min(work.order.count, (b + 1) * size)
    }

    public func next() -> ClipBatchResult? {
        if !started && batchCount > 0 {
            started = true
            work.start(workers: loader.options.workers)
        }
        while nextBatch < batchCount {
            let b = nextBatch
            nextBatch += 1
            var queued: [Int] = []
            while scheduledBatches < Swift.min(b + 1 + loader.options.prefetch, batchCount) {
                queued += positions(ofBatch: scheduledBatches)
                scheduledBatches += 1
            }
            work.enqueue(queued)
            let range = positions(ofBatch: b)
            let (results, seconds) = work.take(range)
            var clips: [Tensor] = [], labels: [Int] = [], paths: [String] = [], failed = carried
            carried = []
            for (position, result) in zip(range, results) {
                let item = loader.list.items[work.order[position]]
                switch result {
                case .success(let t): clips.append(t); labels.append(item.label); paths.append(item.path)
                case .failure(let f): failed.append(f)
                }
            }
            // A batch of only bad videos is skipped, never fatal; its failures go with the next one.
            // A shard returns it empty (clips of shape [0]) instead: every process of a
            // distributed run must take the same number of steps.
            if !clips.isEmpty || loader.options.shard != nil {
                if nextBatch == batchCount { work.stop() }
                let decodeSeconds = carriedSeconds + seconds
                carriedSeconds = 0
                return ClipBatchResult(clips: ClipBatch.stack(clips), labels: labels, paths: paths, failed: failed,
                                       decodeSeconds: decodeSeconds)
            }
            carried = failed
            carriedSeconds += seconds
        }
        work.stop()
        unreported += carried
        carried = []
        return nil
    }
}

/// The jobs and results shared by a stream and its workers. Workers hold this, not the stream,
/// so a stream that is dropped half-way is freed and stops them.
final class WorkQueue: @unchecked Sendable {
    let loader: ClipLoader
    let epoch: Int
    let order: [Int]
    /// Each position's place in the whole epoch, which seeds its draws.
    let seeds: [Int]
    private let condition = NSCondition()
    private var slots: [Result<Tensor, LoadFailure>?]
    /// Seconds each position took to load.
    private var seconds: [Double]
    private var jobs: [Int] = []
    private var cursor = 0
    private var stopped = false
    /// Worker loops that have not returned yet.
    private var running = 0

    init(loader: ClipLoader, epoch: Int, order: [Int], seeds: [Int]) {
        self.loader = loader
        self.epoch = epoch
        self.order = order
        self.seeds = seeds
        slots = Array(repeating: nil, count: order.count)
        seconds = Array(repeating: 0, count: order.count)
    }

    /// Each worker is a long-running loop on a Dispatch queue of its own.
    func start(workers: Int) {
        condition.lock()
        running += workers
        condition.unlock()
        for w in 0..<workers {
            DispatchQueue(label: "motive.loader.\(w)", qos: .userInitiated).async { [self] in run() }
        }
    }

    func enqueue(_ positions: [Int]) {
        guard !positions.isEmpty else { return }
        condition.lock()
        jobs += positions
        condition.broadcast()
        condition.unlock()
    }

    /// Waits for every position in `range`, then hands the results over (and forgets them),
    /// with the seconds they took to load in all.
    func take(_ range: Range<Int>) -> (results: [Result<Tensor, LoadFailure>], seconds: Double) {
        condition.lock()
        defer { condition.unlock() }
        while range.contains(where: { slots[$0] == nil }) { condition.wait() }
        let results = range.map { slots[$0]! }
        for p in range { slots[p] = nil }
        return (results, range.reduce(0) { $0 + seconds[$1] })
    }

    /// Worker loops still running (for tests).
    var runningWorkers: Int {
        condition.lock()
        defer { condition.unlock() }
        return running
    }

    /// Stops the workers and returns once none is left running: one still loading an item
    /// finishes that item first.
    func stop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        while running > 0 { condition.wait() }
        condition.unlock()
    }

    private func run() {
        while true {
            condition.lock()
            while !stopped && cursor == jobs.count { condition.wait() }
            if stopped {
                running -= 1
                condition.broadcast()
                condition.unlock()
                return
            }
            let position = jobs[cursor]
            cursor += 1
            condition.unlock()
            let start = DispatchTime.now().uptimeNanoseconds
            let result = loader.loadItem(seeds[position], epoch: epoch, index: order[position])
            let took = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            condition.lock()
            slots[position] = result
            seconds[position] = took
            condition.broadcast()
            condition.unlock()
        }
    }
}
