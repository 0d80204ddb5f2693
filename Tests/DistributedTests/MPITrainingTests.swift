import Foundation
import Synth
import Testing
import Video
@testable import Inference
@testable import Training
#if canImport(Glibc)
import Glibc
#endif

/// `mpirun -np 2 motive train` on this machine, over loopback: the same weights as one process
/// with the same global batch, exact resumes, and runs that end (never hang) when a rank dies or
/// stops answering.
///
/// The model is TimeSformer-tiny: it has no batch norm (layer norm only) and no dropout, so two
/// processes of two videos and one process of two accumulated pairs compute the same gradients.
@Suite(.serialized) struct MPITrainingTests {
    static let root: URL = {
        FFmpegLogLevel.error.apply()
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("motive-mpi-\(getpid())")
        var o = SynthOptions()
        o.classes = 2; o.perClass = 8; o.frames = 8; o.size = 64; o.seed = 11; o.valFraction = 0
        _ = try! SynthDataset.generate(into: url.path, options: o)
        return url
    }()

    func scratch() -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("mpi-\(UUID().uuidString.prefix(8))")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// A job of 16 videos, two per batch, with the default (random) training pipeline: each
    /// video's crop and flip are drawn from its place in the epoch, whichever process reads it.
    func job(in folder: URL, epochs: Int, preset: String = "timesformer_tiny", extra: String = "") throws -> URL {
        let list = Self.root.appendingPathComponent("train.txt").path
        let file = folder.appendingPathComponent("job.yaml")
        try """
        model: {preset: \(preset), dropout: 0}
        data:
          train_list: \(list)
          val_list: \(list)
          batch_size: 2
          workers: 1
          sampler: {clip_len: 8, frame_interval: 1, num_clips: 1}
        optimizer: {type: sgd, lr: 0.05, momentum: 0.9, weight_decay: 0.0001}
        schedule: {epochs: \(epochs), policy: constant}
        train: {seed: 7}
        \(extra)
        """.write(to: file, atomically: true, encoding: .utf8)
        return file
    }

    func mpirun(_ arguments: [String], processes: Int = 2, killAfter: Double = 5) -> [String] {
        // Root needs --allow-run-as-root (CI runs as root); --oversubscribe lets 2 ranks share fewer
        // cores; --bind-to none leaves each rank's decode threads free to move.
        ["--allow-run-as-root", "--oversubscribe", "--bind-to", "none", "--mca", "odls_base_sigkill_timeout", String(killAfter),
         "-np", String(processes)] + arguments
    }

    func weights(_ checkpoint: URL) throws -> [String: [Float]] {
        try Checkpoint.read(checkpoint).model.mapValues(\.scalars)
    }

    /// The largest ‖a − b‖ / ‖a‖ over the tensors of two checkpoints.
    func relativeDistance(_ a: [String: [Float]], _ b: [String: [Float]]) throws -> Double {
        try #require(Set(a.keys) == Set(b.keys))
        var worst = 0.0
        for (key, x) in a {
            let y = b[key]!
            try #require(x.count == y.count, "\(key)")
            var diff = 0.0, norm = 0.0
            for i in x.indices { diff += Double(x[i] - y[i]) * Double(x[i] - y[i]); norm += Double(x[i]) * Double(x[i]) }
            if norm > 0 { worst = max(worst, (diff / norm).squareRoot()) }
        }
        return worst
    }

