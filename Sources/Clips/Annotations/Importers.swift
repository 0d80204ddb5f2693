import Foundation

/// Official split files of public datasets turned into `AnnotationList`s (labels from 0).

/// UCF101: `classInd.txt` (`1 ApplyEyeMakeup`), `trainlist0N.txt` (`Class/v_….avi 1`),
/// `testlist0N.txt` (`Class/v_….avi`). The label comes from the class folder; a train label that
/// disagrees with it is an error.
public enum UCF101 {
    public static func split(_ n: Int, in directory: URL) throws(AnnotationError) -> (train: AnnotationList, test: AnnotationList) {
        let indFile = directory.appendingPathComponent("classInd.txt")
        let classes = try parseClassIndex(AnnotationList.read(indFile), file: indFile.path)
        func list(_ name: String) throws(AnnotationError) -> AnnotationList {
            let url = directory.appendingPathComponent(name)
            return try parseList(AnnotationList.read(url), file: url.path, classes: classes)
        }
        return (try list("trainlist0\(n).txt"), try list("testlist0\(n).txt"))
    }

    /// `index name` lines, indices 1…N in any order, each name once.
    package static func parseClassIndex(_ text: String, file: String) throws(AnnotationError) -> [String] {
        var byIndex: [Int: String] = [:]
        var names: Set<String> = []
        for (n, fields) in AnnotationList.lines(text) {
            guard fields.count == 2, let i = Int(fields[0]), i >= 1, byIndex[i] == nil else {
                throw .malformedLine(file: file, line: n, reason: "expected 'index ClassName' with a new index from 1")
            }
            guard names.insert(fields[1]).inserted else {
                throw .malformedLine(file: file, line: n, reason: "class \(fields[1]) is listed twice")
            }
            byIndex[i] = fields[1]
        }
        let n = byIndex.count
        guard n > 0, byIndex.keys.sorted() == Array(1...n) else {
            throw .malformedLine(file: file, line: 0, reason: "class indices are not 1…\(n)")
        }
        return (1...n).map { byIndex[$0]! }
    }

    package static func parseList(_ text: String, file: String, classes: [String]) throws(AnnotationError) -> AnnotationList {
        let index = Dictionary(uniqueKeysWithValues: classes.enumerated().map { ($1, $0) })
        var items: [Annotation] = []
        for (n, fields) in AnnotationList.lines(text) {
            guard fields.count == 1 || (fields.count == 2 && Int(fields[1]) != nil) else {
                throw .malformedLine(file: file, line: n, reason: "expected 'Class/video.avi [label]'")
            }
            let path = fields[0]
            try DataRoot.check(path, file: file, line: n)
            let folder = String(path.split(separator: "/").first ?? "")
            guard path.contains("/"), let label = index[folder] else { throw .unknownClass(folder, file: file, line: n) }
            if fields.count == 2, Int(fields[1])! - 1 != label {
                throw .malformedLine(file: file, line: n, reason: "label \(fields[1]) disagrees with class \(folder) (\(label + 1))")
            }
            items.append(Annotation(path: path, label: label))
        }
        return AnnotationList(items: items, classes: classes)
    }
}

/// HMDB51: one `<class>_test_split<N>.txt` per class, `video.avi id` with 1 = train, 2 = test,
/// 0 = unused. Classes are the sorted class names; paths are `<class>/<video>`.
public enum HMDB51 {
    public static func split(_ n: Int, in directory: URL) throws(AnnotationError) -> (train: AnnotationList, test: AnnotationList) {
        let suffix = "_test_split\(n).txt"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else {
            throw .missingFile(directory.path)
        }
        let classes = names.filter { $0.hasSuffix(suffix) }.map { String($0.dropLast(suffix.count)) }.sorted()
        if classes.isEmpty { throw .missingFile(directory.appendingPathComponent("*" + suffix).path) }
        var train: [Annotation] = [], test: [Annotation] = []
        for (label, name) in classes.enumerated() {
            let url = directory.appendingPathComponent(name + suffix)
            for (line, fields) in AnnotationList.lines(try AnnotationList.read(url)) {
                guard fields.count == 2, let use = Int(fields[1]), (0...2).contains(use) else {
                    throw .malformedLine(file: url.path, line: line, reason: "expected 'video.avi 0|1|2'")
                }
                try DataRoot.check(fields[0], file: url.path, line: line)
                let path = "\(name)/\(fields[0])"
                if use == 1 { train.append(Annotation(path: path, label: label)) }
                if use == 2 { test.append(Annotation(path: path, label: label)) }
            }
        }
        return (AnnotationList(items: train, classes: classes), AnnotationList(items: test, classes: classes))
    }
}

/// Kinetics (400/600/700): a CSV with a header naming at least `label`, `youtube_id`,
/// `time_start`, `time_end`; files are `<id>_<start:06>_<end:06>.mp4`, flat or in class folders.
/// Class indices follow the sorted labels, of this file unless `classes` is given (use the train
/// file's classes for validation).
public enum Kinetics {
    public static func annotations(csv url: URL, classes: [String]? = nil,
                                   classFolders: Bool = false) throws(AnnotationError) -> AnnotationList {
        try parse(AnnotationList.read(url), file: url.path, classes: classes, classFolders: classFolders)
    }

