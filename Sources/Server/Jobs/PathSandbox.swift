import Foundation
import Support

/// Confines paths to one folder: a path (relative ones are read from the folder) is allowed
/// when, with every symlink and `..` resolved, it is the folder or lies inside it. Whether
/// something exists outside the folder never shows in an answer.
struct PathSandbox: Sendable {
    let confinement: ConfinedPath
    /// What the folder is called in error messages ("the data root").
    let name: String

    /// The folder, with its own symlinks resolved.
    var root: String { confinement.root }

    init(root: URL, name: String) throws(ServerStartError) {
        guard let confinement = ConfinedPath(root) else { throw .dataRoot(path: root.path) }
        self.confinement = confinement
        self.name = name
    }

    /// The real path of an existing `path` inside the root; 400 naming `key` and the path otherwise.
    func resolveExisting(_ path: String, key: String) throws(APIError) -> String {
        let real = try resolveAnywhere(path, key: key)
        guard FileManager.default.fileExists(atPath: real) else {
            throw .badRequest("\(key): \(path) does not exist (relative paths are read from \(name) \(root))", code: "bad_path")
        }
        return real
    }

    /// The real path of a possibly missing `path` inside the root.
    func resolveAnywhere(_ path: String, key: String) throws(APIError) -> String {
        guard let real = ConfinedPath.resolve(absolutePath(path)), confinement.contains(real) else {
            throw .badRequest("\(key): \(path) is outside \(name) \(root)", code: "path_outside_root")
        }
        return real
    }

    private func absolutePath(_ path: String) -> String {
        path.hasPrefix("/") ? path : URL(fileURLWithPath: root).appendingPathComponent(path).path
    }
}
