import Clips
import Foundation
import Support

/// Turns an unpacked dataset folder into the lists `motive train` reads: found (`.lists`) or
/// written (every other format) as `train.txt`, `val.txt` and `classes.txt`.
///
/// - `.lists`: `train.txt` (required), `val.txt` and `classes.txt` (optional) at the top; entries
///   are relative to the lists' folder.
/// - `.folders`: a folder per class (the class is the folder's name; classes sorted; folders with
///   no video are not classes). With top-level `train/` and `val/` folders, each holding class
///   folders, those are the splits; otherwise the last 20% of each class's videos (sorted by
///   path, rounded) are validation and the rest train.
/// - `.ucf101`: the folder holding `classInd.txt`, `trainlist0N.txt`, `testlist0N.txt` (as in
///   `ucfTrainTestlist/`); `.hmdb51`: the folder holding `<class>_test_splitN.txt`; `.kinetics`:
///   `train.csv` and `validate.csv` (or `val.csv`, `validation.csv`); `.ssv2`: `labels.json`,
///   `something-something-v2-train.json` and `something-something-v2-validation.json`. Split
///   files are looked for down to three folders deep. The videos are under the first folder (the
///   shallowest, then by name) that holds the first training entry. `split` picks UCF101's and
///   HMDB51's split (1–3); Kinetics and SSv2 have one.
///
/// Everything may sit in one folder wrapping the rest, as `tar czf x.tgz mydata/` makes. Lists
/// that Motive writes go into `folder` itself. Every entry must resolve inside `folder`: absolute
/// paths, `..` and symlinks leading out are refused.
public enum DatasetLayout {
    public static func prepare(_ folder: URL, format: DatasetFormat, split: Int = 1) throws(DatasetLayoutError) -> DatasetLists {
        let dataset = try Tree(folder)
        switch format {
        case .lists: return try lists(in: dataset)
        case .folders:
            let (train, val) = try classFolders(in: dataset)
            return try write(train: train, val: val, into: dataset)
        case .ucf101, .hmdb51, .kinetics, .ssv2:
            let (train, val) = try officialSplits(format, split: split, in: dataset)
            return try write(train: train, val: val, into: dataset)
        }
    }

    /// The files `prepare` writes.
    static let listNames: Set<String> = ["train.txt", "val.txt", "classes.txt"]

    /// The extensions a folder of a class may hold videos with, for messages.
    static var videoExtensionList: String { DataRoot.videoExtensions.sorted().map { "." + $0 }.joined(separator: ", ") }

    // MARK: - Lists

    static func lists(in dataset: Tree) throws(DatasetLayoutError) -> DatasetLists {
        let top = dataset.folder
        let folder = [top, dataset.wrapper].compactMap { $0 }.first { dataset.isFile($0.appendingPathComponent("train.txt")) }
        guard let folder else { throw .missingTrainList }
        let trainURL = folder.appendingPathComponent("train.txt")
        let valURL = folder.appendingPathComponent("val.txt")
        let classesURL = folder.appendingPathComponent("classes.txt")
        let hasVal = dataset.isFile(valURL), hasClasses = dataset.isFile(classesURL)
        let classes = hasClasses ? try dataset.read { () throws(AnnotationError) in try AnnotationList.readClassNames(dataset.inside(classesURL)) } : []
        let train = try dataset.read { () throws(AnnotationError) in try AnnotationList.readList(dataset.inside(trainURL), classes: classes) }
        let val = hasVal ? try dataset.read { () throws(AnnotationError) in try AnnotationList.readList(dataset.inside(valURL), classes: classes) } : nil
        guard !train.items.isEmpty else { throw .emptyList(dataset.relative(trainURL)) }
        try dataset.confine(train, root: folder, list: trainURL)
        if let val { try dataset.confine(val, root: folder, list: valURL) }
        return DatasetLists(train: trainURL, val: hasVal ? valURL : nil, classes: hasClasses ? classesURL : nil, root: folder)
    }

    // MARK: - Class folders

