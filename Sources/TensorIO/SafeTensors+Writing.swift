import Engine
import Foundation
#if canImport(Darwin)
import Darwin
#elseif canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

extension SafeTensors {
    /// The whole file in memory.
    public func encoded() -> Data {
        let header = encodedHeader()
        var data = Data(capacity: header.count + entries.reduce(0) { $0 + $1.tensor.count * 4 })
        data.append(contentsOf: header)
        for entry in entries {
            data.append(UnsafeBufferPointer(start: entry.tensor.data, count: entry.tensor.count))
        }
        return data
    }

    /// Writes the file atomically: into a temporary file beside `url`, then renamed over it, so a
    /// reader (or a crash) sees the old file or the complete new one. Tensors stream straight
    /// from their storage, so a checkpoint is never held twice in memory.
    public func write(to url: URL) throws(SafeTensorsError) {
        let file = try TemporaryFile(beside: url)
        do throws(SafeTensorsError) {
            // `withUnsafeBytes` only rethrows untyped errors, so carry the typed one out in a Result.
            try encodedHeader().withUnsafeBytes { bytes in
                Result { () throws(SafeTensorsError) in try file.write(bytes) }
            }.get()
            for entry in entries {
                try file.write(UnsafeRawBufferPointer(start: entry.tensor.data, count: entry.tensor.count * 4))
            }
            try file.move(to: url)
        } catch {
            file.discard()
            throw error
        }
    }

    /// The 8-byte length and the JSON header, padded with spaces as the reference writer does
    /// so that the data starts on an 8-byte boundary.
    func encodedHeader() -> [UInt8] {
        var json = Array("{".utf8)
        if !metadata.isEmpty {
            json += Array("\"__metadata__\":{".utf8)
            for (i, (key, value)) in metadata.sorted(by: { $0.key < $1.key }).enumerated() {
                if i > 0 { json.append(UInt8(ascii: ",")) }
                appendJSONString(key, to: &json)
                json.append(UInt8(ascii: ":"))
                appendJSONString(value, to: &json)
            }
            json.append(UInt8(ascii: "}"))
        }
        var offset = 0
        for (i, entry) in entries.enumerated() {
            if i > 0 || !metadata.isEmpty { json.append(UInt8(ascii: ",")) }
            appendJSONString(entry.name, to: &json)
            let end = offset + entry.tensor.count * 4
            let shape = entry.tensor.shape.map(String.init).joined(separator: ",")
            json += Array(":{\"dtype\":\"F32\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(end)]}".utf8)
            offset = end
        }
        json.append(UInt8(ascii: "}"))
        json += repeatElement(UInt8(ascii: " "), count: (8 - json.count % 8) % 8)
        return withUnsafeBytes(of: UInt64(json.count).littleEndian, Array.init) + json
    }
}

/// A file created next to its destination and renamed onto it; rename within one directory
/// is atomic on POSIX file systems.
private struct TemporaryFile {
    let path: String
    let descriptor: Int32

    init(beside url: URL) throws(SafeTensorsError) {
        let directory = url.deletingLastPathComponent()
        path = directory.appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).tmp").path
        descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw Self.failure(path) }
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws(SafeTensorsError) {
        guard var next = bytes.baseAddress else { return }
        var remaining = bytes.count
        while remaining > 0 {
            let written = systemWrite(descriptor, next, remaining)
            if written < 0 {
                if errno == EINTR { continue }
                throw Self.failure(path)
            }
            next += written
            remaining -= written
        }
    }

    /// Flushes to disk before the rename, or a crash could leave the new name on empty data.
    func move(to url: URL) throws(SafeTensorsError) {
        guard fsync(descriptor) == 0 else { throw Self.failure(path) }
        guard close(descriptor) == 0 else {
            unlink(path)
            throw Self.failure(path)
        }
        guard rename(path, url.path) == 0 else {
            let error = Self.failure(url.path)
            unlink(path)
            throw error
        }
    }

    /// Best effort after a failure; the descriptor may already be closed by `move`.
    func discard() {
        close(descriptor)
        unlink(path)
    }

    private static func failure(_ path: String) -> SafeTensorsError {
        .io(path: path, reason: String(cString: strerror(errno)))
    }
}

#if canImport(Darwin)
private let systemWrite = Darwin.write
#elseif canImport(Glibc)
private let systemWrite = Glibc.write
#elseif canImport(Musl)
private let systemWrite = Musl.write
#endif
