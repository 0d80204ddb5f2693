import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Files that are either the old version or the new one, never a mix: written to a temporary
/// name in the same folder, flushed to disk, then renamed over the target.
public enum AtomicFile {
    public static func write(_ data: Data, to url: URL) throws {
        let temp = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp")
        let fd = open(temp.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw AtomicFileError(path: url.path, reason: String(cString: strerror(errno))) }
        var ok = true
        data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n <= 0 { if errno == EINTR { continue }; ok = false; return }
                offset += n
            }
        }
        let reason = ok ? nil : String(cString: strerror(errno))
        if ok { ok = fsync(fd) == 0 }
        close(fd)
        guard ok, rename(temp.path, url.path) == 0 else {
            let why = reason ?? String(cString: strerror(errno))
            unlink(temp.path)
            throw AtomicFileError(path: url.path, reason: why)
        }
    }

    /// Makes `alias` another name of `target` (a hard link), replacing any earlier `alias` atomically;
    /// copies when the file system has no hard links.
    public static func link(_ target: URL, as alias: URL) throws {
        let temp = alias.deletingLastPathComponent().appendingPathComponent(".\(alias.lastPathComponent).\(getpid()).link")
        unlink(temp.path)
        if Glibc.link(target.path, temp.path) != 0 {
            try write(Data(contentsOf: target), to: alias)
            return
        }
        guard rename(temp.path, alias.path) == 0 else {
            unlink(temp.path)
            throw AtomicFileError(path: alias.path, reason: String(cString: strerror(errno)))
        }
    }
}

public struct AtomicFileError: Error, CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String { "cannot write \(path): \(reason)" }
}
