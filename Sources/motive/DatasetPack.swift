import ArgumentParser
import Datasets
import Foundation

/// `motive dataset pack DIR --out data.tar.gz`: an archive that `PUT /v1/datasets/{name}` accepts.
struct Pack: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Pack a dataset folder into a tar.gz that the daemon's dataset upload accepts.",
        discussion: "Regular files and folders only: symbolic links, devices, FIFOs and names that are not UTF-8 are left out and listed.")

    @Argument(help: "The dataset folder (videos or rawframe folders, and train.txt/val.txt or a folder per class).") var folder: String
    @Option(help: "The archive to write (replaced atomically).") var out: String

    func run() throws {
        let start = Date()
        let summary = try ArchivePacker.pack(URL(fileURLWithPath: folder), to: URL(fileURLWithPath: out))
        let size = (try? FileManager.default.attributesOfItem(atPath: out)[.size] as? Int64) ?? 0
        print("packed \(summary.files) files, \(summary.bytes) bytes, into \(out) (\(size) bytes) in "
              + String(format: "%.1f", Date().timeIntervalSince(start)) + " s")
        if !summary.skipped.isEmpty {
            print("skipped \(summary.skipped.count):")
            for path in summary.skipped { print("  \(path)") }
        }
    }
}
