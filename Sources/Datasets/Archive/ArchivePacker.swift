import CGzip
import Foundation
import Support

/// Makes the archives `ArchiveExtractor` accepts: gzip-compressed POSIX ustar.
public enum ArchivePacker {
    /// Writes `folder`'s regular files and directories to `archive` as tar.gz: relative paths in
    /// byte order, modes 0o644 and 0o755, owner 0 without names, each file's mtime. Long names use
    /// ustar's prefix field, or a pax header when that is not enough. Symbolic links, special
    /// files and names the extractor would refuse (not UTF-8, a backslash) are left out and
    /// listed in `skipped`. The archive replaces `archive` atomically; when it lies inside
    /// `folder` it is not packed into itself.
    public static func pack(_ folder: URL, to archive: URL) throws -> PackSummary {
        var st = stat()
        guard lstat(folder.path, &st) == 0, st.st_mode & S_IFMT == S_IFDIR else {
            throw ArchiveError.io("\(folder.path) is not a folder")
        }
        var failure: (any Error)?
        var summary = PackSummary()
        do {
            try AtomicFile.write(to: archive) { (output) throws(any Error) in
                do {
                    let writer = try GzipWriter(output)
                    var walk = Walk(writer: writer, archive: archive)
                    try walk.folder(folder.path, relative: [])
                    try writer.write(Array(repeating: 0, count: 2 * TarHeader.blockSize))
                    try writer.finish()
                    summary = walk.summary
                } catch {
                    failure = error   // AtomicFile would flatten it to a string
                    throw error
                }
            }
        } catch {
            throw failure ?? error
        }
        return summary
    }

    /// The depth-first walk that writes each member as it finds it.
    private struct Walk {
        let writer: GzipWriter
        let archive: URL
        var summary = PackSummary()
        /// The folder holding the archive, whose temporary and final names are not packed.
        let archiveFolder: (dev: UInt, ino: UInt)?

        init(writer: GzipWriter, archive: URL) {
            self.writer = writer
            self.archive = archive
            var st = stat()
            archiveFolder = stat(archive.deletingLastPathComponent().path, &st) == 0 ? (UInt(st.st_dev), UInt(st.st_ino)) : nil
        }

        mutating func folder(_ path: String, relative: [UInt8]) throws {
            guard let dir = opendir(path) else { throw ArchiveError.io("cannot read \(path): \(Destination.reason())") }
            var names: [[UInt8]] = []
            while let entry = readdir(dir) {
                let name = withUnsafeBytes(of: &entry.pointee.d_name) { raw in Array(raw.prefix { $0 != 0 }) }
                if name != [UInt8(ascii: ".")], name != [UInt8(ascii: "."), UInt8(ascii: ".")] { names.append(name) }
            }
            var st = stat()
            let holdsArchive = fstat(dirfd(dir), &st) == 0 && archiveFolder.map { $0 == (UInt(st.st_dev), UInt(st.st_ino)) } == true
            closedir(dir)
            names.sort { $0.lexicographicallyPrecedes($1) }
            let archiveName = Array(archive.lastPathComponent.utf8)
            for name in names {
                if holdsArchive && (name == archiveName || Self.isTemporary(name, of: archiveName)) { continue }
                let member = relative.isEmpty ? name : relative + [UInt8(ascii: "/")] + name
                let shown = String(decoding: member, as: UTF8.self)
                guard String(validating: name, as: UTF8.self) != nil, !name.contains(UInt8(ascii: "\\")) else {
                    summary.skipped.append("\(shown) (a name the extractor refuses)")
                    continue
                }
                let full = path + "/" + String(decoding: name, as: UTF8.self)
                guard lstat(full, &st) == 0 else { throw ArchiveError.io("cannot read \(full): \(Destination.reason())") }
                switch st.st_mode & S_IFMT {
                case S_IFDIR:
                    try writer.write(Self.header(member + [UInt8(ascii: "/")], type: UInt8(ascii: "5"), size: 0, mtime: Int64(st.st_mtim.tv_sec)))
                    try folder(full, relative: member)
                case S_IFREG:
                    try file(full, member: member)
                case S_IFLNK:
                    summary.skipped.append("\(shown) (symbolic link)")
                default:
                    summary.skipped.append("\(shown) (special file)")
                }
            }
        }

        private mutating func file(_ path: String, member: [UInt8]) throws {
            let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
            guard fd >= 0 else { throw ArchiveError.io("cannot read \(path): \(Destination.reason())") }
            defer { close(fd) }
            var st = stat()
            guard fstat(fd, &st) == 0 else { throw ArchiveError.io("cannot read \(path): \(Destination.reason())") }
            let size = Int64(st.st_size)
            try writer.write(Self.header(member, type: UInt8(ascii: "0"), size: size, mtime: Int64(st.st_mtim.tv_sec)))
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
            defer { buffer.deallocate() }
            var left = size
            while left > 0 {
                let n = read(fd, buffer.baseAddress, Int(min(left, Int64(buffer.count))))
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { throw ArchiveError.io("\(path) changed while being packed") }
                try writer.write(UnsafeRawBufferPointer(rebasing: buffer[..<n]))
                left -= Int64(n)
            }
            let padding = Int((Int64(TarHeader.blockSize) - size % Int64(TarHeader.blockSize)) % Int64(TarHeader.blockSize))
            try writer.write(Array(repeating: 0, count: padding))
            summary.files += 1
            summary.bytes += size
        }

        /// AtomicFile's temporary names: `.NAME.PID.RANDOM.tmp`.
        private static func isTemporary(_ name: [UInt8], of archiveName: [UInt8]) -> Bool {
            let text = String(decoding: name, as: UTF8.self)
            return text.hasPrefix("." + String(decoding: archiveName, as: UTF8.self) + ".") && text.hasSuffix(".tmp")
        }

