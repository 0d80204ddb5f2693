import Foundation
import Support

/// One labelled sample: a video file, or a folder of frames with its frame count, relative to a data root.
public struct Annotation: Codable, Sendable, Hashable {
    public var path: String
    public var label: Int
    /// Frames in a rawframe folder; nil for video files.
    public var frameCount: Int?

    public init(path: String, label: Int, frameCount: Int? = nil) {
        (self.path, self.label, self.frameCount) = (path, label, frameCount)
    }
}

/// Samples and, when known, the class names their labels index.
public struct AnnotationList: Codable, Sendable, Equatable {
    public var items: [Annotation]
    public var classes: [String]

    public init(items: [Annotation], classes: [String] = []) {
        (self.items, self.classes) = (items, classes)
    }

    public var count: Int { items.count }
}

// MARK: - MMAction2 text lists

extension AnnotationList {
    /// MMAction2's video list: `relative/path label` per line (the label is the last field, so
    /// paths may hold spaces). Blank lines are skipped.
    public static func parseVideoList(_ text: String, file: String = "<list>",
                                      classes: [String] = []) throws(AnnotationError) -> AnnotationList {
        var items: [Annotation] = []
        for (n, fields) in lines(text) {
            guard fields.count >= 2, let label = Int(fields[fields.count - 1]), label >= 0 else {
                throw .malformedLine(file: file, line: n, reason: "expected 'path label', got '\(fields.joined(separator: " "))'")
            }
            let path = fields.dropLast().joined(separator: " ")
            try DataRoot.check(path, file: file, line: n)
            try checkLabel(label, classes: classes, file: file, line: n)
            items.append(Annotation(path: path, label: label))
        }
        return AnnotationList(items: items, classes: classes)
    }

    /// MMAction2's rawframe list: `folder num_frames label` per line.
    public static func parseRawframeList(_ text: String, file: String = "<list>",
                                         classes: [String] = []) throws(AnnotationError) -> AnnotationList {
        var items: [Annotation] = []
        for (n, fields) in lines(text) {
            guard fields.count >= 3, let frames = Int(fields[fields.count - 2]), frames >= 0,
                  let label = Int(fields[fields.count - 1]), label >= 0 else {
                throw .malformedLine(file: file, line: n,
                                     reason: "expected 'folder num_frames label', got '\(fields.joined(separator: " "))'")
            }
            let path = fields.dropLast(2).joined(separator: " ")
            try DataRoot.check(path, file: file, line: n)
            try checkLabel(label, classes: classes, file: file, line: n)
            items.append(Annotation(path: path, label: label, frameCount: frames))
        }
        return AnnotationList(items: items, classes: classes)
    }

    /// A `classes.txt`: one class name per line, label = line order among non-blank lines.
    public static func parseClassNames(_ text: String) -> [String] {
        text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// A video list or a rawframe list, told apart by their lines: a rawframe list's lines all
    /// end in two numbers (`folder num_frames label`). Flow lists are rawframe lists of flow folders.
    public static func parseList(_ text: String, file: String = "<list>", classes: [String] = []) throws(AnnotationError) -> AnnotationList {
        let rows = lines(text)
        let rawframes = !rows.isEmpty && rows.allSatisfy { $0.1.count >= 3 && Int($0.1[$0.1.count - 2]) != nil }
        return rawframes ? try parseRawframeList(text, file: file, classes: classes)
                         : try parseVideoList(text, file: file, classes: classes)
    }

    public static func readList(_ url: URL, classes: [String] = []) throws(AnnotationError) -> AnnotationList {
        try parseList(read(url), file: url.path, classes: classes)
    }

    public static func readVideoList(_ url: URL, classes: [String] = []) throws(AnnotationError) -> AnnotationList {
        try parseVideoList(read(url), file: url.path, classes: classes)
    }

    public static func readClassNames(_ url: URL) throws(AnnotationError) -> [String] {
        parseClassNames(try read(url))
    }

    /// The list in MMAction2's format: `path label`, or `folder num_frames label` for frame folders.
    public var text: String {
        items.map { a in
            if let f = a.frameCount { "\(a.path) \(f) \(a.label)\n" } else { "\(a.path) \(a.label)\n" }
        }.joined()
    }

    /// Throws `missingFile` for the first item not present under `root`.
    public func verifyFiles(under root: DataRoot) throws(AnnotationError) {
        for (i, a) in items.enumerated() {
            let url = try root.resolve(a.path, file: "<list>", line: i + 1)
            if !FileManager.default.fileExists(atPath: url.path) { throw .missingFile(url.path) }
        }
    }

    /// Non-blank lines with their 1-based numbers, split on whitespace (CRLF files included).
    static func lines(_ text: String) -> [(Int, [String])] {
        text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated().compactMap { i, line in
            let fields = line.split(whereSeparator: \.isWhitespace).map(String.init)
            return fields.isEmpty ? nil : (i + 1, fields)
        }
    }

    static func checkLabel(_ label: Int, classes: [String], file: String, line: Int) throws(AnnotationError) {
        if !classes.isEmpty && label >= classes.count {
            throw .unknownClass(String(label), file: file, line: line)
        }
    }

    static func read(_ url: URL) throws(AnnotationError) -> String {
        guard let data = FileManager.default.contents(atPath: url.path) else { throw .missingFile(url.path) }
        return String(decoding: data, as: UTF8.self)
    }
}

// MARK: - Data root

/// The folder that list paths are relative to. Paths may not leave it as written; with a
/// confinement (the server's data root), they may not leave that folder through symlinks either.
public struct DataRoot: Sendable, Equatable {
    public let url: URL
    /// Where every file read through this root must really be, symlinks resolved.
    public let confinement: ConfinedPath?

