// Reading a container from bytes in memory: a custom AVIOContext whose read and seek callbacks
// copy from a Swift array. The callbacks are C function pointers, so they reach the source through
// an unretained opaque pointer; the owner keeps the source alive for as long as the context lives.
import CFFmpeg

/// A custom AVIOContext's owner: it frees the context (and its buffer) in `close()`.
protocol CustomInput: AnyObject {
    var context: UnsafeMutablePointer<AVIOContext>? { get }
    func close()
}

final class MemorySource: CustomInput {
    private let bytes: [UInt8]
    private var position = 0
    /// The AVIOContext reading from `bytes`; freed by `close()`.
    private(set) var context: UnsafeMutablePointer<AVIOContext>?

    init(bytes: [UInt8], bufferSize: Int = 1 << 16) throws(VideoError) {
        self.bytes = bytes
        guard let buffer = av_malloc(bufferSize)?.assumingMemoryBound(to: UInt8.self) else {
            throw .readFailed(path: "<memory>", reason: "out of memory")
        }
        let opaque = Unmanaged.passUnretained(self).toOpaque()
        context = avio_alloc_context(buffer, Int32(bufferSize), 0, opaque, memoryRead, nil, memorySeek)
        if context == nil {
            av_free(buffer)
            throw .readFailed(path: "<memory>", reason: "cannot allocate an AVIOContext")
        }
    }

    /// Frees the context and its buffer (which FFmpeg may have replaced, so free the current one).
    func close() {
        guard context != nil else { return }
        av_freep(&context!.pointee.buffer)
        avio_context_free(&context)
    }

    deinit { close() }

    fileprivate func read(into destination: UnsafeMutablePointer<UInt8>, count: Int) -> Int32 {
        let n = min(count, bytes.count - position)
        guard n > 0 else { return averrorEOF }
        bytes.withUnsafeBufferPointer { source in
            destination.update(from: source.baseAddress! + position, count: n)
        }
        position += n
        return Int32(n)
    }

    fileprivate func seek(offset: Int64, whence: Int32) -> Int64 {
        if whence & AVSEEK_SIZE != 0 { return Int64(bytes.count) }
        let base: Int64
        switch whence & ~AVSEEK_FORCE {
        case SEEK_SET: base = 0
        case SEEK_CUR: base = Int64(position)
        case SEEK_END: base = Int64(bytes.count)
        default: return -1
        }
        let target = base + offset
        guard target >= 0, target <= Int64(bytes.count) else { return -1 }
        position = Int(target)
        return target
    }
}

private let memoryRead: @convention(c) (UnsafeMutableRawPointer?, UnsafeMutablePointer<UInt8>?, Int32) -> Int32 = {
    opaque, buffer, size in
    guard let opaque, let buffer, size > 0 else { return averrorEOF }
    return Unmanaged<MemorySource>.fromOpaque(opaque).takeUnretainedValue().read(into: buffer, count: Int(size))
}

private let memorySeek: @convention(c) (UnsafeMutableRawPointer?, Int64, Int32) -> Int64 = { opaque, offset, whence in
    guard let opaque else { return -1 }
    return Unmanaged<MemorySource>.fromOpaque(opaque).takeUnretainedValue().seek(offset: offset, whence: whence)
}