    @Test func twoProcessesMatchOneWithTheSameGlobalBatch() throws {
        let folder = scratch()
        defer { try? FileManager.default.removeItem(at: folder) }
        let job = try job(in: folder, epochs: 1)
        let motive = try Tool.motive()
        let distributed = folder.appendingPathComponent("mpi"), single = folder.appendingPathComponent("one")
        let accumulated = folder.appendingPathComponent("one-accumulated")

        let mpi = try Tool.run(try Tool.mpirun(), mpirun([motive.path, "train", job.path, "--out", distributed.path]), within: 300)
        #expect(mpi.status == 0, "mpirun: \(mpi.output)")
        let one = try Tool.run(motive, ["train", job.path, "--out", accumulated.path, "--set", "train.accumulate=2"], within: 300)
        #expect(one.status == 0, "\(one.output)")
        let plain = try Tool.run(motive, ["train", job.path, "--out", single.path], within: 300)
        #expect(plain.status == 0, "\(plain.output)")

        let a = try weights(distributed.appendingPathComponent("last.safetensors"))
        let b = try weights(accumulated.appendingPathComponent("last.safetensors"))
        let c = try weights(single.appendingPathComponent("last.safetensors"))
        let same = try relativeDistance(a, b)
        #expect(same < 1e-5, "2 processes × batch 2 against 1 process × 2 accumulated batches of 2: \(same)")
        // A global batch of two (eight steps, not four) ends elsewhere: the comparison can tell.
        let other = try relativeDistance(a, c)
        #expect(other > 1e-3, "1 process × batch 2 should differ: \(other)")

        // Rank 0 alone wrote the run: one start line, the global batch stated, the evaluation of
        // all 16 videos (each process scored half of them).
        let log = try String(contentsOf: distributed.appendingPathComponent("log.jsonl"), encoding: .utf8)
        #expect(log.components(separatedBy: "\"event\":\"start\"").count == 2, "\(log)")
        #expect(log.contains("2 processes × data.batch_size 2 = a global batch of 4"), "\(log)")
        let predictions = try String(contentsOf: distributed.appendingPathComponent("eval/predictions.json"), encoding: .utf8)
        let evaluated = predictions.components(separatedBy: "\"video\"").count - 1
        #expect(evaluated == 16, "eval/predictions.json lists \(evaluated) videos")
        let metrics = try String(contentsOf: distributed.appendingPathComponent("metrics.csv"), encoding: .utf8)
        let singleMetrics = try String(contentsOf: accumulated.appendingPathComponent("metrics.csv"), encoding: .utf8)
        // Same weights, same evaluation: the validation top-1 column agrees (column 8).
        func valTop1(_ csv: String) -> [String] { csv.split(separator: "\n").dropFirst().map { String($0.split(separator: ",", omittingEmptySubsequences: false)[7]) } }
        #expect(valTop1(metrics) == valTop1(singleMetrics), "\(metrics)\n\(singleMetrics)")
    }

    /// With batch norm (MC3-18 tiny): `train.sync_bn` makes two processes of batch 2 normalise
    /// as one process of batch 4 does, and end with its weights; without it they differ.
    ///
    /// One optimizer step (four videos): at a global batch of 4, this network amplifies rounding
    /// differences several hundredfold per step (measured: 2e-6 after one step, 6e-4 after two,
    /// 0.3 after four, where each process's own statistics differ by 1.7 at once).
    @Test func syncBatchNormMatchesOneProcessWithTheWholeBatch() throws {
        let folder = scratch()
        defer { try? FileManager.default.removeItem(at: folder) }
        let list = folder.appendingPathComponent("four.txt")
        let lines = try String(contentsOf: Self.root.appendingPathComponent("train.txt"), encoding: .utf8).split(separator: "\n").prefix(4)
        try (lines.joined(separator: "\n") + "\n").write(to: list, atomically: true, encoding: .utf8)
        let job = try job(in: folder, epochs: 1, preset: "mc3_18_tiny")
        let motive = try Tool.motive(), mpirunTool = try Tool.mpirun()
        let synced = folder.appendingPathComponent("synced"), own = folder.appendingPathComponent("own")
        let whole = folder.appendingPathComponent("whole")
        let data = ["--set", "data.train_list=\(list.path)", "--set", "data.val_list=\(list.path)", "--set", "data.root=\(Self.root.path)"]
        let a = try Tool.run(mpirunTool, mpirun([motive.path, "train", job.path, "--out", synced.path, "--set", "train.sync_bn=true"] + data),
                             within: 300)
        #expect(a.status == 0, "\(a.output)")
        let b = try Tool.run(mpirunTool, mpirun([motive.path, "train", job.path, "--out", own.path] + data), within: 300)
        #expect(b.status == 0, "\(b.output)")
        let c = try Tool.run(motive, ["train", job.path, "--out", whole.path, "--set", "data.batch_size=4"] + data, within: 300)
        #expect(c.status == 0, "\(c.output)")
        let reference = try weights(whole.appendingPathComponent("last.safetensors"))
        let same = try relativeDistance(try weights(synced.appendingPathComponent("last.safetensors")), reference)
        #expect(same < 1e-5, "2 processes × batch 2 with sync_bn against 1 process × batch 4: \(same)")
        let other = try relativeDistance(try weights(own.appendingPathComponent("last.safetensors")), reference)
        #expect(other > 1e-2, "each process's own statistics should differ: \(other)")
    }

