/// Why a server could not start.
public enum ServerStartError: Error, CustomStringConvertible {
    case stateDirectory(path: String, reason: String)
    case dataRoot(path: String)

    public var description: String {
        switch self {
        case .stateDirectory(let path, let reason): "state directory \(path): \(reason)"
        case .dataRoot(let path): "data root \(path) is not a readable folder"
        }
    }
}
