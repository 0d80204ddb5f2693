import Foundation
import Support

/// Writes a flow file through the one atomic writer, as a `FlowError`.
func writeAtomically(_ data: Data, to url: URL) throws(FlowError) {
    do {
        try AtomicFile.write(data, to: url)
    } catch {
        throw .writeFailed(path: url.path, reason: error.reason)
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
