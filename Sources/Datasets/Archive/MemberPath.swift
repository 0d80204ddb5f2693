/// A member's name, checked and split into the components it will have under the destination.
enum MemberPath {
    /// `name`'s components, with `.` components and trailing slashes dropped (the slash is
    /// reported as `directory`). An empty result is the destination folder itself (`./`).
    ///
    /// Refuses empty names, absolute names, `..`, empty components in the middle (`a//b`),
    /// backslashes and NUL (`.unsafePath`), and bytes that are not UTF-8 (`.notUTF8`).
    static func components(_ name: [UInt8]) throws(ArchiveError) -> (components: [String], directory: Bool) {
        let shown = String(decoding: name, as: UTF8.self)
        guard !name.isEmpty, !name.contains(0), !name.contains(UInt8(ascii: "\\")), name.first != UInt8(ascii: "/") else {
            throw .unsafePath(shown)
        }
        guard let text = String(validating: name, as: UTF8.self) else { throw .notUTF8 }
        var parts = text.split(separator: "/", omittingEmptySubsequences: false)
        var directory = false
        while parts.count > 1, parts.last == "" { parts.removeLast(); directory = true }
        var components: [String] = []
        components.reserveCapacity(parts.count)
        for part in parts {
            switch part {
            case ".": continue
            case "", "..": throw .unsafePath(shown)
            default: components.append(String(part))
            }
        }
        return (components, directory)
    }
}
