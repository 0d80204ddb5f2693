import Dispatch
import Engine
import NN
import Zoo

/// How a training step uses the cores.
public enum ComputeMode: String, Codable, Sendable, CaseIterable {
    /// One model; every op splits its work over the cores (im2col tiles, GEMM rows, elementwise ranges).
    case intraOp = "intra_op"
    /// One replica per core, each on its share of the batch with single-threaded ops; the
    /// gradients are summed into the first replica and the weights copied back after the step.
    case dataParallel = "data_parallel"
}

/// Combines the gradients of replicas that each saw part of a batch.
///
/// `shards[r][p]` is replica r's gradient of parameter p (nil when it has none), already weighted
/// by the replica's share of the batch. On return `shards[0]` holds the sum over all replicas.
/// An implementation that talks to other machines would sum locally, all-reduce `shards[0]`
/// with its peers, and leave the result there: the trainer needs nothing else.
public protocol GradientReducer: Sendable {
    func reduce(_ shards: [[Tensor?]])
}

/// Sums replica gradients in memory, parameter by parameter, in a fixed order (so the result
/// does not depend on thread timing).
public struct LocalSumReducer: GradientReducer {
    public init() {}

    public func reduce(_ shards: [[Tensor?]]) {
        guard let first = shards.first else { return }
        Parallel.forRanges(first.count) { range in
            for p in range {
                guard let target = first[p] else { continue }
                let n = target.count, out = target.data
                for shard in shards.dropFirst() {
                    guard let g = shard[p] else { continue }
                    ensure(g.count == n, "LocalSumReducer: parameter \(p) has \(g.count) and \(n) gradient entries")
                    let src = g.data
                    for i in 0..<n { out[i] += src[i] }
                }
            }
        }
    }
}

/// The replicas of a data-parallel step: the primary model (which the optimizer updates) and
/// one copy per extra core, kept equal to it.
final class Replicas: @unchecked Sendable {
    let models: [VideoModel]
    let reducer: any GradientReducer

    init(primary: VideoModel, preset: ModelPreset, classes: Int, count: Int, reducer: any GradientReducer) {
        models = [primary] + (1..<max(count, 1)).map { _ in preset.build(classes: classes) }
        self.reducer = reducer
        synchronize()
    }

    /// Copies the primary's parameters and buffers (BN statistics included) into the others.
    func synchronize() {
        let source = models[0].stateDict()
        for replica in models.dropFirst() {
            for ((_, target), (_, value)) in zip(replica.stateDict(), source) { target.assign(value) }
            replica.train(models[0].isTraining)
        }
    }

    /// Forward and backward over the batch split along N, one replica per part, each on one
    /// thread; the summed gradients land on the primary. `loss` maps a part's logits and sample
    /// range to its mean loss. Returns the logits in batch order and the batch's mean loss.
    func step(_ input: Tensor, seed: UInt64, loss: @escaping (Tensor, Range<Int>) -> Tensor) -> (logits: Tensor, loss: Float) {
        let n = input.shape[0], parts = min(models.count, n)
        let bounds = (0...parts).map { n * $0 / parts }
        var logits = [Tensor?](repeating: nil, count: parts)
        var losses = [Float](repeating: 0, count: parts)
        let inputBox = UnsafeSendable(input), lossBox = UnsafeSendable(loss)
        logits.withUnsafeMutableBufferPointer { logitsOut in
            losses.withUnsafeMutableBufferPointer { lossOut in
                let logitsBox = UnsafeSendable(logitsOut), lossesBox = UnsafeSendable(lossOut)
                DispatchQueue.concurrentPerform(iterations: parts) { r in
                    let range = bounds[r]..<bounds[r + 1]
                    let share = Float(range.count) / Float(n)
                    Parallel.serially {
                        GlobalRandom.withSeed(seed &+ UInt64(r) &* 0x9E37_79B9_7F4A_7C15) {
                            let y = models[r](inputBox.value.sliced(axis: 0, start: range.lowerBound, end: range.upperBound))
                            let l = lossBox.value(y, range)
                            if l.item.isFinite { (l * share).backward() }
                            logitsBox.value[r] = y.detached()
                            lossesBox.value[r] = l.item * share
                        }
                    }
                }
            }
        }
        let shards = models.prefix(parts).map { model in model.parameters().map(\.grad) }
        reducer.reduce(shards)
        for replica in models.dropFirst() { for p in replica.parameters() { p.zeroGrad() } }
        return (Tensor.concat(logits.map { $0! }, axis: 0), losses.reduce(0, +))
    }
}
