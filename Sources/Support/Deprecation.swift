import Foundation

/// Old spellings that still work for one release: each is reported once per process, on stderr.
public enum Deprecation {
    private static let seen = Locked(Set<String>())

    public static func warn(_ message: String) {
        let first = seen.withLock { $0.insert(message).inserted }
        if first { FileHandle.standardError.write(Data("deprecated: \(message)\n".utf8)) }
    }
}