    public init(_ url: URL, confinedTo confinement: ConfinedPath? = nil) {
        self.url = url.standardizedFileURL
        self.confinement = confinement
    }
    public init(path: String) { self.init(URL(fileURLWithPath: path, isDirectory: true)) }

    /// `relative` under the root, after checking it stays inside. When confined, the answer is
    /// the real path, and a folder's entries are checked too (frame folders are read file by
    /// file): one symlink among them that leads outside refuses the whole folder.
    public func resolve(_ relative: String, file: String = "<path>", line: Int = 0) throws(AnnotationError) -> URL {
        try Self.check(relative, file: file, line: line)
        let url = url.appendingPathComponent(relative)
        guard let confinement else { return url }
        guard let real = confinement.check(url) else { throw .pathEscapesRoot(relative, file: file, line: line) }
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: real.path, isDirectory: &isFolder), isFolder.boolValue,
           let entries = try? FileManager.default.contentsOfDirectory(atPath: real.path) {
            for entry in entries {
                let path = real.appendingPathComponent(entry)
                guard (try? FileManager.default.destinationOfSymbolicLink(atPath: path.path)) != nil,
                      confinement.check(path) == nil else { continue }
                throw .pathEscapesRoot(relative + "/" + entry, file: file, line: line)
            }
        }
        return real
    }

    /// Rejects empty, absolute (`/…`, `~…`, `C:\…`) and `..`-climbing paths.
    static func check(_ path: String, file: String, line: Int) throws(AnnotationError) {
        let parts = path.split(whereSeparator: { $0 == "/" || $0 == "\\" })
        let absolute = path.hasPrefix("/") || path.hasPrefix("\\") || path.hasPrefix("~")
            || (path.count >= 2 && path.dropFirst().first == ":")
        if path.isEmpty || absolute || parts.contains("..") {
            throw .pathEscapesRoot(path, file: file, line: line)
        }
    }

    /// File extensions read as videos by `discoverClassFolders`.
    public static let videoExtensions: Set<String> = ["mp4", "avi", "mkv", "webm", "mov", "m4v", "mpg", "mpeg", "flv", "wmv", "3gp"]

    /// A folder per class: classes are the sorted sub-folder names, samples the video files inside
    /// each (at any depth), sorted by path.
    public func discoverClassFolders(extensions: Set<String> = DataRoot.videoExtensions) throws(AnnotationError) -> AnnotationList {
        let fm = FileManager.default
        guard let entries = try? fm.contentsOfDirectory(atPath: url.path) else { throw .missingFile(url.path) }
        let classes = entries.filter { name in
            var isDir: ObjCBool = false
            return !name.hasPrefix(".") && fm.fileExists(atPath: url.appendingPathComponent(name).path, isDirectory: &isDir)
                && isDir.boolValue
        }.sorted()
        var items: [Annotation] = []
        for (label, name) in classes.enumerated() {
            let folder = url.appendingPathComponent(name)
            let files = (fm.subpaths(atPath: folder.path) ?? []).filter { p in
                !p.split(separator: "/").contains { $0.hasPrefix(".") }
                    && extensions.contains((p as NSString).pathExtension.lowercased())
            }
            items += files.sorted().map { Annotation(path: "\(name)/\($0)", label: label) }
        }
        return AnnotationList(items: items, classes: classes)
    }
}
