import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes `data` to a hidden temporary file beside `url`, then renames it over `url`, so a reader
/// never sees a half-written file and a failed write leaves any old file untouched. Public for
/// the flow datasets' lists and done-markers (Clips).
public func writeAtomically(_ data: Data, to url: URL) throws(FlowError) {
    let folder = url.deletingLastPathComponent()
    let temp = folder.appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).tmp")
    do {
        try data.write(to: temp)
    } catch {
        throw .writeFailed(path: url.path, reason: "\(error)")
    }
    guard rename(temp.path, url.path) == 0 else {
        let reason = String(cString: strerror(errno))
        try? FileManager.default.removeItem(at: temp)
        throw .writeFailed(path: url.path, reason: reason)
    }
}

/// The whole file, with Foundation's error turned into `FlowError.readFailed`.
func readWhole(_ url: URL) throws(FlowError) -> Data {
    do {
        return try Data(contentsOf: url)
    } catch {
        throw .readFailed(path: url.path, reason: "\(error)")
    }
}