    public static func parse(_ text: String, file: String = "<csv>", classes: [String]? = nil,
                             classFolders: Bool = false) throws(AnnotationError) -> AnnotationList {
        let rows = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated()
            .map { ($0 + 1, csvFields(String($1))) }
            .filter { !($0.1.count == 1 && $0.1[0].isEmpty) }
        guard let header = rows.first?.1 else { throw .malformedLine(file: file, line: 1, reason: "empty CSV") }
        let column = Dictionary(header.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        guard let cLabel = column["label"], let cID = column["youtube_id"],
              let cStart = column["time_start"], let cEnd = column["time_end"] else {
            throw .malformedLine(file: file, line: rows[0].0, reason: "header needs label, youtube_id, time_start, time_end")
        }
        var parsed: [(line: Int, label: String, name: String)] = []
        for (n, f) in rows.dropFirst() {
            guard f.count == header.count, let start = seconds(f[cStart]), let end = seconds(f[cEnd]), !f[cID].isEmpty else {
                throw .malformedLine(file: file, line: n,
                                     reason: "expected \(header.count) fields with times of 0 to \(maxSeconds) seconds")
            }
            let name = f[cID] + "_" + pad6(start) + "_" + pad6(end) + ".mp4"
            parsed.append((n, f[cLabel], name))
        }
        let names = classes ?? Set(parsed.map(\.label)).sorted()
        let index = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($1, $0) })
        var items: [Annotation] = []
        for p in parsed {
            guard let label = index[p.label] else { throw .unknownClass(p.label, file: file, line: p.line) }
            let path = classFolders ? "\(p.label)/\(p.name)" : p.name
            try DataRoot.check(path, file: file, line: p.line)
            items.append(Annotation(path: path, label: label))
        }
        return AnnotationList(items: items, classes: names)
    }

    /// Times past this are taken as a corrupt row rather than a clip's bounds.
    static let maxSeconds = 1_000_000_000

    /// A time column's whole seconds; nil unless it is a number from 0 to `maxSeconds` (NaN,
    /// infinities and huge values would trap in the conversion to Int).
    static func seconds(_ field: String) -> Int? {
        guard let value = Double(field), value >= 0, value <= Double(maxSeconds) else { return nil }
        return Int(value)
    }

    static func pad6(_ v: Int) -> String {
        let s = String(v)
        return s.count >= 6 ? s : String(repeating: "0", count: 6 - s.count) + s
    }

    /// One CSV record: commas split fields except inside double quotes; `""` is a quote.
    static func csvFields(_ line: String) -> [String] {
        var fields: [String] = [], field = "", quoted = false
        var chars = line.makeIterator()
        while let c = chars.next() {
            switch c {
            case "\"" where quoted:
                if let next = chars.next() {
                    if next == "\"" { field.append("\"") } else {
                        quoted = false
                        if next == "," { fields.append(field); field = "" } else if next != "\r" { field.append(next) }
                    }
                } else { quoted = false }
            case "\"" where field.isEmpty: quoted = true
            case "," where !quoted: fields.append(field); field = ""
            case "\r" where !quoted: break
            default: field.append(c)
            }
        }
        fields.append(field)
        return fields
    }
}

/// Something-Something v2: `something-something-v2-{train,validation}.json` entries with `id` and
/// `template`; the template without its `[` `]` is a key of `labels.json` (name → index string).
/// Files are `<id>.webm`.
public enum SomethingSomethingV2 {
    public static func annotations(entries url: URL, labels labelsURL: URL) throws(AnnotationError) -> AnnotationList {
        try parse(entries: Data(AnnotationList.read(url).utf8), file: url.path,
                  labels: Data(AnnotationList.read(labelsURL).utf8), labelsFile: labelsURL.path)
    }

    public static func parse(entries: Data, file: String = "<entries>", labels: Data,
                             labelsFile: String = "<labels>") throws(AnnotationError) -> AnnotationList {
        guard let table = try? JSONSerialization.jsonObject(with: labels) as? [String: Any] else {
            throw .malformedLine(file: labelsFile, line: 1, reason: "expected an object of class name → index")
        }
        var index: [String: Int] = [:]
        for (name, value) in table {
            guard let i = (value as? String).flatMap({ Int($0) }) ?? (value as? Int), i >= 0 else {
                throw .malformedLine(file: labelsFile, line: 1, reason: "index of '\(name)' is not an integer")
            }
            index[name] = i
        }
        guard Set(index.values) == Set(0..<index.count) else {
            throw .malformedLine(file: labelsFile, line: 1, reason: "class indices are not 0…\(index.count - 1), each once")
        }
        var classes = Array(repeating: "", count: index.count)
        for (name, i) in index { classes[i] = name }
        guard let list = try? JSONSerialization.jsonObject(with: entries) as? [[String: Any]] else {
            throw .malformedLine(file: file, line: 1, reason: "expected an array of entries")
        }
        var items: [Annotation] = []
        for (i, entry) in list.enumerated() {
            let id = (entry["id"] as? String) ?? (entry["id"] as? Int).map(String.init)
            guard let id, !id.isEmpty, let template = entry["template"] as? String else {
                throw .malformedLine(file: file, line: i + 1, reason: "entry needs 'id' and 'template'")
            }
            let name = template.replacingOccurrences(of: "[", with: "").replacingOccurrences(of: "]", with: "")
            guard let label = index[name] else { throw .unknownClass(name, file: file, line: i + 1) }
            let path = id + ".webm"
            try DataRoot.check(path, file: file, line: i + 1)
            items.append(Annotation(path: path, label: label))
        }
        return AnnotationList(items: items, classes: classes)
    }
}
