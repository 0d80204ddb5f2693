import Foundation

/// The folder an extraction writes into: created fresh, written only below itself (every path is
/// opened component by component from the folder's descriptor with `O_NOFOLLOW`), counted
/// against the limits as it grows, and removed whole when the extraction fails.
final class Destination {
    let folder: URL
    private let limits: ArchiveLimits
    private var root: Int32 = -1
    private(set) var summary = ExtractionSummary()
    /// Every path made so far (components joined by `/`): true for a directory.
    private var made: [String: Bool] = [:]
    /// The most recent parent folder's descriptor, since members usually come folder by folder.
    private var cached: (path: String, fd: Int32)?

    init(_ folder: URL, limits: ArchiveLimits) throws(ArchiveError) {
        self.folder = folder
        self.limits = limits
        let parent = folder.deletingLastPathComponent()
        do { try FileManager.default.createDirectory(at: parent, withIntermediateDirectories: true) } catch {
            throw .io("cannot create \(parent.path): \(error.localizedDescription)")
        }
        guard mkdir(folder.path, 0o755) == 0 else {
            throw .io(errno == EEXIST ? "\(folder.path) already exists" : "cannot create \(folder.path): \(Self.reason())")
        }
        root = open(folder.path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard root >= 0 else {
            let why = Self.reason()
            rmdir(folder.path)
            throw .io("cannot open \(folder.path): \(why)")
        }
        fchmod(root, 0o755)
    }

    deinit { closeDescriptors() }

    /// Removes the folder and everything written into it.
    func discard() {
        closeDescriptors()
        try? FileManager.default.removeItem(at: folder)
    }

    func finish() { closeDescriptors() }

    /// A directory member; naming one that exists already is harmless.
    func directory(_ components: [String]) throws(ArchiveError) {
        guard !components.isEmpty else { return }
        let parent = try parentDescriptor(components)
        try makeDirectory(components.joined(separator: "/"), named: components[components.count - 1], in: parent)
    }

    /// A regular file member, created empty; `declaredSize` (what the header says) refuses early a
    /// member that cannot fit, but the limit is enforced on what `OutputFile.write` writes.
    func file(_ components: [String], declaredSize: Int64) throws(ArchiveError) -> OutputFile {
        let path = components.joined(separator: "/")
        guard let name = components.last else { throw .unsafePath(path) }
        if let isDirectory = made[path] {
            throw .malformed(isDirectory ? "\(path) is both a directory and a file" : "duplicate member \(path)")
        }
        if declaredSize > limits.maxBytes - summary.bytes { throw .tooLarge(limitBytes: limits.maxBytes) }
        let parent = try parentDescriptor(components)
        try admit()
        let fd = openat(parent, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .io("cannot create \(path): \(Self.reason())") }
        fchmod(fd, 0o644)
        made[path] = false
        summary.files += 1
        return OutputFile(fd: fd, path: path, destination: self)
    }

    /// Counts `count` more bytes, refusing any past the limit.
    fileprivate func charge(_ count: Int) throws(ArchiveError) {
        guard Int64(count) <= limits.maxBytes - summary.bytes else { throw .tooLarge(limitBytes: limits.maxBytes) }
        summary.bytes += Int64(count)
    }

    private func admit() throws(ArchiveError) {
        guard summary.files + summary.directories < limits.maxFiles else { throw .tooManyFiles(limit: limits.maxFiles) }
    }

    private func makeDirectory(_ path: String, named name: String, in parent: Int32) throws(ArchiveError) {
        if let isDirectory = made[path] {
            if isDirectory { return }
            throw .malformed("\(path) is both a file and a directory")
        }
        try admit()
        guard mkdirat(parent, name, 0o755) == 0 else { throw .io("cannot create \(path): \(Self.reason())") }
        made[path] = true
        summary.directories += 1
    }

    /// The descriptor of `components`' parent folder, made (and counted) as needed.
    private func parentDescriptor(_ components: [String]) throws(ArchiveError) -> Int32 {
        guard components.count > 1 else { return root }
        let parentPath = components.dropLast().joined(separator: "/")
        if let cached, cached.path == parentPath { return cached.fd }
        var fd = root
        var path = ""
        for name in components.dropLast() {
            path = path.isEmpty ? name : path + "/" + name
            do { try makeDirectory(path, named: name, in: fd) } catch {
                if fd != root { close(fd) }
                throw error
            }
            let next = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            let why = Self.reason()
            if fd != root { close(fd) }
            guard next >= 0 else { throw .io("cannot open \(path): \(why)") }
            fd = next
        }
        if let cached { close(cached.fd) }
        cached = (parentPath, fd)
        return fd
    }

    private func closeDescriptors() {
        if let cached { close(cached.fd) }
        cached = nil
        if root >= 0 { close(root) }
        root = -1
    }

    static func reason() -> String { String(cString: strerror(errno)) }
}

/// One file being written; every byte is charged to its destination's limit before it is written.
final class OutputFile {
    private var fd: Int32
    let path: String
    private let destination: Destination
    private(set) var written: Int64 = 0

    fileprivate init(fd: Int32, path: String, destination: Destination) {
        self.fd = fd
        self.path = path
        self.destination = destination
    }

    deinit { if fd >= 0 { Foundation.close(fd) } }

    func write(_ bytes: UnsafeRawBufferPointer) throws(ArchiveError) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        try destination.charge(bytes.count)
        var done = 0
        while done < bytes.count {
            let n = Foundation.write(fd, base + done, bytes.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw .io("cannot write \(path): \(Destination.reason())")
            }
            done += n
        }
        written += Int64(bytes.count)
    }

    func close() throws(ArchiveError) {
        let fd = self.fd
        self.fd = -1
        guard Foundation.close(fd) == 0 else { throw .io("cannot write \(path): \(Destination.reason())") }
    }
}
