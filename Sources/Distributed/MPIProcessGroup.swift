import CMPI
import Foundation
import Support
import Training
#if canImport(Glibc)
import Glibc
#endif

/// The processes that `mpirun` started, joined by Open MPI: Training's `ProcessGroup` over
/// MPI_COMM_WORLD.
///
/// Every collective is non-blocking underneath and waited for with a deadline (`timeout`), so a
/// process that is alive but stuck cannot hang the others for ever. To name the late process,
/// each process tells rank 0 which collective it has reached (a small message, before joining
/// it), and rank 0 tells rank 1: on a timeout rank 0 names every process that has not arrived,
/// and rank 1 names rank 0 when rank 0 is the one missing.
///
/// One thread at a time calls it (MPI_THREAD_SERIALIZED): the training loop's.
public final class MPIProcessGroup: ProcessGroup, @unchecked Sendable {
    public let rank: Int
    public let size: Int
    /// Seconds a collective waits for every process.
    public var timeout: Double
    /// Collectives started so far: the number each process reports on reaching the next one.
    private var sequence: Int64 = 0
    /// The last collective each process reported reaching (rank 0 hears from all, rank 1 from 0).
    private var arrived: [Int64]
    /// Arrival messages in flight, with the buffers they send from.
    private var sends: [(request: motive_mpi_request?, value: UnsafeMutablePointer<Int64>)] = []
    private static let arrivalTag: Int32 = 0x4D4F

    /// Starts MPI in a process that `mpirun` launched. Call once, before any other thread could.
    public init(timeout: Double = DistributedSection().timeout) throws {
        var provided: Int32 = 0
        try Self.check(motive_mpi_init(&provided), "MPI_Init_thread")
        guard provided >= 2 else {
            throw DistributedError.mpi(call: "MPI_Init_thread", message: "this MPI grants thread level \(provided); Motive needs MPI_THREAD_SERIALIZED (2)")
        }
        rank = Int(motive_mpi_rank())
        size = Int(motive_mpi_size())
        self.timeout = timeout
        arrived = Array(repeating: 0, count: size)
    }

    deinit {
        for send in sends { send.value.deallocate() }
    }

    /// Ends MPI cleanly: waits for the others, then MPI_Finalize. A stop request that comes now
    /// (the daemon repeats its SIGUSR1 until mpirun exits, and mpirun passes each on) must not
    /// kill a process that has stopped and only waits for the others: the run's handlers are
    /// gone by now, so the stop signals are ignored from here.
    public func finish() {
        for sig in DistributedTraining.stopSignals { signal(sig, SIG_IGN) }
        try? wait(label: "the end of the run") { request in motive_mpi_ibarrier(&request) }
        drainSends(force: true)
        _ = motive_mpi_finalize()
    }

    /// Ends every process of the job at once (MPI_Abort), with `code` as mpirun's exit status.
    public func abort(code: Int32) -> Never {
        motive_mpi_abort(code)
        exit(code)
    }

    // MARK: ProcessGroup

    public func sum(_ buffers: [UnsafeMutableBufferPointer<Float>], what: String) throws {
        try wait(label: what, starts: buffers.filter { $0.count > 0 }.map { buffer in
            { request in motive_mpi_iallreduce_float_sum(buffer.baseAddress, Int32(buffer.count), &request) }
        })
    }

    public func sum(_ values: UnsafeMutableBufferPointer<Double>, what: String) throws {
        guard values.count > 0 else { return }
        try wait(label: what) { request in motive_mpi_iallreduce_double_sum(values.baseAddress, Int32(values.count), &request) }
    }

    public func broadcast(_ buffers: [UnsafeMutableRawBufferPointer], from root: Int, what: String) throws {
        try wait(label: what, starts: buffers.filter { $0.count > 0 }.map { buffer in
            { request in motive_mpi_ibcast_bytes(buffer.baseAddress, Int32(buffer.count), Int32(root), &request) }
        })
    }

    public func allGather(_ value: UInt64, what: String) throws -> [UInt64] {
        var mine = value
        var all = [UInt64](repeating: 0, count: size)
        try all.withUnsafeMutableBufferPointer { out in
            let target = out.baseAddress
            try withUnsafePointer(to: &mine) { source in
                try wait(label: what) { request in motive_mpi_iallgather_u64(source, target, &request) }
            }
        }
        return all
    }

