import Foundation

/// The archive formats a dataset upload may use.
public enum ArchiveFormat: String, Sendable, CaseIterable {
    case tar, tarGz = "tar.gz", zip

    /// From the first bytes of a file: gzip's magic `1f 8b` is tar.gz, `PK\3\4` (or an empty zip's
    /// `PK\5\6`) is zip, and a first block that is a tar header with a valid checksum (ustar, GNU or
    /// v7) is tar; anything else, or a file that cannot be read, is nil.
    public static func sniff(_ url: URL) -> ArchiveFormat? {
        guard let source = try? FileSource(url) else { return nil }
        var head = [UInt8](repeating: 0, count: TarHeader.blockSize)
        var filled = 0
        while filled < head.count {
            let n = head.withUnsafeMutableBytes { buffer in
                (try? source.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled...]))) ?? 0
            }
            if n == 0 { break }
            filled += n
        }
        if filled >= 2, head[0] == 0x1f, head[1] == 0x8b { return .tarGz }
        if filled >= 4, head[0] == 0x50, head[1] == 0x4b, (head[2], head[3]) == (3, 4) || (head[2], head[3]) == (5, 6) { return .zip }
        if filled == TarHeader.blockSize, head.withUnsafeBytes({ TarHeader.hasValidChecksum($0) }) { return .tar }
        return nil
    }
}

/// Bounds on what one extraction may create, whatever the archive's headers claim.
public struct ArchiveLimits: Sendable {
    /// Regular files plus directories (those named in the archive and those made as parents).
    public var maxFiles: Int
    /// Bytes actually written to disk.
    public var maxBytes: Int64

    public init(maxFiles: Int, maxBytes: Int64) {
        self.maxFiles = maxFiles
        self.maxBytes = maxBytes
    }
}

/// What an extraction created.
public struct ExtractionSummary: Sendable, Equatable {
    public var files: Int
    public var directories: Int
    public var bytes: Int64

    public init(files: Int = 0, directories: Int = 0, bytes: Int64 = 0) {
        self.files = files
        self.directories = directories
        self.bytes = bytes
    }
}

/// What `ArchivePacker.pack` wrote, and what it left out.
public struct PackSummary: Sendable, Equatable {
    public var files: Int
    public var bytes: Int64
    /// Paths relative to the packed folder that are not in the archive (symbolic links, devices,
    /// FIFOs, sockets, names the extractor would refuse), each with the reason.
    public var skipped: [String]

    public init(files: Int = 0, bytes: Int64 = 0, skipped: [String] = []) {
        self.files = files
        self.bytes = bytes
        self.skipped = skipped
    }
}

/// Why an archive was refused. Every case leaves nothing extracted behind.
public enum ArchiveError: Error, Equatable, CustomStringConvertible {
    /// Not tar, tar.gz or zip.
    case unknownFormat
    /// Does not parse: truncated, a bad checksum or CRC, a bad gzip or deflate stream, a duplicate member.
    case malformed(String)
    /// A member named with `..`, an absolute path, an empty component, a backslash or a NUL.
    case unsafePath(String)
    /// A member name that is not valid UTF-8.
    case notUTF8
    /// A symbolic or hard link member.
    case link(String)
    /// A device, FIFO, socket, sparse file or any member that is neither a regular file nor a directory.
    case specialFile(String)
    case tooManyFiles(limit: Int)
    /// Counted on bytes actually written, whatever the headers claim.
    case tooLarge(limitBytes: Int64)
    /// `isCancelled` said stop.
    case cancelled
    /// The disk: the destination exists, cannot be written, is full.
    case io(String)

    /// A snake_case code for API errors.
    public var code: String {
        switch self {
        case .unknownFormat: "unknown_format"
        case .malformed: "malformed_archive"
        case .unsafePath: "unsafe_path"
        case .notUTF8: "not_utf8"
        case .link: "link_in_archive"
        case .specialFile: "special_file"
        case .tooManyFiles: "too_many_files"
        case .tooLarge: "too_large"
        case .cancelled: "cancelled"
        case .io: "io_error"
        }
    }

    public var description: String {
        switch self {
        case .unknownFormat: "not a tar, tar.gz or zip archive"
        case .malformed(let why): "malformed archive: \(why)"
        case .unsafePath(let name): "unsafe member path \(Self.quoted(name)): it must be relative, without .., empty components, backslashes or NUL"
        case .notUTF8: "a member name is not valid UTF-8"
        case .link(let name): "member \(Self.quoted(name)) is a link; links are refused"
        case .specialFile(let name): "member \(Self.quoted(name)) is neither a regular file nor a directory"
        case .tooManyFiles(let limit): "the archive holds more than \(limit) files and directories"
        case .tooLarge(let limit): "the archive unpacks to more than \(limit) bytes"
        case .cancelled: "extraction cancelled"
        case .io(let why): "cannot write the extracted files: \(why)"
        }
    }

    /// A name as a message may show it: at most 200 characters, control characters escaped.
    private static func quoted(_ name: String) -> String {
        let short = name.count > 200 ? String(name.prefix(200)) + "…" : name
        return "\"" + short.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7f ? "\\u{\(String($0.value, radix: 16))}" : String($0) }.joined() + "\""
    }
}
