import Engine
import Foundation
import Video

/// One batch: B × V × C × T × H × W clips (V views per video) with their labels and paths.
public struct ClipBatchResult: @unchecked Sendable {
    public let clips: Tensor
    public let labels: [Int]
    public let paths: [String]
    /// Videos of this batch that failed and were left out.
    public let failed: [LoadFailure]
}

public struct LoadFailure: Error, Sendable, CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String { "\(path): \(reason)" }
}

/// Data loading that overlaps decoding with compute.
///
/// Decode workers fill a bounded queue of `prefetch` batches ahead of the consumer. Every
/// video's random draws come from its own generator, seeded by (seed, epoch, position), and the
/// epoch order from (seed, epoch), so batches are the same whatever the thread timing. A video
/// that fails is retried `retries` times, then left out of its batch and reported; it never
/// stops the epoch.
public final class ClipLoader: @unchecked Sendable {
    public struct Options: Sendable {
        public var batchSize = 8
        public var workers = 2
        public var prefetch = 2
        public var shuffle = true
        public var dropLast = false
        public var seed: UInt64 = 0
        public var retries = 0
        public init() {}
    }

    public let list: AnnotationList
    public let root: DataRoot
    public let recipe: SampleRecipe
    public let options: Options
    /// Called (from a worker thread) for each video that is left out.
    public var onFailure: (@Sendable (LoadFailure) -> Void)?

    public init(list: AnnotationList, root: DataRoot, recipe: SampleRecipe, options: Options) {
        precondition(options.batchSize >= 1 && options.workers >= 1 && options.prefetch >= 1,
                     "ClipLoader: batchSize, workers and prefetch must be ≥ 1")
        self.list = list
        self.root = root
        self.recipe = recipe
        self.options = options
    }

    public var batchesPerEpoch: Int {
        options.dropLast ? list.count / options.batchSize : (list.count + options.batchSize - 1) / options.batchSize
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
    public func epoch(_ epoch: Int) -> BatchStream { BatchStream(loader: self, epoch: epoch) }

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
/// `prefetch` batches are queued for the `workers` decode threads ahead of the consumer.
public final class BatchStream: Sequence, IteratorProtocol, @unchecked Sendable {
    private let loader: ClipLoader
    private let epoch: Int
    private let order: [Int]
    private let batchCount: Int
    // Guarded by `condition`:
    private var slots: [Result<Tensor, LoadFailure>?]
    private var jobs: [Int] = []            // positions waiting for a worker, in order
    private var jobCursor = 0
    private var stopped = false
    private var nextBatch = 0
    private var scheduledBatches = 0
    private let condition = NSCondition()
    private var threads: [Thread] = []

    init(loader: ClipLoader, epoch: Int) {
        self.loader = loader
        self.epoch = epoch
        order = loader.order(epoch: epoch)
        batchCount = loader.batchesPerEpoch
        slots = Array(repeating: nil, count: order.count)
    }

    deinit { cancel() }

    /// Stops the workers once their current video is done.
    public func cancel() {
        condition.lock()
        stopped = true
        condition.broadcast()
        condition.unlock()
    }

    private func positions(ofBatch b: Int) -> Range<Int> {
        let size = loader.options.batchSize
        return (b * size)..<Swift.min(order.count, (b + 1) * size)
    }

    /// Queues the videos of batches up to `limit` (called with the lock held).
    private func schedule(upTo limit: Int) {
        while scheduledBatches < Swift.min(limit, batchCount) {
            jobs += positions(ofBatch: scheduledBatches)
            scheduledBatches += 1
        }
        condition.broadcast()
    }

    private func startWorkers() {
        for w in 0..<loader.options.workers {
            let thread = Thread { [weak self] in self?.work() }
            thread.name = "motive.loader.\(w)"
            threads.append(thread)
            thread.start()
        }
    }

    private func work() {
        while true {
            condition.lock()
            while !stopped && jobCursor == jobs.count { condition.wait() }
            if stopped { condition.unlock(); return }
            let position = jobs[jobCursor]
            jobCursor += 1
            condition.unlock()
            let result = loader.loadItem(position, epoch: epoch, index: order[position])
            condition.lock()
            slots[position] = result
            condition.broadcast()
            condition.unlock()
        }
    }

    public func next() -> ClipBatchResult? {
        condition.lock()
        if threads.isEmpty && batchCount > 0 { startWorkers() }
        while nextBatch < batchCount {
            let b = nextBatch
            nextBatch += 1
            schedule(upTo: b + 1 + loader.options.prefetch)
            let range = positions(ofBatch: b)
            while range.contains(where: { slots[$0] == nil }) { condition.wait() }
            let results = range.map { slots[$0]! }
            for p in range { slots[p] = nil }     // the batch's tensors now belong to the consumer
            condition.unlock()
            var clips: [Tensor] = [], labels: [Int] = [], paths: [String] = [], failed: [LoadFailure] = []
            for (position, result) in zip(range, results) {
                let item = loader.list.items[order[position]]
                switch result {
                case .success(let t): clips.append(t); labels.append(item.label); paths.append(item.path)
                case .failure(let f): failed.append(f)
                }
            }
            if !clips.isEmpty {
                if nextBatch == batchCount { cancel() }
                return ClipBatchResult(clips: ClipBatch.stack(clips), labels: labels, paths: paths, failed: failed)
            }
            condition.lock()   // a batch of only bad videos is skipped, never fatal
        }
        condition.unlock()
        cancel()
        return nil
    }
}
