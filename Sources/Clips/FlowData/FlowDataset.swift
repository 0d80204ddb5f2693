import Dispatch
import Flow
import Foundation
import Support
import Video

/// Flow for a whole dataset: every video of a list becomes a flow folder under `out` (the video's
/// path without its extension), with a done-marker so that an interrupted run resumes where it
/// stopped. The run writes `out/<list name>` (`folder num_frames label`, ready for a flow job)
/// and `out/flow.json` (the extraction options, which flow checkpoints carry on).
public enum FlowDataset {
    public static let optionsFile = "flow.json"
    /// Written in a video's flow folder once all its frames are: the number of flow frames.
    public static let doneMarker = ".done"

    public struct Failure: Sendable, Equatable {
        public var path: String
        public var reason: String
    }

    public struct Summary: Sendable {
        public var extracted = 0
        public var skipped = 0
        public var failures: [Failure] = []
        /// The flow list written for the videos that have flow.
        public var list: URL
    }

    /// The flow folder of a video, relative to `out`: its path without the extension.
    public static func folder(for video: String) -> String { (video as NSString).deletingPathExtension }

    /// Extracts `list` (paths under `root`) into `out` on `jobs` videos at a time. Options that
    /// differ from an earlier run's `flow.json` in `out` are refused, so one folder never mixes two.
    public static func extract(list: AnnotationList, listName: String, root: DataRoot, out: URL,
                               options: FlowExtractionOptions, jobs: Int,
                               progress: (@Sendable (_ done: Int, _ total: Int, _ current: String) -> Void)? = nil) throws -> Summary {
        try options.validate()
        guard jobs >= 1 else { throw FlowExtractionError.invalidOption("jobs must be at least 1, got \(jobs)") }
        let fm = FileManager.default
        try fm.createDirectory(at: out, withIntermediateDirectories: true)
        let optionsURL = out.appendingPathComponent(optionsFile)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        if let data = fm.contents(atPath: optionsURL.path) {
            let earlier = try? JSONDecoder().decode(FlowExtractionOptions.self, from: data)
            guard earlier == options else {
                throw FlowExtractionError.invalidOption("\(out.path) holds flow extracted with other options (\(optionsFile)); "
                                                       + "use another --out folder or the same options")
            }
        } else {
            try AtomicFile.write(encoder.encode(options), to: optionsURL)
        }
        let threads = max(1, ProcessInfo.processInfo.activeProcessorCount / jobs)
        let items = list.items
        let state = ExtractionState(count: items.count)
        DispatchQueue.concurrentPerform(iterations: min(jobs, max(items.count, 1))) { _ in
            while let i = state.next() {
                let item = items[i]
                let folder = out.appendingPathComponent(folder(for: item.path))
                let marker = folder.appendingPathComponent(doneMarker)
                if let text = try? String(contentsOf: marker, encoding: .utf8), let frames = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
                    state.finish(i, frames: frames, skipped: true)
                } else {
                    do {
                        let video = try root.resolve(item.path)
                        try? fm.removeItem(at: folder)                  // a half-written folder from an interrupted run
                        let frames = try FlowExtraction.extract(video: video.path, into: folder.path, options: options, threads: threads)
                        try AtomicFile.write(Data("\(frames)\n".utf8), to: marker)
                        state.finish(i, frames: frames, skipped: false)
                    } catch {
                        state.fail(i, Failure(path: item.path, reason: "\(error)"))
                    }
                }
                let done = state.done
                progress?(done, items.count, item.path)
            }
        }
        let listURL = out.appendingPathComponent(listName)
        var lines: [String] = []
        for (i, item) in items.enumerated() {
            if let frames = state.frames[i] { lines.append("\(folder(for: item.path)) \(frames) \(item.label)") }
        }
        try AtomicFile.write(Data((lines.joined(separator: "\n") + (lines.isEmpty ? "" : "\n")).utf8), to: listURL)
        return Summary(extracted: state.extracted, skipped: state.skipped,
                       failures: state.failures.sorted { $0.path < $1.path }, list: listURL)
    }
}

/// Work handed out to the extraction workers, and what they report back.
private final class ExtractionState: @unchecked Sendable {
    private let lock = NSLock()
    private var nextIndex = 0
    private let count: Int
    private(set) var frames: [Int?]
    private(set) var failures: [FlowDataset.Failure] = []
    private(set) var extracted = 0
    private(set) var skipped = 0
    private var finished = 0

    init(count: Int) {
        self.count = count
        frames = Array(repeating: nil, count: count)
    }

    func next() -> Int? {
        lock.withLock {
            guard nextIndex < count else { return nil }
            defer { nextIndex += 1 }
            return nextIndex
        }
    }

    func finish(_ i: Int, frames n: Int, skipped wasSkipped: Bool) {
        lock.withLock {
            frames[i] = n
            if wasSkipped { skipped += 1 } else { extracted += 1 }
            finished += 1
        }
    }

    func fail(_ i: Int, _ failure: FlowDataset.Failure) {
        lock.withLock {
            failures.append(failure)
            finished += 1
        }
    }

    var done: Int { lock.withLock { finished } }
}
