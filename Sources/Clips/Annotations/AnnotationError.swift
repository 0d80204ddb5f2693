/// What can go wrong reading an annotation list or an official split; every case names its file.
public enum AnnotationError: Error, Equatable, CustomStringConvertible {
    /// Line (or JSON entry) `line`, counted from 1, does not have the expected fields.
    case malformedLine(file: String, line: Int, reason: String)
    case unknownClass(String, file: String, line: Int)
    case missingFile(String)
    /// An absolute path or one that climbs out of the data root with `..`.
    case pathEscapesRoot(String, file: String, line: Int)

    public var description: String {
        switch self {
        case .malformedLine(let file, let line, let reason): "\(file):\(line): \(reason)"
        case .unknownClass(let name, let file, let line): "\(file):\(line): unknown class '\(name)'"
        case .missingFile(let path): "missing file \(path)"
        case .pathEscapesRoot(let path, let file, let line): "\(file):\(line): path '\(path)' leaves the data root"
        }
    }
}
