import ArgumentParser
import Dispatch
import Distributed
import Foundation
import Support
import Training

/// `motive train JOB.yaml`: trains, evaluates and checkpoints into a run directory.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a model from a job config into a run directory (checkpoints, log.jsonl, metrics.csv, curves.svg, eval/).",
        discussion: """
            Ctrl-C (SIGINT) or SIGTERM finishes the current step, saves last.safetensors and exits 0; --resume RUN_DIR continues exactly.
            Under mpirun (mpirun -np N motive train JOB.yaml) it trains on N processes: data.batch_size is per process, rank 0 \
            writes the run directory, and SIGUSR1 to mpirun stops every rank after the current step (docs/training.md).
            """)

    @Argument(help: "The job config (YAML).") var file: String
    @Option(name: .customLong("set"), help: "Override a key, e.g. --set optimizer.lr=0.05 (repeatable).") var overrides: [String] = []
    @Option(help: "Run directory (default: output.dir of the config, or the resumed run's).") var out: String?
    @Option(help: "Continue a run: its directory (uses last.safetensors) or a checkpoint file.") var resume: String?

    func run() throws {
        // Under mpirun this process is one rank of a distributed run; otherwise the group is nil.
        let group = try MPILaunch.join()
        do {
            try train(group: group)
            group?.finish()
        } catch {
            guard let group, group.size > 1 else { throw error }
            // One rank's failure ends every rank (MPI_Abort), and mpirun exits non-zero.
            FileHandle.standardError.write(Data("motive train: rank \(group.rank) of \(group.size): \(error)\n".utf8))
            group.abort(code: 1)
        }
    }

    func train(group: MPIProcessGroup?) throws {
        let config = try ConfigLoader.load(file, overrides: overrides)
        let run = try TrainingRun(config: config, configFile: file, directory: out.map { URL(fileURLWithPath: $0) },
                                  resume: resume.map { URL(fileURLWithPath: $0) }, group: group)
        let flag = run.stopFlag
        // The first signal asks the run to stop after the current step; a second one exits at
        // once (the last checkpoint on disk is whole either way), with _exit: exit() would run the
        // process's exit handlers beside the training threads, which corrupts the heap. Under
        // mpirun a rank ignores repeats: mpirun sends SIGTERM again as it ends the job, and kills
        // the ranks itself once its timeout passes.
        let signals = StopSignals(signals: group == nil ? [SIGINT, SIGTERM] : DistributedTraining.stopSignals,
                                  restoreDefaults: group == nil) { count in
            if count > 1 {
                if group == nil { _exit(130) }
                return
            }
            flag.set()
            FileHandle.standardError.write(Data("\nstopping after this step (signal again to quit without saving)…\n".utf8))
        }
        defer { signals.cancel() }
        // Rank 0 speaks for a distributed run; the others only report their errors.
        let display = TrainingDisplay()
        let primary = run.trainer.isPrimary
        try run.run { event in if primary { display.show(event) } }
    }
}

/// Renders run events: a live progress line on a terminal, plain log lines otherwise.
final class TrainingDisplay {
    let tty = isatty(2) != 0
    private var lastPlain = Date.distantPast

    func show(_ event: RunEvent) {
        switch event {
        case .started(let preset, let videos, let classes, let dir, let from, _):
            say("training \(preset) on \(videos) videos of \(classes) classes → \(dir)" + (from > 0 ? " (resuming after epoch \(from))" : ""))
        case .note(let text):
            say(text)
        case .step(let p):
            let text = String(format: "epoch %d/%d %@ %d/%d  loss %.4f  top-1 %.3f  %.1f clips/s  ETA %@",
                              p.epoch, p.epochs, bar(p.batch, p.batches), p.batch, p.batches, p.loss, p.top1,
                              p.clipsPerSecond, duration(p.etaSeconds ?? 0))
            if tty {
                FileHandle.standardError.write(Data(("\r" + text + "\u{1B}[K").utf8))
            } else if Date().timeIntervalSince(lastPlain) >= 10 {
                lastPlain = Date()
                say(text)
            }
        case .evaluating(let epoch):
            if tty { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
            if !tty { say("evaluating epoch \(epoch)…") }
        case .epoch(let r):
            if tty { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
            var line = String(format: "epoch %d  loss %.4f  train top-1 %.3f  lr %.3g  %.1f clips/s  %.0f s", r.epoch, r.trainLoss,
                              r.trainTop1, r.learningRate, r.clipsPerSecond, r.seconds)
            if let v = r.valTop1 { line += String(format: "  val top-1 %.3f top-5 %.3f", v, r.valTop5 ?? 0) }
            if r.best { line += "  (best)" }
            if r.failed > 0 { line += "  (\(r.failed) videos failed to load)" }
            say(line)
        case .checkpoint, .ready, .failed:
            break                                       // a failure is thrown, and printed as the command's error
        case .interrupted(let epoch, let batch, let resume):
            if tty { FileHandle.standardError.write(Data("\n".utf8)) }
            say("stopped in epoch \(epoch) after batch \(batch); saved. Resume with:\n  \(resume)")
        case .finished(let last, let best):
            say("done: \(last)" + (best.map { "\nbest: \($0)" } ?? ""))
        }
    }

    func bar(_ done: Int, _ total: Int) -> String {
        let width = 20, filled = total > 0 ? min(width, width * done / total) : width
        return String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
    }
}

/// One line to stdout, written at once (print buffers when stdout is a file or pipe).
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

/// "1h02m", "3m05s", "42s".
func duration(_ seconds: Double) -> String {
    guard seconds.isFinite, seconds >= 0, seconds < 1e12 else { return "?" }
    let s = Int(seconds.rounded())
    if s >= 3600 { return String(format: "%dh%02dm", s / 3600, s % 3600 / 60) }
    if s >= 60 { return String(format: "%dm%02ds", s / 60, s % 60) }
    return "\(s)s"
}
