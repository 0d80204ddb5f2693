import Foundation

/// How an unpacked dataset says what its samples are (`DatasetLayout.prepare`).
public enum DatasetFormat: String, Codable, Sendable, CaseIterable {
    /// `train.txt` (and optionally `val.txt`, `classes.txt`) in the formats `motive train` reads.
    case lists
    /// A folder per class, optionally under `train/` and `val/`.
    case folders
    /// Official split files, through the importers of `Clips`.
    case ucf101, hmdb51, kinetics, ssv2
}

/// Where a prepared dataset's lists are. Paths are absolute. List entries are relative to `root`,
/// the folder holding `train`; `classes`, when there is one, sits beside `train` (where
/// `TrainingData.load` looks for it).
public struct DatasetLists: Codable, Sendable, Equatable {
    public var train: URL
    public var val: URL?
    public var classes: URL?
    public var root: URL

    public init(train: URL, val: URL? = nil, classes: URL? = nil, root: URL) {
        (self.train, self.val, self.classes, self.root) = (train, val, classes, root)
    }
}

/// Why a dataset folder cannot be turned into lists. Paths are relative to the dataset folder,
/// so that a message can go back to whoever uploaded it without naming the server's folders.
public enum DatasetLayoutError: Error, Equatable, CustomStringConvertible {
    /// The folder itself is missing or cannot be listed.
    case unreadableFolder(String)
    /// `.lists`: no `train.txt` at the top (or inside the one folder wrapping everything).
    case missingTrainList
    /// A list holds no entries.
    case emptyList(String)
    /// A list (or split file) line does not parse.
    case malformedList(file: String, line: Int, reason: String)
    /// A line names a class the class file does not have.
    case unknownClass(String, file: String, line: Int)
    /// An entry is absolute, climbs out with `..`, or leads out through a symlink.
    case entryOutsideFolder(String, file: String, line: Int)
    /// `.folders`: no sub-folder holding videos.
    case noClassFolders
    /// `.folders`: class folders, but not one video file in them.
    case noVideos
    /// The official split files of `format` are not in the archive; `expected` says what was looked for.
    case splitFilesMissing(format: DatasetFormat, expected: String)
    /// `split` is not one of the format's official splits.
    case invalidSplit(format: DatasetFormat, split: Int)
    /// The split files name videos, but no folder of the archive holds the first of them.
    case videosNotFound(format: DatasetFormat, entry: String)
    /// Writing the lists failed.
    case writeFailed(String, reason: String)

    /// A stable snake_case name for APIs.
    public var code: String {
        switch self {
        case .unreadableFolder: "unreadable_folder"
        case .missingTrainList: "missing_train_list"
        case .emptyList: "empty_list"
        case .malformedList: "malformed_list"
        case .unknownClass: "unknown_class"
        case .entryOutsideFolder: "entry_outside_folder"
        case .noClassFolders: "no_class_folders"
        case .noVideos: "no_videos"
        case .splitFilesMissing: "split_files_missing"
        case .invalidSplit: "invalid_split"
        case .videosNotFound: "videos_not_found"
        case .writeFailed: "write_failed"
        }
    }

    public var description: String {
        switch self {
        case .unreadableFolder(let path): "cannot read the dataset folder \(path)"
        case .missingTrainList: "no train.txt at the top of the dataset (nor inside a single top-level folder)"
        case .emptyList(let file): "\(file) has no entries"
        case .malformedList(let file, let line, let reason): "\(file):\(line): \(reason)"
        case .unknownClass(let name, let file, let line): "\(file):\(line): unknown class '\(name)'"
        case .entryOutsideFolder(let path, let file, let line): "\(file):\(line): '\(path)' leads outside the dataset"
        case .noClassFolders: "no class folders: the folders format needs a folder per class holding its videos"
        case .noVideos: "the class folders hold no video files (\(DatasetLayout.videoExtensionList))"
        case .splitFilesMissing(let format, let expected): "no \(format.rawValue) split files in the dataset: expected \(expected)"
        case .invalidSplit(let format, let split): "\(format.rawValue) has splits 1, 2 and 3, not \(split)"
        case .videosNotFound(let format, let entry): "the \(format.rawValue) split files name \(entry), which no folder of the dataset holds"
        case .writeFailed(let path, let reason): "cannot write \(path): \(reason)"
        }
    }
}
