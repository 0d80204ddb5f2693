import Foundation

/// Unpacks dataset archives (tar, tar.gz, zip) that may be hostile: every member's name is checked
/// (relative, no `..`, UTF-8), links and special files are refused, and the count and the bytes
/// written are bounded, whatever the headers claim. On any failure nothing is left behind.
public enum ArchiveExtractor {
    /// Unpacks `archive` into `folder`, which must not exist yet: it is created (0o755; files
    /// 0o644). `format` nil sniffs it from the first bytes. tar and tar.gz are read as a stream;
    /// zip's central directory is checked whole before the first member is written.
    ///
    /// On any failure, a thrown error or `isCancelled()` returning true (`.cancelled`), the folder
    /// and everything written into it is removed.
    public static func extract(_ archive: URL, into folder: URL, limits: ArchiveLimits, format: ArchiveFormat? = nil,
                               isCancelled: () -> Bool = { false }) throws(ArchiveError) -> ExtractionSummary {
        let file = try FileSource(archive)
        guard let format = format ?? ArchiveFormat.sniff(archive) else { throw .unknownFormat }
        let destination = try Destination(folder, limits: limits)
        do {
            switch format {
            case .tar:
                try TarReader(input: BufferedInput(file)).extract(into: destination, isCancelled: isCancelled)
            case .tarGz:
                try TarReader(input: BufferedInput(GzipSource(file)), checksTrailer: true)
                    .extract(into: destination, isCancelled: isCancelled)
            case .zip:
                try ZipReader(file: file).extract(into: destination, limits: limits, isCancelled: isCancelled)
            }
        } catch {
            destination.discard()
            throw error
        }
        destination.finish()
        return destination.summary
    }
}
