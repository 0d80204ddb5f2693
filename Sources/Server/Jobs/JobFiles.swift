import Foundation
import Hummingbird
import NIOCore
import NIOFileSystem
import Support

/// The files of a job's run directory, as `GET /v1/jobs/{id}/files` lists them and
/// `GET /v1/jobs/{id}/files/{name}` (or `{folder}/{name}`) serves them: a training run's
/// curves, metrics, log, checkpoints and evaluation; a bench's table and charts. Names are plain
/// file names (no `..`, no leading dot, no separators), and the file's real path must lie in the
/// run directory, so neither a name nor a symlink reaches anything else.
struct JobFiles {
    let folder: URL

    struct Entry: Encodable {
        let name: String
        let bytes: Int
        let contentType: String
        enum CodingKeys: String, CodingKey { case name, bytes, contentType = "content_type" }
    }
    struct Listing: Encodable { let files: [Entry] }

    /// Files at the top of the run directory and one folder down, by name; hidden files (an
    /// atomic write in progress) are left out.
    func list() -> Listing {
        var entries: [Entry] = []
        func scan(_ url: URL, prefix: String, depth: Int) {
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: url.path) else { return }
            for name in names where Self.isPlainName(name) {
                let item = url.appendingPathComponent(name)
                guard let attributes = try? FileManager.default.attributesOfItem(atPath: item.path),
                      let type = attributes[.type] as? FileAttributeType else { continue }
                if type == .typeDirectory, depth == 0 {
                    scan(item, prefix: prefix + name + "/", depth: 1)
                } else if type == .typeRegular {
                    entries.append(Entry(name: prefix + name, bytes: (attributes[.size] as? Int) ?? 0, contentType: Self.contentType(of: name)))
                }
            }
        }
        scan(folder, prefix: "", depth: 0)
        return Listing(files: entries.sorted { $0.name < $1.name })
    }

    /// The file at `rawParts` (path components, percent-encoded) under the run directory,
    /// streamed with its content type.
    func response(for rawParts: [String]) throws -> Response {
        // Path parameters arrive percent-encoded: "%2E%2E" is "..".
        let parts = rawParts.map { $0.removingPercentEncoding ?? $0 }
        if let bad = parts.first(where: { !Self.isPlainName($0) }) {
            throw APIError.badRequest("file names are plain names inside the job's run directory (no '..', '/' or leading '.'), got \(bad)",
                                      code: "bad_file_name")
        }
        let url = parts.reduce(folder) { $0.appendingPathComponent($1) }
        let name = parts.joined(separator: "/")
        var isFolder: ObjCBool = false
        guard let confinement = ConfinedPath(folder), let real = confinement.check(url),
              FileManager.default.fileExists(atPath: real.path, isDirectory: &isFolder), !isFolder.boolValue else {
            throw APIError.notFound("this job has no file \(name); GET its /files lists them", code: "file_not_found")
        }
        let path = real.path
        let body = Self.streaming(path)
        var headers: HTTPFields = [.contentType: Self.contentType(of: name)]
        if let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int { headers[.contentLength] = String(size) }
        return Response(status: .ok, headers: headers, body: body)
    }

    /// The file at `path`, read from disk in chunks as the response is written; an empty body
    /// when there is no file (yet).
    static func streaming(_ path: String) -> ResponseBody {
        ResponseBody { writer in
            if FileManager.default.fileExists(atPath: path) {
                try await FileSystem.shared.withFileHandle(forReadingAt: FilePath(path)) { file in
                    for try await chunk in file.readChunks() { try await writer.write(chunk) }
                }
            }
            try await writer.finish(nil)
        }
    }

    /// A name of one path component that cannot climb or hide: not empty, no leading dot, no
    /// separator or control character.
    static func isPlainName(_ name: String) -> Bool {
        !name.isEmpty && !name.hasPrefix(".") && name.utf8.count <= 255
            && !name.unicodeScalars.contains { $0 == "/" || $0 == "\\" || $0.value < 0x20 || $0.value == 0x7F }
    }

    static func contentType(of name: String) -> String {
        switch URL(fileURLWithPath: name).pathExtension.lowercased() {
        case "svg": "image/svg+xml"
        case "png": "image/png"
        case "csv": "text/csv; charset=utf-8"
        case "md": "text/markdown; charset=utf-8"
        case "json": "application/json"
        case "jsonl": "application/x-ndjson"
        case "yaml", "yml": "application/yaml"
        case "txt", "log": "text/plain; charset=utf-8"
        default: "application/octet-stream"
        }
    }
}
