import Foundation

/// A progress line on a terminal; nothing extra when stderr is not a TTY.
final class Progress: @unchecked Sendable {
    private let label: String
    private let tty = isatty(2) != 0
    private let lock = NSLock()

    init(label: String) { self.label = label }

    func update(_ done: Int, _ total: Int) {
        guard tty else { return }
        lock.lock(); defer { lock.unlock() }
        let width = 30, filled = total > 0 ? width * done / total : width
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
        FileHandle.standardError.write(Data("\r\(label) \(bar) \(done)/\(total)".utf8))
    }

    /// Replaces the line with `text` (on a terminal).
    func show(_ text: String) {
        guard tty else { return }
        lock.lock(); defer { lock.unlock() }
        FileHandle.standardError.write(Data("\r\(label) \(text)\u{1B}[K".utf8))
    }

    func finish() {
        if tty { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