        /// A ustar header, preceded by a pax header when the name or size does not fit.
        static func header(_ name: [UInt8], type: UInt8, size: Int64, mtime: Int64) -> [UInt8] {
            var pax: [UInt8] = []
            var nameField = name, prefixField: [UInt8] = []
            if name.count > 100 {
                // Split at a slash so that the tail fits the name field and the head the prefix.
                let split = name.indices.first { i in name[i] == UInt8(ascii: "/") && i <= 155 && name.count - i - 1 <= 100 && i + 1 < name.count }
                if let split {
                    prefixField = Array(name[..<split])
                    nameField = Array(name[(split + 1)...])
                } else {
                    pax += paxRecord("path", name)
                    nameField = Array(name.prefix(100))
                }
            }
            let maxOctal: Int64 = 0o77777777777
            if size > maxOctal { pax += paxRecord("size", Array(String(size).utf8)) }
            var block = ustar(nameField, prefix: prefixField, type: type, size: min(size, maxOctal), mtime: min(max(mtime, 0), maxOctal))
            if !pax.isEmpty {
                let paxName = Array("././@PaxHeader".utf8)
                let padding = (TarHeader.blockSize - pax.count % TarHeader.blockSize) % TarHeader.blockSize
                block = ustar(paxName, prefix: [], type: UInt8(ascii: "x"), size: Int64(pax.count), mtime: 0) + pax
                    + [UInt8](repeating: 0, count: padding) + block
            }
            return block
        }

        private static func ustar(_ name: [UInt8], prefix: [UInt8], type: UInt8, size: Int64, mtime: Int64) -> [UInt8] {
            var block = [UInt8](repeating: 0, count: TarHeader.blockSize)
            func put(_ bytes: [UInt8], at offset: Int) { block.replaceSubrange(offset..<(offset + bytes.count), with: bytes) }
            func octal(_ value: Int64, width: Int) -> [UInt8] {
                let digits = String(value, radix: 8)
                return Array((String(repeating: "0", count: max(0, width - 1 - digits.count)) + digits).utf8) + [0]
            }
            put(name, at: 0)
            put(octal(type == UInt8(ascii: "5") ? 0o755 : 0o644, width: 8), at: 100)
            put(octal(0, width: 8), at: 108)
            put(octal(0, width: 8), at: 116)
            put(octal(size, width: 12), at: 124)
            put(octal(mtime, width: 12), at: 136)
            block[156] = type
            put(Array("ustar\u{0}00".utf8), at: 257)
            put(prefix, at: 345)
            put(Array(repeating: UInt8(ascii: " "), count: 8), at: 148)
            let sum = block.reduce(0) { $0 + Int64($1) }
            put(octal(sum, width: 7) + [UInt8(ascii: " ")], at: 148)
            return block
        }

        /// `LENGTH KEY=VALUE\n`, LENGTH counting its own digits.
        private static func paxRecord(_ key: String, _ value: [UInt8]) -> [UInt8] {
            let body = Array(" \(key)=".utf8) + value + [UInt8(ascii: "\n")]
            var length = body.count + 1
            while String(length).utf8.count + body.count != length { length = String(length).utf8.count + body.count }
            return Array(String(length).utf8) + body
        }
    }
}

/// zlib's deflate with a gzip wrapper, writing through an `AtomicFile.Output`.
final class GzipWriter {
    private let stream: UnsafeMutablePointer<z_stream>
    private let output: AtomicFile.Output
    private let buffer: UnsafeMutableRawBufferPointer

    init(_ output: AtomicFile.Output, level: Int32 = 6) throws(ArchiveError) {
        self.output = output
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        buffer = .allocate(byteCount: 1 << 18, alignment: 16)
        guard deflateInit2_(stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            stream.deallocate()
            buffer.deallocate()
            throw .io("zlib cannot start deflating")
        }
    }

    deinit {
        deflateEnd(stream)
        stream.deallocate()
        buffer.deallocate()
    }

    func write(_ bytes: [UInt8]) throws(ArchiveError) {
        do { try bytes.withUnsafeBytes { try write($0) } } catch let error as ArchiveError { throw error } catch { throw .io("\(error)") }
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws(ArchiveError) {
        guard bytes.count > 0 else { return }
        try run(bytes, flush: Z_NO_FLUSH)
    }

    func finish() throws(ArchiveError) { try run(UnsafeRawBufferPointer(start: nil, count: 0), flush: Z_FINISH) }

    private func run(_ bytes: UnsafeRawBufferPointer, flush: Int32) throws(ArchiveError) {
        stream.pointee.next_in = UnsafeMutablePointer(mutating: bytes.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = uInt(bytes.count)
        defer { stream.pointee.next_in = nil }
        while true {
            stream.pointee.next_out = buffer.baseAddress?.assumingMemoryBound(to: Bytef.self)
            stream.pointee.avail_out = uInt(buffer.count)
            let status = deflate(stream, flush)
            guard status == Z_OK || status == Z_STREAM_END || status == Z_BUF_ERROR else { throw .io("zlib deflate failed: status \(status)") }
            let produced = buffer.count - Int(stream.pointee.avail_out)
            do throws(AtomicFileError) { try output.write(UnsafeRawBufferPointer(rebasing: buffer[..<produced])) } catch { throw .io(error.description) }
            if flush == Z_FINISH ? status == Z_STREAM_END : stream.pointee.avail_in == 0 && stream.pointee.avail_out > 0 { return }
        }
    }
}
