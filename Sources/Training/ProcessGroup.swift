import Engine
import Foundation
import NN

/// The processes of one training job, one per rank, on one machine or several, and the
/// collectives that join them. `MPIProcessGroup` (target Distributed) is the real one; Training
/// knows only this protocol, so nothing but the distributed code links MPI.
///
/// Every process calls the same collectives in the same order. Each call names `what` it is
/// doing ("gradients of step 12"), for the error when a process does not arrive in time.
public protocol ProcessGroup: AnyObject, Sendable {
    var rank: Int { get }
    var size: Int { get }
    /// Seconds a collective waits for every process (the job's `distributed.timeout`).
    var timeout: Double { get set }
    /// Sums every buffer over the processes, in place, on every process. All of them are sent
    /// before the first is waited for, so that buckets travel while later ones are packed.
    func sum(_ buffers: [UnsafeMutableBufferPointer<Float>], what: String) throws
    func sum(_ values: UnsafeMutableBufferPointer<Double>, what: String) throws
    /// Overwrites every buffer with process `root`'s bytes.
    func broadcast(_ buffers: [UnsafeMutableRawBufferPointer], from root: Int, what: String) throws
    /// Every process's value, in rank order.
    func allGather(_ value: UInt64, what: String) throws -> [UInt64]
    /// Process `root` receives every process's bytes in rank order; the others get nil.
    func gather(_ bytes: [UInt8], to root: Int, what: String) throws -> [[UInt8]]?
}

extension ProcessGroup {
    /// Sums a few numbers over the processes.
    public func sum(_ values: [Double], what: String) throws -> [Double] {
        var values = values
        try values.withUnsafeMutableBufferPointer { try sum($0, what: what) }
        return values
    }

    /// Copies process 0's tensors (parameters and buffers) into every other process's.
    public func broadcast(_ tensors: [Tensor], what: String) throws {
        let buffers = tensors.map { UnsafeMutableRawBufferPointer(start: $0.data, count: $0.count * MemoryLayout<Float>.stride) }
        // Bounded messages: MPI counts are 32-bit, and smaller pieces pipeline.
        var pieces: [UnsafeMutableRawBufferPointer] = []
        for buffer in buffers {
            var offset = 0
            while offset < buffer.count {
                let end = min(buffer.count, offset + DistributedTraining.bucketBytes)
                pieces.append(UnsafeMutableRawBufferPointer(rebasing: buffer[offset..<end]))
                offset = end
            }
        }
        try broadcast(pieces, from: 0, what: what)
    }
}

/// What a trainer does differently when it is one of several processes.
public enum DistributedTraining {
    /// Gradients travel in buckets of about this many bytes.
    public static let bucketBytes = 16 << 20

    /// Signals that ask a distributed run to stop after the current step: SIGINT and SIGTERM as
    /// for one process, and SIGUSR1, which `mpirun` passes on to every process at once (it
    /// passes SIGTERM on only after `odls_base_sigkill_timeout` seconds, then kills).
    public static let stopSignals: [Int32] = [SIGINT, SIGTERM, SIGUSR1]

    /// A 64-bit FNV-1a hash of the config as it resolved (keys sorted), compared across processes
    /// at start so that processes given different configs are refused.
    public static func fingerprint(_ config: JobConfig) -> UInt64 {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let bytes = (try? encoder.encode(config)) ?? Data()
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        return hash
    }