    @Test func stoppedAndResumedMatchesUninterrupted() throws {
        let folder = scratch()
        defer { try? FileManager.default.removeItem(at: folder) }
        let job = try job(in: folder, epochs: 3)
        let motive = try Tool.motive(), mpirunTool = try Tool.mpirun()
        let whole = folder.appendingPathComponent("whole"), split = folder.appendingPathComponent("split")

        let uninterrupted = try Tool.run(mpirunTool, mpirun([motive.path, "train", job.path, "--out", whole.path]), within: 300)
        #expect(uninterrupted.status == 0, "\(uninterrupted.output)")

        // SIGUSR1 to mpirun reaches every rank at once; they agree to stop after the same step.
        let running = try Tool.start(mpirunTool, mpirun([motive.path, "train", job.path, "--out", split.path]))
        let firstEpoch = split.appendingPathComponent("epoch_0001.safetensors")
        #expect(Tool.waitFor(seconds: 120) { FileManager.default.fileExists(atPath: firstEpoch.path) || !running.isRunning })
        kill(running.pid, SIGUSR1)
        let stopped = running.finish(within: 120)
        #expect(stopped.status == 0, "\(stopped.output)")
        let log = try String(contentsOf: split.appendingPathComponent("log.jsonl"), encoding: .utf8)
        #expect(log.contains("\"event\":\"interrupted\""), "the run ended before the signal could stop it: \(log)")

        let resumed = try Tool.run(mpirunTool, mpirun([motive.path, "train", job.path, "--resume", split.path]), within: 300)
        #expect(resumed.status == 0, "\(resumed.output)")
        let distance = try relativeDistance(try weights(whole.appendingPathComponent("last.safetensors")),
                                            try weights(split.appendingPathComponent("last.safetensors")))
        #expect(distance < 1e-6, "resumed against uninterrupted: \(distance)")

        // A mid-epoch checkpoint counts batches of a 2-process share: one process is refused.
        let info = try Checkpoint.read(split.appendingPathComponent("last.safetensors")).info
        #expect(info.processes == 2)
    }

    @Test func sigtermToMpirunCheckpointsEveryRank() throws {
        let folder = scratch()
        defer { try? FileManager.default.removeItem(at: folder) }
        let job = try job(in: folder, epochs: 500)
        let run = folder.appendingPathComponent("run")
        // mpirun passes SIGTERM on after odls_base_sigkill_timeout seconds, and kills that long after:
        // 15 s, for a step and a save on a machine whose cores the other suites share (5 s was short once).
        let running = try Tool.start(try Tool.mpirun(), mpirun([try Tool.motive().path, "train", job.path, "--out", run.path], killAfter: 15))
        let firstEpoch = run.appendingPathComponent("epoch_0001.safetensors")
        #expect(Tool.waitFor(seconds: 120) { FileManager.default.fileExists(atPath: firstEpoch.path) || !running.isRunning })
        kill(running.pid, SIGTERM)
        let stopped = running.finish(within: 90)
        let log = try String(contentsOf: run.appendingPathComponent("log.jsonl"), encoding: .utf8)
        #expect(log.contains("\"event\":\"interrupted\""), "no interrupted event; mpirun said: \(stopped.output)")
        let info = try Checkpoint.read(run.appendingPathComponent("last.safetensors")).info
        #expect(info.epoch >= 1 && info.epoch < 500)
    }

