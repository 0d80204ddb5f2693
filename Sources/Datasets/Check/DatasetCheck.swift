import Clips
import Foundation
import Support
import Video

/// Probes every entry of a dataset's lists and summarises what training would find.
public enum DatasetCheck {
    /// How each video is opened. `timeout` bounds opening (probing included), each packet read
    /// while frames are counted and each read while the first frame decodes, so a stalled or
    /// hostile file fails with `timedOut` instead of holding a worker.
    public static let readerOptions = ReaderOptions(threads: 1, timeout: 20)
    /// The frame rate a rawframe folder is read at (the loader's image2 rate), for its seconds.
    public static let rawframeRate = 25.0
    /// The files counted as frames in a rawframe folder.
    public static let imageExtensions: Set<String> = ["jpg", "jpeg", "png", "bmp", "webp", "tif", "tiff"]

    /// Reads the lists (and `classes`), then probes every entry on `workers` threads: a video is
    /// opened, its packets are demuxed to count its frames exactly, and its first frame is decoded;
    /// a rawframe folder's images are counted and its first image decoded. Durations come from
    /// the container (frames over the frame rate when it has none).
    ///
    /// `progress(done, total)` is called from the workers after each entry. `isCancelled()` is
    /// polled before each entry; once it is true the workers stop and `run` throws
    /// `CancellationError`. An unreadable entry never throws: the report lists it with its error.
    /// Lists that do not parse throw their `AnnotationError`.
    ///
    /// The report is `ready` when at least one training entry is readable, `invalid` otherwise.
    public static func run(_ lists: DatasetLists, workers: Int = 2, progress: @Sendable (Int, Int) -> Void = { _, _ in },
                           isCancelled: @Sendable () -> Bool = { false }) throws -> DatasetReport {
        let classNames = try lists.classes.map { try AnnotationList.readClassNames($0) } ?? []
        let train = try AnnotationList.readList(lists.train, classes: classNames)
        let val = try lists.val.map { try AnnotationList.readList($0, classes: classNames) }
        let entries = train.items.map { Entry(item: $0, train: true) } + (val?.items ?? []).map { Entry(item: $0, train: false) }
        let root = DataRoot(lists.root)

        let results = Locked([Outcome?](repeating: nil, count: entries.count))
        let next = Locked(0)
        DispatchQueue.concurrentPerform(iterations: max(1, min(workers, entries.count))) { _ in
            while !isCancelled() {
                let i = next.withLock { n in defer { n += 1 }; return n }
                guard i < entries.count else { return }
                let outcome = probe(entries[i].item, root: root)
                let done = results.withLock { r in r[i] = outcome; return r.count { $0 != nil } }
                progress(done, entries.count)
            }
        }
        let outcomes = results.withLock { $0 }
        guard outcomes.allSatisfy({ $0 != nil }) else { throw CancellationError() }
        return summarise(entries, outcomes.map { $0! }, classNames: classNames, hasVal: val != nil)
    }

    struct Entry: Sendable { var item: Annotation; var train: Bool }

    enum Outcome: Sendable {
        case readable(frames: Int, seconds: Double, size: FrameSize)
        case unreadable(String)
    }

    /// One entry, read as training would read it. Errors name the entry as the list writes it.
    static func probe(_ item: Annotation, root: DataRoot) -> Outcome {
        let url = root.url.appendingPathComponent(item.path)
        do {
            if item.frameCount != nil {
                var isFolder: ObjCBool = false
                guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder), isFolder.boolValue else {
                    return .unreadable("\(item.path): no such frame folder")
                }
                let names = (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []
                let images = names.filter { !$0.hasPrefix(".") && imageExtensions.contains(($0 as NSString).pathExtension.lowercased()) }
                guard let first = images.min() else { return .unreadable("\(item.path): no image files") }
                let size = try firstFrame(url.appendingPathComponent(first)).size
                return .readable(frames: images.count, seconds: Double(images.count) / rawframeRate, size: size)
            }
            let (info, size) = try firstFrame(url)
            let rate = info.averageFrameRate > 0 ? info.averageFrameRate : rawframeRate
            let seconds = info.duration.isFinite && info.duration > 0 ? info.duration : Double(info.frameCount) / rate
            return .readable(frames: info.frameCount, seconds: seconds, size: size)
        } catch {
            return .unreadable("\(error)".replacingOccurrences(of: url.path, with: item.path))
        }
    }

