import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Files that are either the old version or the new one, never a mix. Every file Motive writes
/// goes through here: the bytes go to a hidden temporary name in the same folder, are flushed to
/// disk (a crash after the rename could otherwise leave the new name on empty data), the
/// temporary file is renamed over the target, which is atomic within one folder on POSIX, and
/// the folder is flushed too, so that the rename itself survives a power loss.
public enum AtomicFile {
    /// An open temporary file; `write` appends to it.
    public struct Output {
        let path: String
        let descriptor: Int32

        public func write(_ bytes: UnsafeRawBufferPointer) throws(AtomicFileError) {
            guard var next = bytes.baseAddress else { return }
            var remaining = bytes.count
            while remaining > 0 {
                #if canImport(Glibc)
                let written = Glibc.write(descriptor, next, remaining)
                #else
                let written = Darwin.write(descriptor, next, remaining)
                #endif
                if written < 0 {
                    if errno == EINTR { continue }
                    throw AtomicFileError(path: path, reason: String(cString: strerror(errno)))
                }
                next += written
                remaining -= written
            }
        }

        public func write(_ data: Data) throws(AtomicFileError) {
            do {
                try data.withUnsafeBytes { raw in try write(raw) }
            } catch let error as AtomicFileError {
                throw error
            } catch {
                throw AtomicFileError(path: path, reason: "\(error)")
            }
        }
    }

    /// Writes `data` as the whole new content of `url`.
    public static func write(_ data: Data, to url: URL) throws(AtomicFileError) {
        try write(to: url) { output throws(AtomicFileError) in try output.write(data) }
    }

    /// Streams a file's content: `body` writes it piece by piece into a temporary file, which
    /// replaces `url` only once `body` returns and the data is on disk. If `body` throws, `url`
    /// is left as it was and its error is rethrown.
    public static func write<E: Error>(to url: URL, _ body: (Output) throws(E) -> Void) throws(AtomicFileError) {
        let temp = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp").path
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw AtomicFileError(path: url.path, reason: String(cString: strerror(errno))) }
        do {
            try body(Output(path: url.path, descriptor: fd))
        } catch let error as AtomicFileError {
            close(fd)
            unlink(temp)
            throw error
        } catch {
            close(fd)
            unlink(temp)
            throw AtomicFileError(path: url.path, reason: "\(error)")
        }
        guard fsync(fd) == 0, close(fd) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            unlink(temp)
            throw AtomicFileError(path: url.path, reason: reason)
        }
        guard rename(temp, url.path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temp)
            throw AtomicFileError(path: url.path, reason: reason)
        }
        syncFolder(of: url)
    }

    /// Flushes the folder holding `url`, which makes a rename inside it durable.
    static func syncFolder(of url: URL) {
        let fd = open(url.deletingLastPathComponent().path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        fsync(fd)
        close(fd)
    }

    /// Deletes the temporary files that `write` and `link` leave in `folder` when their process
    /// dies mid-write (`kill -9`, a crash, a power loss): hidden names ending `.PID.RANDOM.tmp`
    /// or `.PID.link` whose process no longer exists. A checkpoint's temporary file is as large as
    /// the checkpoint, so a run killed repeatedly would otherwise fill its folder. Files of a
    /// process that is still alive (another writer of the same folder) are kept.
    @discardableResult
    public static func removeLeftovers(in folder: URL) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        var removed: [String] = []
        for name in names where name.hasPrefix(".") {
            let parts = name.split(separator: ".", omittingEmptySubsequences: false)
            let pidPart: Substring?
            if name.hasSuffix(".tmp"), parts.count >= 5 { pidPart = parts[parts.count - 3] }
            else if name.hasSuffix(".link"), parts.count >= 4 { pidPart = parts[parts.count - 2] }
            else { pidPart = nil }
            guard let pidPart, let pid = Int32(pidPart), pid > 0, pid != getpid(),
                  kill(pid, 0) != 0, errno == ESRCH else { continue }
            if unlink(folder.appendingPathComponent(name).path) == 0 { removed.append(name) }
        }
        return removed
    }

    /// Makes `alias` another name of `target` (a hard link), replacing any earlier `alias`
    /// atomically; copies when the file system has no hard links.
    public static func link(_ target: URL, as alias: URL) throws(AtomicFileError) {
        let temp = alias.deletingLastPathComponent().appendingPathComponent(".\(alias.lastPathComponent).\(getpid()).link")
        unlink(temp.path)
        #if canImport(Glibc)
        let linked = Glibc.link(target.path, temp.path) == 0
        #else
        let linked = Darwin.link(target.path, temp.path) == 0
        #endif
        guard linked else {
            let data: Data
            do { data = try Data(contentsOf: target) } catch { throw AtomicFileError(path: alias.path, reason: "\(error)") }
            try write(data, to: alias)
            return
        }
        guard rename(temp.path, alias.path) == 0 else {
            unlink(temp.path)
            throw AtomicFileError(path: alias.path, reason: String(cString: strerror(errno)))
        }
        syncFolder(of: alias)
    }
}

public struct AtomicFileError: Error, CustomStringConvertible, Equatable {
    public let path: String
    public let reason: String
    public var description: String { "cannot write \(path): \(reason)" }
}
