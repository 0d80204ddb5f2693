import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One server per state folder: an exclusive `flock` held for the life of the process.
final class StateLock: Sendable {
    private let fd: Int32

    init(stateDirectory: URL) throws(ServerStartError) {
        let path = stateDirectory.appendingPathComponent("lock").path
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .stateDirectory(path: stateDirectory.path, reason: String(cString: strerror(errno))) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw .stateDirectory(path: stateDirectory.path, reason: "another server is using it (\(path) is locked)")
        }
    }

    deinit { close(fd) }
}
