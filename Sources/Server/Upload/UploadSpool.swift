import Foundation

/// The folder uploads stream into before decoding: one uniquely named file per request, removed
/// when the request ends (also on errors). Left-overs of a crash are cleared at start.
struct UploadSpool: Sendable {
    let directory: URL

    /// Creates the folder (owner-only) and removes files a previous process left behind.
    init(directory: URL) throws {
        self.directory = directory
        let fm = FileManager.default
        try fm.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        for name in (try? fm.contentsOfDirectory(atPath: directory.path)) ?? [] where name.hasSuffix(".upload") {
            try? fm.removeItem(at: directory.appendingPathComponent(name))
        }
    }

    /// A fresh path no other request uses.
    func makePath() -> String {
        directory.appendingPathComponent("\(UUID().uuidString).upload").path
    }

    /// Runs `body` with a fresh path and removes the file afterwards, whatever happens.
    func withUploadPath<T>(_ body: (String) async throws -> T) async throws -> T {
        let path = makePath()
        defer { unlink(path) }
        return try await body(path)
    }
}