    /// Starts a long 2-process run, waits for its first epoch, and signals rank 1 with `sig`.
    /// Returns what mpirun said and how long it took to end after the signal.
    func signalRank1(_ sig: Int32, extra: String = "") throws -> (status: Int32, output: String, seconds: Double) {
        let folder = scratch()
        defer { try? FileManager.default.removeItem(at: folder) }
        let job = try job(in: folder, epochs: 500, extra: extra)
        let run = folder.appendingPathComponent("run")
        let running = try Tool.start(try Tool.mpirun(), mpirun([try Tool.motive().path, "train", job.path, "--out", run.path]))
        #expect(Tool.waitFor(seconds: 120) { FileManager.default.fileExists(atPath: run.appendingPathComponent("epoch_0001.safetensors").path) })
        let rank1 = try #require(Tool.rank(1, under: running.pid), "no rank 1 among mpirun's children")
        let signalled = Date()
        kill(rank1, sig)
        defer { kill(rank1, SIGKILL) }
        let ended = running.finish(within: 60)
        return (ended.status, ended.output, Date().timeIntervalSince(signalled))
    }

    @Test func aKilledRankEndsTheRun() throws {
        let ended = try signalRank1(SIGKILL)
        #expect(ended.seconds < 60, "mpirun took \(ended.seconds) s")
        #expect(ended.status != 0)
        #expect(ended.output.contains("rank 1"), "mpirun should name rank 1: \(ended.output)")
    }

    @Test func aStuckRankIsNamedAfterTheTimeout() throws {
        // A stopped process is alive, but never reaches the next collective.
        let ended = try signalRank1(SIGSTOP, extra: "distributed: {timeout: 3}")
        #expect(ended.seconds < 45, "took \(ended.seconds) s to end")
        #expect(ended.status != 0)
        #expect(ended.output.contains("rank 0: rank 1 did not reach"), "\(ended.output)")
    }

    @Test func differentConfigsAreRefused() throws {
        let folder = scratch()
        defer { try? FileManager.default.removeItem(at: folder) }
        let job = try job(in: folder, epochs: 1)
        let motive = try Tool.motive().path, out = folder.appendingPathComponent("run").path
        // MPMD: rank 1 runs the same job with another learning rate.
        let arguments = ["--allow-run-as-root", "--oversubscribe", "--bind-to", "none",
                         "-np", "1", motive, "train", job.path, "--out", out, ":",
                         "-np", "1", motive, "train", job.path, "--out", out, "--set", "optimizer.lr=0.5"]
        let result = try Tool.run(try Tool.mpirun(), arguments, within: 120)
        #expect(result.status != 0)
        #expect(result.output.contains("ranks 1 resolved a different config from rank 0"), "\(result.output)")
    }

    @Test func processCountsAreChecked() throws {
        let folder = scratch()
        defer { try? FileManager.default.removeItem(at: folder) }
        let job = try job(in: folder, epochs: 1, extra: "distributed: {processes: 2}")
        let out = folder.appendingPathComponent("run").path
        let alone = try Tool.run(try Tool.motive(), ["train", job.path, "--out", out], within: 120)
        #expect(alone.status != 0)
        #expect(alone.output.contains("run it with mpirun -np 2 motive train"), "\(alone.output)")
        let three = try Tool.run(try Tool.mpirun(), mpirun([try Tool.motive().path, "train", job.path, "--out", out], processes: 3), within: 120)
        #expect(three.status != 0)
        #expect(three.output.contains("asks for distributed.processes: 2, but 3 processes are running"), "\(three.output)")
    }
}