    public func gather(_ bytes: [UInt8], to root: Int, what: String) throws -> [[UInt8]]? {
        let counts = try allGather(UInt64(bytes.count), what: what + " (sizes)").map { Int($0) }
        guard counts.reduce(0, +) < Int(Int32.max) else {
            throw DistributedError.mpi(call: "MPI_Igatherv", message: "\(what) is \(counts.reduce(0, +)) bytes, above MPI's 2 GiB message limit")
        }
        var displacements = [Int32](repeating: 0, count: size)
        for i in 1..<max(size, 1) { displacements[i] = displacements[i - 1] + Int32(counts[i - 1]) }
        let counts32 = counts.map(Int32.init)
        var received = [UInt8](repeating: 0, count: rank == root ? counts.reduce(0, +) : 0)
        try bytes.withUnsafeBufferPointer { send in
            try received.withUnsafeMutableBufferPointer { receive in
                let target = receive.baseAddress
                try counts32.withUnsafeBufferPointer { c in
                    try displacements.withUnsafeBufferPointer { d in
                        try wait(label: what) { request in
                            motive_mpi_igatherv_bytes(send.baseAddress, Int32(send.count), target, c.baseAddress, d.baseAddress,
                                                      Int32(root), &request)
                        }
                    }
                }
            }
        }
        guard rank == root else { return nil }
        return (0..<size).map { i in Array(received[Int(displacements[i])..<Int(displacements[i]) + counts[i]]) }
    }

    // MARK: Waiting with a deadline

    private func wait(label: String, start: @escaping (inout motive_mpi_request?) -> Int32) throws {
        try wait(label: label, starts: [start])
    }

    /// Reports arrival, starts every request, and polls them until all are done or the timeout
    /// passes. Polling also drives MPI's progress, which non-blocking collectives need.
    private func wait(label: String, starts: [(inout motive_mpi_request?) -> Int32]) throws {
        sequence += 1
        announceArrival()
        var requests = [motive_mpi_request?](repeating: nil, count: starts.count)
        for (i, start) in starts.enumerated() { try Self.check(start(&requests[i]), label) }
        var pending = Set(requests.indices)
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(timeout * 1e9)
        var polls = 0
        while !pending.isEmpty {
            for i in pending {
                var done: Int32 = 0
                try Self.check(motive_mpi_test(&requests[i], &done), label)
                if done != 0 { pending.remove(i) }
            }
            if pending.isEmpty { break }
            collectArrivals()
            if DispatchTime.now().uptimeNanoseconds > deadline {
                collectArrivals()
                throw DistributedError.timeout(what: label, seconds: timeout, rank: rank, late: lateRanks())
            }
            polls += 1
            // Spin briefly (a fast allreduce finishes in microseconds), then let the core go.
            if polls > 200 { usleep(polls > 2000 ? 500 : 50) }
        }
        collectArrivals()
        drainSends(force: false)
    }

    /// Tells rank 0 (and rank 0 tells rank 1) which collective this process has reached.
    private func announceArrival() {
        guard size > 1 else { return }
        let target = rank == 0 ? 1 : 0
        let value = UnsafeMutablePointer<Int64>.allocate(capacity: 1)
        value.pointee = sequence
        var request: motive_mpi_request?
        if motive_mpi_isend_i64(value, Int32(target), Self.arrivalTag, &request) == motive_mpi_success() {
            sends.append((request, value))
        } else {
            value.deallocate()
        }
    }

    private func collectArrivals() {
        guard rank <= 1 else { return }
        for _ in 0..<(size * 4) {
            var found: Int32 = 0, source: Int32 = 0, value: Int64 = 0
            guard motive_mpi_poll_i64(Self.arrivalTag, &found, &source, &value) == motive_mpi_success(), found != 0 else { return }
            if (0..<size).contains(Int(source)) { arrived[Int(source)] = max(arrived[Int(source)], value) }
        }
    }

    /// Frees the arrival messages that have gone (all of them, waiting up to a second, when forced).
    private func drainSends(force: Bool) {
        let deadline = DispatchTime.now().uptimeNanoseconds + 1_000_000_000
        repeat {
            sends.removeAll { send in
                var request = send.request, done: Int32 = 0
                guard motive_mpi_test(&request, &done) == motive_mpi_success(), done != 0 else { return false }
                send.value.deallocate()
                return true
            }
            if sends.isEmpty || !force { return }
            usleep(1000)
        } while DispatchTime.now().uptimeNanoseconds < deadline
    }

    private func lateRanks() -> [Int] {
        switch rank {
        case 0: return (1..<size).filter { arrived[$0] < sequence }
        case 1: return arrived[0] < sequence ? [0] : []
        default: return []
        }
    }

    private static func check(_ code: Int32, _ call: String) throws {
        guard code != motive_mpi_success() else { return }
        var text = [CChar](repeating: 0, count: 512)
        motive_mpi_error_string(code, &text, Int32(text.count))
        throw DistributedError.mpi(call: call, message: String(cString: text))
    }
}
