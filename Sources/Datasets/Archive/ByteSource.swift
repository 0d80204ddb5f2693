import CGzip
import Foundation

/// Where an archive's bytes come from, in order: a file, or the gzip stream in one.
protocol ByteSource: AnyObject {
    /// Fills the start of `buffer` and returns how many bytes it wrote; 0 only at the end.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(ArchiveError) -> Int
}

/// A file read with `read(2)`, or at offsets with `pread(2)`.
final class FileSource: ByteSource {
    private let fd: Int32
    let size: Int64

    init(_ url: URL) throws(ArchiveError) {
        fd = open(url.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .io("cannot open \(url.path): \(String(cString: strerror(errno)))") }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw .io("\(url.path) is not a regular file")
        }
        size = Int64(st.st_size)
    }

    deinit { close(fd) }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(ArchiveError) -> Int {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        while true {
            let n = Foundation.read(fd, base, buffer.count)
            if n >= 0 { return n }
            if errno != EINTR { throw .io("cannot read the archive: \(String(cString: strerror(errno)))") }
        }
    }

    /// Exactly `buffer.count` bytes at `offset`, or `.malformed` when the file ends first.
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(ArchiveError) {
        guard let base = buffer.baseAddress else { return }
        var done = 0
        while done < buffer.count {
            let n = pread(fd, base + done, buffer.count - done, off_t(offset) + off_t(done))
            if n < 0 {
                if errno == EINTR { continue }
                throw .io("cannot read the archive: \(String(cString: strerror(errno)))")
            }
            if n == 0 { throw .malformed("the archive ends at byte \(offset + Int64(done)), inside a record") }
            done += n
        }
    }

    func bytes(_ count: Int, at offset: Int64) throws(ArchiveError) -> [UInt8] {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: count, alignment: 8)
        defer { buffer.deallocate() }
        try read(into: buffer, at: offset)
        return Array(buffer)
    }
}

/// zlib's inflate over one `z_stream`, which must not move in memory (zlib keeps a pointer to it).
final class Inflater {
    private let stream: UnsafeMutablePointer<z_stream>

    /// `windowBits`: 15 + 32 for gzip (or zlib) with a header, -15 for raw deflate (zip).
    init(windowBits: Int32) throws(ArchiveError) {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        guard inflateInit2_(stream, windowBits, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            stream.deallocate()
            throw .io("zlib cannot start inflating")
        }
    }

    deinit {
        inflateEnd(stream)
        stream.deallocate()
    }

    func reset() { inflateReset(stream) }

    /// Inflates from `input` into `output`; returns the bytes consumed and produced, and whether
    /// the stream ended. A corrupt stream is `.malformed`.
    func step(_ input: UnsafeRawBufferPointer, _ output: UnsafeMutableRawBufferPointer) throws(ArchiveError)
        -> (consumed: Int, produced: Int, ended: Bool) {
        let inCount = min(input.count, Int(UInt32.max)), outCount = min(output.count, Int(UInt32.max))
        stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = uInt(inCount)
        stream.pointee.next_out = output.baseAddress?.assumingMemoryBound(to: Bytef.self)
        stream.pointee.avail_out = uInt(outCount)
        let status = inflate(stream, Z_NO_FLUSH)
        let consumed = inCount - Int(stream.pointee.avail_in), produced = outCount - Int(stream.pointee.avail_out)
        stream.pointee.next_in = nil
        stream.pointee.next_out = nil
        switch status {
        case Z_OK: return (consumed, produced, false)
        case Z_STREAM_END: return (consumed, produced, true)
        case Z_BUF_ERROR: return (consumed, produced, false)   // no progress possible: the caller has no more input
        default:
            let why = stream.pointee.msg.map { String(cString: $0) } ?? "status \(status)"
            throw .malformed("bad compressed data: \(why)")
        }
    }
}

/// The tar stream inside a gzip file (one member or several concatenated), inflated in chunks.
final class GzipSource: ByteSource {
    private let file: FileSource
    private let inflater: Inflater
    private let input: UnsafeMutableRawBufferPointer
    private var start = 0, end = 0
    private var ended = false      // the current member's trailer has been read

    init(_ file: FileSource) throws(ArchiveError) {
        self.file = file
        inflater = try Inflater(windowBits: 15 + 32)
        input = .allocate(byteCount: 1 << 16, alignment: 16)
    }

    deinit { input.deallocate() }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(ArchiveError) -> Int {
        guard buffer.count > 0 else { return 0 }
        while true {
            if start == end {
                start = 0
                end = try file.read(into: input)
                if end == 0 {
                    if ended { return 0 }
                    throw .malformed("the gzip stream ends early (truncated upload?)")
                }
            }
            if ended {
                // Another member follows (concatenated gzip files, as `cat a.gz b.gz` makes).
                inflater.reset()
                ended = false
            }
            let step = try inflater.step(UnsafeRawBufferPointer(rebasing: input[start..<end]), buffer)
            start += step.consumed
            ended = step.ended
            if step.produced > 0 { return step.produced }
            if step.ended { continue }
            if step.consumed == 0 && start < end {
                throw .malformed("the gzip stream makes no progress")
            }
        }
    }
}
