/// Why a job config was refused. Every case names the key path (`optimizer.lr`) or the file.
public enum ConfigError: Error, Equatable, CustomStringConvertible {
    case fileNotFound(String)
    case invalidYAML(file: String, reason: String)
    case baseCycle([String])
    case unknownKey(path: String, suggestion: String?)
    case typeMismatch(path: String, value: String, expected: String)
    case invalidValue(path: String, value: String, expected: String)
    case missingKey(String)
    case badOverride(String)

    public var description: String {
        switch self {
        case .fileNotFound(let path): "config file not found: \(path)"
        case .invalidYAML(let file, let reason): "\(file) is not valid YAML: \(reason)"
        case .baseCycle(let chain): "_base_ files include each other: \(chain.joined(separator: " → "))"
        case .unknownKey(let path, let suggestion):
            "unknown key \(Self.quoted(path))" + (suggestion.map { " (did you mean \($0)?)" } ?? "")
        case .typeMismatch(let path, let value, let expected): "\(Self.quoted(path)): \(Self.quoted(value)) is not \(expected)"
        case .invalidValue(let path, let value, let expected): "\(Self.quoted(path)): \(Self.quoted(value)) is invalid, expected \(expected)"
        case .missingKey(let path): "missing required key \(path)"
        case .badOverride(let text): "--set needs key.path=value, got \(Self.quoted(text))"
        }
    }

    /// Most characters of a config's own text that a message repeats.
    public static let quoteLimit = 200

    /// `text`, cut to `quoteLimit` characters with the length of the rest, so a huge value
    /// never becomes a huge message.
    public static func quoted(_ text: String) -> String {
        guard text.count > quoteLimit else { return text }
        return String(text.prefix(quoteLimit)) + "… (\(text.count - quoteLimit) more characters)"
    }
}
