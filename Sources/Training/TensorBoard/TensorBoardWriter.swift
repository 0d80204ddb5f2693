import Foundation
import Protos
import SwiftProtobuf

/// An event file or its folder that could not be written, with the system's reason.
public struct TensorBoardFileError: Error, CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String { "cannot write \(path): \(reason)" }

    init(path: String, _ error: any Error) { (self.path, reason) = (path, (error as NSError).localizedDescription) }
    init(path: String, reason: String) { (self.path, self.reason) = (path, reason) }
}

/// Appends scalar summaries to a new TensorBoard event file in `directory`,
/// `events.out.tfevents.<unix seconds>.<host>.<pid>` (TensorBoard reads every file whose name
/// holds `tfevents`). The file is a TFRecord stream of `Event` messages whose first one carries
/// the file version. Each event is one `write(2)` of its whole record and nothing is buffered,
/// so a running TensorBoard sees it at once and a crash loses at most the record being written.
public final class TensorBoardWriter {
    public let url: URL
    private let handle: FileHandle

    public init(directory: URL, now: Date = Date()) throws {
        do { try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true) } catch {
            throw TensorBoardFileError(path: directory.path, error)
        }
        let host = ProcessInfo.processInfo.hostName.replacingOccurrences(of: "/", with: "_")
        let base = "events.out.tfevents.\(Int(now.timeIntervalSince1970)).\(host).\(getpid())"
        // Exclusive creation: a process that starts two writers in one second (a resume in the
        // same folder) gets a second file, `….1`, rather than truncating the first.
        var attempt = 0
        while true {
            let name = attempt == 0 ? base : "\(base).\(attempt)"
            let path = directory.appendingPathComponent(name).path
            let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0o644)
            if fd >= 0 {
                url = URL(fileURLWithPath: path)
                handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
                break
            }
            guard errno == EEXIST, attempt < 1000 else { throw TensorBoardFileError(path: path, reason: String(cString: strerror(errno))) }
            attempt += 1
        }
        var first = Tensorboard_Event()
        first.wallTime = now.timeIntervalSince1970
        first.fileVersion = "brain.Event:2"
        try write(first)
    }

    /// One event at `step` holding one simple-value summary per tag (stored as Float, as
    /// TensorBoard's scalars are).
    public func scalars(_ values: [(tag: String, value: Double)], step: Int, wallTime: Date = Date()) throws {
        var summary = Tensorboard_Summary()
        summary.value = values.map { tag, value in
            var v = Tensorboard_Summary.Value()
            v.tag = tag
            v.simpleValue = Float(value)
            return v
        }
        var event = Tensorboard_Event()
        event.wallTime = wallTime.timeIntervalSince1970
        event.step = Int64(step)
        event.summary = summary
        try write(event)
    }

    private func write(_ event: Tensorboard_Event) throws {
        let record = TFRecord.frame(try event.serializedData())
        do { try handle.write(contentsOf: record) } catch { throw TensorBoardFileError(path: url.path, error) }
    }
}

/// An event file read back, with its framing and CRCs checked: its file version and its scalars
/// in file order.
public struct TensorBoardEvents: Sendable {
    public struct Scalar: Sendable, Equatable {
        public let tag: String
        public let step: Int
        public let value: Float
        public let wallTime: Double
    }

    public let fileVersion: String?
    public let scalars: [Scalar]

    public init(contentsOf url: URL) throws {
        var version: String?, scalars: [Scalar] = []
        for record in try TFRecord.records(in: Data(contentsOf: url)) {
            let event = try Tensorboard_Event(serializedBytes: record)
            switch event.what {
            case .fileVersion(let v)?: version = v
            case .summary(let summary)?:
                for value in summary.value {
                    if case .simpleValue(let x)? = value.value {
                        scalars.append(Scalar(tag: value.tag, step: Int(event.step), value: x, wallTime: event.wallTime))
                    }
                }
            default: break
            }
        }
        (fileVersion, self.scalars) = (version, scalars)
    }

    /// The tags in the order they first appear.
    public var tags: [String] {
        var seen = Set<String>()
        return scalars.map(\.tag).filter { seen.insert($0).inserted }
    }

    /// One tag's points in file order.
    public func series(_ tag: String) -> [(step: Int, value: Float)] {
        scalars.filter { $0.tag == tag }.map { (step: $0.step, value: $0.value) }
    }
}