    /// Averages the processes' gradients of `parameters`, weighting each process by the samples
    /// it trained on since the last optimizer step (so a process whose videos failed to load
    /// counts for less), and agrees on whether to stop. Returns the samples over all processes
    /// (0: nobody had any, so there is no step to take) and whether any process asked to stop.
    ///
    /// One collective carries it all: the gradients, scaled by the local sample count, packed
    /// into buckets, with the count and the stop flag at the end of the last bucket.
    static func averageGradients(_ parameters: [Tensor], samples: Int, stop: Bool, group: any ProcessGroup,
                                 what: String) throws -> (samples: Int, stop: Bool) {
        let bucketFloats = bucketBytes / MemoryLayout<Float>.stride
        var layout: [[(parameter: Int, offset: Int)]] = [[]]
        var sizes = [0]
        for (i, p) in parameters.enumerated() {
            if sizes[sizes.count - 1] > 0 && sizes[sizes.count - 1] + p.count > bucketFloats {
                layout.append([])
                sizes.append(0)
            }
            layout[layout.count - 1].append((i, sizes[sizes.count - 1]))
            sizes[sizes.count - 1] += p.count
        }
        sizes[sizes.count - 1] += 2                          // samples, stop
        let buckets = sizes.map { UnsafeMutableBufferPointer<Float>.allocate(capacity: $0) }
        defer { for b in buckets { b.deallocate() } }
        let weight = Float(samples)
        for (b, entries) in layout.enumerated() {
            let out = buckets[b].baseAddress!
            for (i, offset) in entries {
                let p = parameters[i]
                if let g = p.grad, samples > 0 {
                    ensure(g.count == p.count, "averageGradients: parameter \(i) has \(g.count) gradient entries for \(p.count) values")
                    let src = g.data
                    for j in 0..<p.count { out[offset + j] = src[j] * weight }
                } else {
                    (out + offset).update(repeating: 0, count: p.count)
                }
            }
        }
        let last = buckets[buckets.count - 1]
        last[last.count - 2] = Float(samples)
        last[last.count - 1] = stop ? 1 : 0
        try group.sum(buckets, what: what)
        let total = Int(last[last.count - 2].rounded())
        let agreedStop = last[last.count - 1] > 0
        guard total > 0 else {
            for p in parameters { p.zeroGrad() }
            return (0, agreedStop)
        }
        let scale = 1 / Float(total)
        for (b, entries) in layout.enumerated() {
            let src = buckets[b].baseAddress!
            for (i, offset) in entries {
                let p = parameters[i]
                if p.grad == nil { p.grad = Tensor.zeros(p.shape) }
                let g = p.grad!.data
                for j in 0..<p.count { g[j] = src[offset + j] * scale }
            }
        }
        return (total, agreedStop)
    }
}

/// `train.sync_bn`: the model's batch norms sum their statistics through the group. A failed
/// collective (a timeout) cannot be thrown from inside a forward pass: it is kept, the later
/// calls of the step return at once, and the trainer throws it after the step.
final class GroupStatisticsSync: BatchStatisticsSync, @unchecked Sendable {
    let group: any ProcessGroup
    private(set) var failure: (any Error)?
    /// What the trainer is doing, for the timeout's message.
    var what = "training"

    init(group: any ProcessGroup) { self.group = group }

    func sum(_ values: UnsafeMutableBufferPointer<Double>) {
        guard failure == nil else { return }
        do { try group.sum(values, what: "the synchronised batch-norm statistics of \(what)") } catch { failure = error }
    }

    func check() throws {
        if let failure { throw failure }
    }
}

/// Why a distributed run cannot go on.
public enum DistributedError: Error, CustomStringConvertible, Equatable {
    /// A collective waited longer than the timeout. `late` names the processes known not to have
    /// reached it (process 0 knows them all; process 1 knows whether process 0 came).
    case timeout(what: String, seconds: Double, rank: Int, late: [Int])
    case configMismatch(ranks: [Int])
    case processCount(config: Int, running: Int)
    case resumeProcessCount(checkpoint: Int, running: Int)
    case notUnderMPI(processes: Int)
    case mpi(call: String, message: String)

    public var description: String {
        switch self {
        case .timeout(let what, let seconds, let rank, let late):
            let who = late.isEmpty ? "the other processes did not" : (late.count == 1 ? "rank \(late[0]) did not" : "ranks \(late.map(String.init).joined(separator: ", ")) did not")
            return "rank \(rank): \(who) reach \(what) within \(String(format: "%g", seconds)) s "
                + "(distributed.timeout); the run stops. A rank that is alive but stuck is the usual cause: a hung data read, a stopped process, a lost network link"
        case .configMismatch(let ranks):
            return "ranks \(ranks.map(String.init).joined(separator: ", ")) resolved a different config from rank 0 "
                + "(different files, --set overrides or paths on each host); every process must train the same job"
        case .processCount(let config, let running):
            return "the config asks for distributed.processes: \(config), but \(running) processes are running (mpirun -np)"
        case .resumeProcessCount(let checkpoint, let running):
            return "the checkpoint was written mid-epoch by a run of \(checkpoint) process\(checkpoint == 1 ? "" : "es"); "
                + "resume it on \(checkpoint) (mpirun -np \(checkpoint)), not \(running)"
        case .notUnderMPI(let processes):
            return "the config asks for distributed.processes: \(processes); run it with mpirun -np \(processes) motive train …, or submit it to the daemon"
        case .mpi(let call, let message): return "\(call) failed: \(message)"
        }
    }
}