    /// Opens `url` (counting its frames) and decodes its first frame, small.
    static func firstFrame(_ url: URL) throws(VideoError) -> (info: VideoInfo, size: FrameSize) {
        let reader = try VideoReader(path: url.path, options: readerOptions)
        _ = try reader.frames(at: [0], size: FrameSize(width: 16, height: 16))
        return (reader.info, reader.info.displaySize)
    }

    static func summarise(_ entries: [Entry], _ outcomes: [Outcome], classNames: [String], hasVal: Bool) -> DatasetReport {
        let labels = entries.map(\.item.label)
        let names = classNames.isEmpty ? (0..<((labels.max() ?? -1) + 1)).map { "class_\($0)" } : classNames
        var rows = names.map { DatasetReport.ClassRow(name: $0) }
        var unreadable: [DatasetReport.Unreadable] = []
        var resolutions: [String: Int] = [:]
        var readable = 0, readableTrain = 0, frames = 0, seconds = 0.0, frameMismatch = 0
        for (entry, outcome) in zip(entries, outcomes) {
            switch outcome {
            case .unreadable(let error):
                unreadable.append(.init(path: entry.item.path, error: error))
            case .readable(let n, let s, let size):
                readable += 1
                frames += n
                seconds += s
                resolutions["\(size.width)x\(size.height)", default: 0] += 1
                if let declared = entry.item.frameCount, declared != n { frameMismatch += 1 }
                let label = entry.item.label
                if entry.train { rows[label].train += 1; readableTrain += 1 } else { rows[label].val += 1 }
                rows[label].seconds += s
            }
        }

        var warnings: [String] = []
        let trainCount = entries.count { $0.train }
        if trainCount == 0 { warnings.append("the train list is empty") }
        if !unreadable.isEmpty { warnings.append(counted(unreadable.count, "unreadable video")) }
        if trainCount > 0 && readableTrain == 0 { warnings.append("no training video is readable") }
        let used = Set(labels).count
        if !classNames.isEmpty && used != classNames.count {
            warnings.append("classes.txt names \(counted(classNames.count, "class")), the lists use \(used)")
        }
        if trainCount > 0, let w = classWarning(rows.filter { $0.train == 0 }.map(\.name), "train") { warnings.append(w) }
        if hasVal && entries.count == trainCount { warnings.append("the val list is empty") }
        if hasVal && entries.count > trainCount, let w = classWarning(rows.filter { $0.val == 0 }.map(\.name), "val") { warnings.append(w) }
        if frameMismatch > 0 {
            warnings.append("\(counted(frameMismatch, "frame folder")) hold\(frameMismatch == 1 ? "s" : "") a different number of images than the list says")
        }
        return DatasetReport(state: readableTrain > 0 ? .ready : .invalid, classes: rows, videos: entries.count, readable: readable,
                             unreadable: unreadable, totalSeconds: seconds, frames: frames, resolutions: resolutions,
                             warnings: warnings)
    }

    /// "class a has no val videos", "classes a, b have …", or the first five and a count past five.
    static func classWarning(_ names: [String], _ list: String) -> String? {
        switch names.count {
        case 0: nil
        case 1: "class \(names[0]) has no readable \(list) videos"
        case 2...5: "classes \(names.joined(separator: ", ")) have no readable \(list) videos"
        default: "\(names.count) classes have no readable \(list) videos: \(names.prefix(5).joined(separator: ", ")), …"
        }
    }

    static func counted(_ n: Int, _ noun: String) -> String {
        n == 1 ? "1 \(noun)" : "\(n) \(noun.hasSuffix("s") ? noun + "es" : noun + "s")"
    }
}
