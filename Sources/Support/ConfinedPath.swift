import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A folder that file reads must stay inside, symlinks included. A path is resolved one
/// component at a time: every symlink met is followed (its target read, never opened), `.` and
/// `..` are applied, and the part that does not exist is taken as written. So a dangling link
/// that points outside is outside too, and whether something exists outside the folder never
/// changes the answer.
public struct ConfinedPath: Sendable, Equatable, Codable {
    /// The folder, absolute and with its own symlinks resolved.
    public let root: String

    /// Nil when `folder` does not exist.
    public init?(_ folder: URL) {
        guard let real = Self.resolve(folder.path) else { return nil }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: real, isDirectory: &isDirectory), isDirectory.boolValue else { return nil }
        root = real
    }

    /// `url` with every symlink resolved, when it lies inside the root; nil otherwise.
    public func check(_ url: URL) -> URL? {
        guard let real = Self.resolve(url.path), contains(real) else { return nil }
        return URL(fileURLWithPath: real)
    }

    public func contains(_ real: String) -> Bool {
        real == root || real.hasPrefix(root == "/" ? "/" : root + "/")
    }

    /// The absolute path `path` names (relative paths are taken from the working directory),
    /// with symlinks followed as far as the path exists; nil past 40 links (a loop), where the
    /// kernel gives up too.
    public static func resolve(_ path: String) -> String? {
        var pending = components(path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path)
        var resolved: [String] = []
        var links = 0
        var exists = true
        while !pending.isEmpty {
            let part = pending.removeFirst()
            if part == "." { continue }
            if part == ".." { _ = resolved.popLast(); continue }
            resolved.append(part)
            guard exists else { continue }
            let current = "/" + resolved.joined(separator: "/")
            var info = stat()
            guard lstat(current, &info) == 0 else { exists = false; continue }
            guard info.st_mode & S_IFMT == S_IFLNK, let target = readLink(current) else { continue }
            links += 1
            if links > 40 { return nil }
            resolved.removeLast()
            if target.hasPrefix("/") { resolved = [] }
            pending = components(target) + pending
        }
        return "/" + resolved.joined(separator: "/")
    }

    private static func components(_ path: String) -> [String] {
        path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
    }

    private static func readLink(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink(path, &buffer, buffer.count - 1)
        guard count > 0 else { return nil }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