/// The executables the tests run, and running them with a deadline.
enum Tool {
    static func motive() throws -> URL {
        if let path = ProcessInfo.processInfo.environment["MOTIVE_BINARY"] { return URL(fileURLWithPath: path) }
        var folder = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = folder.appendingPathComponent("motive")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            folder.deleteLastPathComponent()
        }
        throw ToolError.missing("the motive executable (build it first, or set MOTIVE_BINARY)")
    }

    static func mpirun() throws -> URL {
        let folders = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        guard let path = folders.map({ "\($0)/mpirun" }).first(where: FileManager.default.isExecutableFile) else {
            throw ToolError.missing("mpirun (make deps installs openmpi-bin)")
        }
        return URL(fileURLWithPath: path)
    }

    final class Running {
        let pid: pid_t
        let log: URL
        private var status: Int32?
        init(pid: pid_t, log: URL) { (self.pid, self.log) = (pid, log) }

        var isRunning: Bool { poll() == nil }

        private func poll() -> Int32? {
            if let status { return status }
            var raw: Int32 = 0
            guard waitpid(pid, &raw, WNOHANG) == pid else { return nil }
            // Exit code, or 128 + the signal that ended it, as a shell reports it.
            status = (raw & 0x7F) == 0 ? (raw >> 8) & 0xFF : 128 + (raw & 0x7F)
            return status
        }

        /// Waits for the exit; past `seconds`, kills the process and reports what it said.
        func finish(within seconds: Double) -> (status: Int32, output: String) {
            if !Tool.waitFor(seconds: seconds, { !isRunning }) {
                kill(pid, SIGKILL)
                _ = Tool.waitFor(seconds: 10) { !isRunning }
            }
            let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            try? FileManager.default.removeItem(at: log)
            return (poll() ?? -1, output)
        }
    }

    /// Starts `tool` with its standard output and error in one file, through posix_spawn with no
    /// signal blocked: a child of Foundation's `Process` inherits the test runner's blocked
    /// signals, and mpirun then never sees the SIGTERM or SIGUSR1 that the tests send it.
    static func start(_ tool: URL, _ arguments: [String]) throws -> Running {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("tool-\(UUID().uuidString.prefix(8)).log")
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t(), all = sigset_t()
        sigemptyset(&none)
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv = ([tool.path] + arguments).map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, tool.path, &actions, &attributes, argv, environ)
        guard rc == 0 else { throw ToolError.missing("\(tool.path) (posix_spawn: \(String(cString: strerror(rc))))") }
        return Running(pid: pid, log: log)
    }

    static func run(_ tool: URL, _ arguments: [String], within seconds: Double) throws -> (status: Int32, output: String) {
        try start(tool, arguments).finish(within: seconds)
    }

    /// Polls `condition` every 50 ms for at most `seconds`.
    @discardableResult
    static func waitFor(seconds: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            usleep(50_000)
        }
        return condition()
    }

    /// The process of MPI rank `rank` among the descendants of `parent` (read from /proc).
    static func rank(_ rank: Int, under parent: Int32) -> Int32? {
        let pids = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { Int32($0) }
        var children: [Int32: [Int32]] = [:]
        for pid in pids {
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 2, let ppid = Int32(fields[1]) { children[ppid, default: []].append(pid) }
        }
        var queue = [parent]
        while let pid = queue.popLast() {
            for child in children[pid] ?? [] {
                if let environ = FileManager.default.contents(atPath: "/proc/\(child)/environ"),
                   environ.split(separator: 0).contains(where: { $0.elementsEqual("OMPI_COMM_WORLD_RANK=\(rank)".utf8) }) {
                    return child
                }
                queue.append(child)
            }
        }
        return nil
    }
}

enum ToolError: Error, CustomStringConvertible {
    case missing(String)
    var description: String {
        switch self { case .missing(let what): "missing: \(what)" }
    }
}
