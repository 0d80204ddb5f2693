import Clips
import Foundation

extension DatasetLayout {
    /// The train and validation lists of an official split, through the importers of `Clips`,
    /// with entries relative to the dataset folder.
    static func officialSplits(_ format: DatasetFormat, split: Int,
                               in dataset: Tree) throws(DatasetLayoutError) -> (train: AnnotationList, val: AnnotationList) {
        let folders = dataset.folders()
        /// The first folder holding every one of `names` (each a choice of names), or the error naming `expected`.
        func find(_ expected: String, _ names: [[String]]) throws(DatasetLayoutError) -> (URL, [URL]) {
            for folder in folders {
                let files = names.compactMap { choices in
                    choices.lazy.map { folder.appendingPathComponent($0) }.first(where: dataset.isFile)
                }
                if files.count == names.count {
                    for file in files { _ = try dataset.read { () throws(AnnotationError) in try dataset.inside(file) } }
                    return (folder, files)
                }
            }
            throw .splitFilesMissing(format: format, expected: expected)
        }
        func official(_ body: () throws(AnnotationError) -> (AnnotationList, AnnotationList)) throws(DatasetLayoutError) -> (AnnotationList, AnnotationList) {
            try dataset.read(missing: { .splitFilesMissing(format: format, expected: $0) }, body)
        }

        switch format {
        case .ucf101:
            guard (1...3).contains(split) else { throw .invalidSplit(format: format, split: split) }
            let (folder, _) = try find("classInd.txt, trainlist0\(split).txt and testlist0\(split).txt in one folder (as in ucfTrainTestlist/)",
                                       [["classInd.txt"], ["trainlist0\(split).txt"], ["testlist0\(split).txt"]])
            return try locate(format, official { () throws(AnnotationError) in try UCF101.split(split, in: folder) }, in: dataset, folders: folders)
        case .hmdb51:
            guard (1...3).contains(split) else { throw .invalidSplit(format: format, split: split) }
            let suffix = "_test_split\(split).txt"
            let files = folders.lazy.map { folder in Tree.visible(folder).filter { $0.lastPathComponent.hasSuffix(suffix) && dataset.isFile($0) } }
            guard let splitFiles = files.first(where: { !$0.isEmpty }), let folder = splitFiles.first?.deletingLastPathComponent() else {
                throw .splitFilesMissing(format: format, expected: "<class>\(suffix) files (as in testTrainMulti_7030_splits/)")
            }
            for file in splitFiles { _ = try dataset.read { () throws(AnnotationError) in try dataset.inside(file) } }
            return try locate(format, official { () throws(AnnotationError) in try HMDB51.split(split, in: folder) }, in: dataset, folders: folders)
        case .kinetics:
            let (_, files) = try find("train.csv and validate.csv (or val.csv, validation.csv) in one folder",
                                      [["train.csv"], ["validate.csv", "val.csv", "validation.csv"]])
            // Videos sit in a folder per label, or flat: whichever the archive holds. Folders
            // first, since a flat search would also find a file inside its label's folder.
            var missing: DatasetLayoutError?
            for classFolders in [true, false] {
                let lists = try official { () throws(AnnotationError) in
                    let train = try Kinetics.annotations(csv: files[0], classFolders: classFolders)
                    return (train, try Kinetics.annotations(csv: files[1], classes: train.classes, classFolders: classFolders))
                }
                do { return try locate(format, lists, in: dataset, folders: folders) } catch .videosNotFound(let f, let entry) {
                    missing = missing ?? .videosNotFound(format: f, entry: entry)
                }
            }
            throw missing!
        case .ssv2:
            let (_, files) = try find("labels.json, something-something-v2-train.json and something-something-v2-validation.json in one folder",
                                      [["labels.json"], ["something-something-v2-train.json", "train.json"],
                                       ["something-something-v2-validation.json", "validation.json"]])
            return try locate(format, official { () throws(AnnotationError) in
                (try SomethingSomethingV2.annotations(entries: files[1], labels: files[0]),
                 try SomethingSomethingV2.annotations(entries: files[2], labels: files[0]))
            }, in: dataset, folders: folders)
        case .lists, .folders:
            preconditionFailure("\(format) has no official split files")
        }
    }

    /// `lists` with entries made relative to the dataset folder: the videos are under the first
    /// of `folders` that holds the first training entry.
    static func locate(_ format: DatasetFormat, _ lists: (AnnotationList, AnnotationList), in dataset: Tree,
                       folders: [URL]) throws(DatasetLayoutError) -> (train: AnnotationList, val: AnnotationList) {
        let (train, val) = lists
        guard let first = train.items.first?.path else { throw .emptyList("the \(format.rawValue) training split") }
        guard let videos = folders.first(where: { FileManager.default.fileExists(atPath: $0.appendingPathComponent(first).path) }) else {
            throw .videosNotFound(format: format, entry: first)
        }
        let prefix = dataset.relative(videos)
        func moved(_ list: AnnotationList) -> AnnotationList {
            AnnotationList(items: list.items.map { Annotation(path: join(prefix, $0.path), label: $0.label, frameCount: $0.frameCount) },
                           classes: list.classes)
        }
        return (moved(train), moved(val))
    }
}
