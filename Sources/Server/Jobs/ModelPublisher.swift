import Foundation
import Inference

/// Writes a job's model into a models folder that other replicas serve (`--publish-models`), as
/// `NAME/model.safetensors` without optimizer state (`Checkpoint.export`). The folder appears
/// whole or not at all: it is written under a hidden name, which scans skip, then renamed into
/// place, so a replica scanning meanwhile never loads half a file.
enum ModelPublisher {
    static func publish(checkpoint: URL, name: String, into folder: URL) throws {
        let fm = FileManager.default
        let staging = folder.appendingPathComponent(".publishing-\(name)-\(UUID().uuidString.prefix(8))")
        defer { try? fm.removeItem(at: staging) }
        try fm.createDirectory(at: staging, withIntermediateDirectories: true)
        try Checkpoint.export(checkpoint, to: staging.appendingPathComponent("model.safetensors"))
        let target = folder.appendingPathComponent(name)
        // A folder of the same name (a job name reused after the state was wiped) is replaced:
        // moved aside, the new one renamed in, the old one removed.
        let replaced = folder.appendingPathComponent(".replaced-\(name)-\(UUID().uuidString.prefix(8))")
        if fm.fileExists(atPath: target.path) { try fm.moveItem(at: target, to: replaced) }
        defer { try? fm.removeItem(at: replaced) }
        try fm.moveItem(at: staging, to: target)
    }
}
