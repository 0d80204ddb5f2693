import ArgumentParser
import Datasets
import Foundation

/// `motive dataset check LIST`: `DatasetCheck.run` on local lists, as the daemon checks an upload.
struct DatasetCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Probe every video of a list: counts, durations and resolutions per class, and the unreadable files.",
        discussion: "Exit status 0 when at least one training video is readable (ready), 1 otherwise (invalid).")

    @Argument(help: "The train list (video or rawframe list).") var list: String
    @Option(help: "A validation list.") var val: String?
    @Option(help: "The folder the lists' paths are relative to (default: the train list's folder).") var root: String?
    @Option(help: "Class names, one per line (default: classes.txt beside the train list, when there is one).") var classes: String?
    @Option(help: "Files probed at once.") var workers = 2
    @Flag(help: "Print the report as JSON.") var json = false

    func run() throws {
        guard workers >= 1 else { throw CLIError("--workers must be at least 1, got \(workers)") }
        let train = URL(fileURLWithPath: list).standardizedFileURL
        let beside = train.deletingLastPathComponent().appendingPathComponent("classes.txt")
        let lists = DatasetLists(
            train: train, val: val.map { URL(fileURLWithPath: $0).standardizedFileURL },
            classes: classes.map { URL(fileURLWithPath: $0).standardizedFileURL }
                ?? (FileManager.default.fileExists(atPath: beside.path) ? beside : nil),
            root: root.map { URL(fileURLWithPath: $0, isDirectory: true).standardizedFileURL } ?? train.deletingLastPathComponent())
        let progress = Progress(label: "check")
        let report = try DatasetCheck.run(lists, workers: workers, progress: { done, total in progress.update(done, total) })
        progress.finish()
        if json { print(try jsonString(report)) } else { print(Self.text(report), terminator: "") }
        if report.state == .invalid { throw ExitCode(1) }
    }

    /// The class table, the totals, the resolutions, the unreadable files and the warnings.
    static func text(_ r: DatasetReport) -> String {
        let width = max(5, r.classes.map(\.name.count).max() ?? 0)
        func pad(_ s: String, _ n: Int) -> String { s.padding(toLength: max(n, s.count), withPad: " ", startingAt: 0) }
        func right(_ s: String, _ n: Int) -> String { String(repeating: " ", count: max(0, n - s.count)) + s }
        func row(_ name: String, _ train: String, _ val: String, _ seconds: String) -> String {
            pad(name, width) + right(train, 8) + right(val, 8) + right(seconds, 10) + "\n"
        }
        var out = row("class", "train", "val", "seconds")
        for c in r.classes { out += row(c.name, "\(c.train)", "\(c.val)", String(format: "%.1f", c.seconds)) }
        out += row("total", "\(r.classes.reduce(0) { $0 + $1.train })", "\(r.classes.reduce(0) { $0 + $1.val })",
                   String(format: "%.1f", r.totalSeconds))
        out += "\n\(r.readable) of \(r.videos) videos readable, \(r.frames) frames\n"
        let sizes = r.resolutions.sorted { ($0.value, $1.key) > ($1.value, $0.key) }
        if !sizes.isEmpty { out += "resolutions: " + sizes.map { "\($0.key) (\($0.value))" }.joined(separator: ", ") + "\n" }
        if !r.unreadable.isEmpty {
            out += "unreadable:\n" + r.unreadable.map { "  " + ($0.error.hasPrefix($0.path) ? $0.error : "\($0.path): \($0.error)") + "\n" }.joined()
        }
        out += r.warnings.map { "warning: \($0)\n" }.joined()
        out += "\(r.state.rawValue)\n"
        return out
    }
}
