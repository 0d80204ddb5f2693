/// Everything that can go wrong computing optical flow or reading and writing its files.
/// File errors name the file (or `<memory>`).
public enum FlowError: Error, Equatable, CustomStringConvertible {
    // Configuration and inputs
    case invalidParameter(name: String, value: String, reason: String)
    case invalidImage(reason: String)
    case imageTooSmall(width: Int, height: Int, minimum: Int)
    case sizeMismatch(width: Int, height: Int, otherWidth: Int, otherHeight: Int)
    case missingInitialFlow
    // Files
    case badMagic(path: String)
    case badHeader(path: String, reason: String)
    case badDimensions(path: String, width: Int, height: Int)
    case wrongLength(path: String, expected: Int, found: Int)
    case readFailed(path: String, reason: String)
    case writeFailed(path: String, reason: String)

    public var description: String {
        switch self {
        case .invalidParameter(let name, let value, let reason): "TV-L1 parameter \(name) = \(value): \(reason)"
        case .invalidImage(let reason): "invalid image: \(reason)"
        case .imageTooSmall(let width, let height, let minimum):
            "image \(width)×\(height) is smaller than the minimum \(minimum)×\(minimum)"
        case .sizeMismatch(let width, let height, let otherWidth, let otherHeight):
            "images differ in size: \(width)×\(height) and \(otherWidth)×\(otherHeight)"
        case .missingInitialFlow: "useInitialFlow is set but no initial flow was given"
        case .badMagic(let path): "\(path): not a Middlebury .flo file (bad magic number)"
        case .badHeader(let path, let reason): "\(path): bad header (\(reason))"
        case .badDimensions(let path, let width, let height): "\(path): implausible size \(width)×\(height)"
        case .wrongLength(let path, let expected, let found):
            "\(path): expected \(expected) bytes, found \(found)"
        case .readFailed(let path, let reason): "\(path): read failed (\(reason))"
        case .writeFailed(let path, let reason): "\(path): write failed (\(reason))"
        }
    }
}