    static func classFolders(in dataset: Tree) throws(DatasetLayoutError) -> (AnnotationList, AnnotationList) {
        // A wrapping folder is one without videos of its own: a lone class folder holds them.
        let content = dataset.wrapper.flatMap { dataset.videoFiles(in: $0).isEmpty ? $0 : nil } ?? dataset.folder
        let prefix = dataset.relative(content)
        let trainDir = content.appendingPathComponent("train"), valDir = content.appendingPathComponent("val")
        if dataset.isFolder(trainDir), dataset.isFolder(valDir),
           dataset.videoFiles(in: trainDir).isEmpty, dataset.videoFiles(in: valDir).isEmpty {
            let train = try discover(trainDir, prefix: join(prefix, "train"), dataset: dataset)
            let val = try discover(valDir, prefix: join(prefix, "val"), dataset: dataset)
            let classes = Set(train.classes + val.classes).sorted()
            guard !train.items.isEmpty else { throw .noVideos }
            return (relabel(train, classes), relabel(val, classes))
        }
        let all = try discover(content, prefix: prefix, dataset: dataset)
        guard !all.items.isEmpty else { throw .noVideos }
        var train: [Annotation] = [], val: [Annotation] = []
        for label in all.classes.indices {
            let items = all.items.filter { $0.label == label }        // sorted by path already
            let valCount = Int((Double(items.count) * 0.2).rounded())
            train += items.dropLast(valCount)
            val += items.suffix(valCount)
        }
        return (AnnotationList(items: train, classes: all.classes), AnnotationList(items: val, classes: all.classes))
    }

    /// The classes under `folder` that hold videos, entries prefixed with `prefix`.
    static func discover(_ folder: URL, prefix: String, dataset: Tree) throws(DatasetLayoutError) -> AnnotationList {
        let found: AnnotationList
        do { found = try DataRoot(folder).discoverClassFolders() } catch { throw .unreadableFolder(dataset.relative(folder)) }
        if found.classes.isEmpty { throw .noClassFolders }
        let used = Set(found.items.map(\.label))
        let classes = found.classes.indices.filter(used.contains).map { found.classes[$0] }
        let items = found.items.map { Annotation(path: join(prefix, $0.path), label: $0.label) }
        return relabel(AnnotationList(items: items, classes: found.classes), classes)
    }

    /// `list` with its labels renumbered to index `classes` (every class of `list` with an entry must be in it).
    static func relabel(_ list: AnnotationList, _ classes: [String]) -> AnnotationList {
        let index = Dictionary(uniqueKeysWithValues: classes.enumerated().map { ($1, $0) })
        let items = list.items.map { Annotation(path: $0.path, label: index[list.classes[$0.label]]!, frameCount: $0.frameCount) }
        return AnnotationList(items: items, classes: classes)
    }

    static func join(_ prefix: String, _ path: String) -> String { prefix.isEmpty ? path : prefix + "/" + path }

    // MARK: - Writing

    /// Writes `train.txt`, `val.txt` and `classes.txt` (the train list's classes) into the
    /// dataset's folder, after checking that every entry stays inside it.
    static func write(train: AnnotationList, val: AnnotationList, into dataset: Tree) throws(DatasetLayoutError) -> DatasetLists {
        let folder = dataset.folder
        let lists = DatasetLists(train: folder.appendingPathComponent("train.txt"), val: folder.appendingPathComponent("val.txt"),
                                 classes: folder.appendingPathComponent("classes.txt"), root: folder)
        guard !train.items.isEmpty else { throw .emptyList("train.txt") }
        try dataset.confine(train, root: folder, list: lists.train)
        try dataset.confine(val, root: folder, list: lists.val!)
        try writeLists(train: train, val: val, into: folder)
        return lists
    }

    /// `train.txt`, `val.txt` and `classes.txt` (the train list's classes) in `folder`, written atomically.
    public static func writeLists(train: AnnotationList, val: AnnotationList, into folder: URL) throws(DatasetLayoutError) {
        for (name, text) in [("train.txt", train.text), ("val.txt", val.text),
                             ("classes.txt", train.classes.map { $0 + "\n" }.joined())] {
            do { try AtomicFile.write(Data(text.utf8), to: folder.appendingPathComponent(name)) } catch {
                throw .writeFailed(name, reason: error.reason)
            }
        }
    }
}
