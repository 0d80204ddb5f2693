import Foundation

/// Bytes cut into lines at "\n": what the line readers below share.
public struct LineBuffer: Sendable {
    private var pending = Data()
    public init() {}

    public mutating func append(_ data: Data) { pending.append(data) }

    /// The next complete line (without its newline), if one has arrived.
    public mutating func nextLine() -> Data? {
        guard let newline = pending.firstIndex(of: UInt8(ascii: "\n")) else { return nil }
        let line = Data(pending[pending.startIndex..<newline])
        pending = Data(pending[(newline + 1)...])
        return line
    }

    /// What is left after the last newline (a last line without one), emptying the buffer.
    public mutating func rest() -> Data? {
        guard !pending.isEmpty else { return nil }
        defer { pending = Data() }
        return pending
    }
}

/// The lines of a pipe or file handle, read until end of file (blocking).
public struct LineReader {
    private let handle: FileHandle
    private var buffer = LineBuffer()

    public init(_ handle: FileHandle) { self.handle = handle }

    public mutating func next() -> Data? {
        while true {
            if let line = buffer.nextLine() { return line }
            let chunk = handle.availableData
            if chunk.isEmpty { return buffer.rest() }
            buffer.append(chunk)
        }
    }
}

/// The complete lines appended to a growing file since the last read (`tail -f` without the wait).
public struct FileTail {
    public let file: URL
    private var offset: UInt64 = 0
    private var buffer = LineBuffer()

    public init(file: URL) { self.file = file }

    public mutating func readLines() -> [Data] {
        guard let handle = try? FileHandle(forReadingFrom: file) else { return [] }
        defer { try? handle.close() }
        guard (try? handle.seek(toOffset: offset)) != nil, let data = try? handle.readToEnd(), !data.isEmpty else { return [] }
        offset += UInt64(data.count)
        buffer.append(data)
        var lines: [Data] = []
        while let line = buffer.nextLine() { if !line.isEmpty { lines.append(line) } }
        return lines
    }
}
