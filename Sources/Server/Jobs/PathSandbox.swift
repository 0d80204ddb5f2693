import Foundation

/// Confines paths to one folder: a path (relative ones are read from the folder) is allowed
/// when, with every symlink and `..` resolved, it is the folder or lies inside it.
struct PathSandbox: Sendable {
    /// The folder, with its own symlinks resolved.
    let root: String
    /// What the folder is called in error messages ("the data root").
    let name: String

    init(root: URL, name: String) throws(ServerStartError) {
        guard let real = Self.realPath(root.path) else { throw .dataRoot(path: root.path) }
        self.root = real
        self.name = name
    }

    /// The real path of an existing `path` inside the root; 400 naming `key` and the path otherwise.
    func resolveExisting(_ path: String, key: String) throws(APIError) -> String {
        let absolute = absolutePath(path)
        guard let real = Self.realPath(absolute) else {
            throw .badRequest("\(key): \(path) does not exist (relative paths are read from \(name) \(root))", code: "bad_path")
        }
        try check(real, given: path, key: key)
        return real
    }

    /// The path of a possibly missing `path` inside the root: its deepest existing folder is
    /// resolved, and the rest may not climb out with `..`.
    func resolveAnywhere(_ path: String, key: String) throws(APIError) -> String {
        var existing = URL(fileURLWithPath: absolutePath(path))
        var rest: [String] = []
        while Self.realPath(existing.path) == nil && existing.path != "/" {
            rest.insert(existing.lastPathComponent, at: 0)
            existing.deleteLastPathComponent()
        }
        guard !rest.contains(".."), let base = Self.realPath(existing.path) else {
            throw .badRequest("\(key): \(path) is outside \(name) \(root)", code: "path_outside_root")
        }
        let real = rest.reduce(URL(fileURLWithPath: base)) { $0.appendingPathComponent($1) }.path
        try check(real, given: path, key: key)
        return real
    }

    func contains(_ real: String) -> Bool {
        real == root || real.hasPrefix(root.hasSuffix("/") ? root : root + "/")
    }

    private func check(_ real: String, given path: String, key: String) throws(APIError) {
        guard contains(real) else {
            let shown = real == path ? path : "\(path) (\(real))"
            throw .badRequest("\(key): \(shown) is outside \(name) \(root)", code: "path_outside_root")
        }
    }

    private func absolutePath(_ path: String) -> String {
        path.hasPrefix("/") ? path : URL(fileURLWithPath: root).appendingPathComponent(path).path
    }

    /// realpath(3): nil when the path does not exist.
    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}
