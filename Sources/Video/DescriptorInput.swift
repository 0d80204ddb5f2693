// Reading a container from a file descriptor through a custom AVIOContext: standard input, a
// named pipe, or a regular file (seekable, or followed as it grows). FFmpeg's own pipe and file
// protocols block in read(2) without polling the interrupt callback, so a silent pipe could hold
// them for ever; here every wait is a poll(2) of at most 50 ms, after which the deadline is checked.
import CFFmpeg
#if canImport(Glibc)
import Glibc
#endif

final class DescriptorInput: CustomInput {
    private let fd: Int32
    private let ownsDescriptor: Bool
    private let seekable: Bool
    /// For a followed file: how long the end of the file may stay put before it counts as the end.
    private let followIdle: Double?
    /// A named pipe reads as ended while no writer has it open; until the first byte, that means
    /// the writer has not come yet, and the read waits for it (up to the deadline).
    private let isFIFO: Bool
    private var seenData = false
    /// For a followed file: since when reads have found the end of the file (across calls, as
    /// FFmpeg reads the end several times).
    private var idleSince: Double?
    private let deadline: Deadline
    private(set) var context: UnsafeMutablePointer<AVIOContext>?

    /// Standard input (left open on close).
    static func standardInput(deadline: Deadline) throws(VideoError) -> DescriptorInput {
        try DescriptorInput(fd: 0, owns: false, seekable: false, followIdle: nil, deadline: deadline, label: "<stdin>")
    }

    /// A regular file (seekable unless followed) or a named pipe at `path`.
    static func open(path: String, followIdle: Double?, deadline: Deadline) throws(VideoError) -> DescriptorInput {
        var status = stat()
        guard stat(path, &status) == 0 else { throw .fileNotFound(path: path) }
        let isFIFO = status.st_mode & S_IFMT == S_IFIFO
        guard isFIFO || status.st_mode & S_IFMT == S_IFREG else {
            throw .readFailed(path: path, reason: "neither a regular file nor a named pipe")
        }
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC | (isFIFO ? O_NONBLOCK : 0))
        guard fd >= 0 else { throw .readFailed(path: path, reason: String(cString: strerror(errno))) }
        do {
            return try DescriptorInput(fd: fd, owns: true, seekable: !isFIFO && followIdle == nil,
                                       followIdle: isFIFO ? nil : followIdle, isFIFO: isFIFO, deadline: deadline, label: path)
        } catch {
            Glibc.close(fd)
            throw error
        }
    }

    private init(fd: Int32, owns: Bool, seekable: Bool, followIdle: Double?, isFIFO: Bool = false, deadline: Deadline, label: String,
                 bufferSize: Int = 1 << 16) throws(VideoError) {
        (self.fd, ownsDescriptor, self.seekable, self.followIdle, self.isFIFO, self.deadline) = (fd, owns, seekable, followIdle, isFIFO, deadline)
        if !seekable {
            let flags = fcntl(fd, F_GETFL)
            if flags >= 0 && flags & O_NONBLOCK == 0 { _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK) }
        }
        guard let buffer = av_malloc(bufferSize)?.assumingMemoryBound(to: UInt8.self) else {
            throw .readFailed(path: label, reason: "out of memory")
        }
        let opaque = Unmanaged.passUnretained(self).toOpaque()
        context = avio_alloc_context(buffer, Int32(bufferSize), 0, opaque, descriptorRead, nil, seekable ? descriptorSeek : nil)
        guard let context else {
            av_free(buffer)
            throw .readFailed(path: label, reason: "cannot allocate an AVIOContext")
        }
        context.pointee.seekable = seekable ? AVIO_SEEKABLE_NORMAL : 0
    }

    func close() {
        guard context != nil else { return }
        av_freep(&context!.pointee.buffer)
        avio_context_free(&context)
        if ownsDescriptor { Glibc.close(fd) }
    }

    deinit { close() }

    fileprivate func read(into destination: UnsafeMutablePointer<UInt8>, count: Int) -> Int32 {
        while true {
            if deadline.expired { return averrorEXIT }
            let n = Glibc.read(fd, destination, count)
            if n > 0 {
                seenData = true
                idleSince = nil
                return Int32(n)
            }
            if n == 0 && isFIFO && !seenData {
                usleep(20_000)                                  // no writer yet
                continue
            }
            if n == 0 {
                guard let followIdle else { return averrorEOF }
                let now = monotonicSeconds()
                if now - (idleSince ?? now) >= followIdle { return averrorEOF }
                idleSince = idleSince ?? now
                usleep(20_000)                                  // the file may still grow
                continue
            }
            let error = errno
            guard error == EAGAIN || error == EWOULDBLOCK || error == EINTR else { return -error }
            var request = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            _ = poll(&request, 1, 50)
        }
    }

    fileprivate func seek(offset: Int64, whence: Int32) -> Int64 {
        if whence & AVSEEK_SIZE != 0 {
            var status = stat()
            return fstat(fd, &status) == 0 ? Int64(status.st_size) : -1
        }
        let position = lseek(fd, off_t(offset), whence & ~AVSEEK_FORCE)
        return position < 0 ? Int64(-errno) : Int64(position)
    }
}

private let descriptorRead: @convention(c) (UnsafeMutableRawPointer?, UnsafeMutablePointer<UInt8>?, Int32) -> Int32 = {
    opaque, buffer, size in
    guard let opaque, let buffer, size > 0 else { return averrorEOF }
    return Unmanaged<DescriptorInput>.fromOpaque(opaque).takeUnretainedValue().read(into: buffer, count: Int(size))
}

private let descriptorSeek: @convention(c) (UnsafeMutableRawPointer?, Int64, Int32) -> Int64 = { opaque, offset, whence in
    guard let opaque else { return -1 }
    return Unmanaged<DescriptorInput>.fromOpaque(opaque).takeUnretainedValue().seek(offset: offset, whence: whence)
}
