/// A dataset's name as the daemon's routes and job configs use it: 1–64 characters of lower-case
/// letters, digits, `-` and `_`, starting with a letter or digit. It names a folder under the data
/// root's `datasets/`, so nothing else (no `/`, `.`, or upper case that a case-folding file
/// system would merge) is allowed.
public struct DatasetName: Hashable, Codable, Sendable, CustomStringConvertible {
    public let value: String

    public init?(_ text: String) {
        guard (1...64).contains(text.utf8.count), let first = text.utf8.first,
              Self.isAlphanumeric(first), text.utf8.allSatisfy({ Self.isAlphanumeric($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") })
        else { return nil }
        value = text
    }

    public var description: String { value }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let name = DatasetName(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: Self.rule))
        }
        self = name
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(value)
    }

    /// What a valid name looks like, for error messages.
    public static let rule = "a dataset name is 1–64 characters of a–z, 0–9, - and _, starting with a letter or digit"

    private static func isAlphanumeric(_ b: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(b) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b)
    }
}
