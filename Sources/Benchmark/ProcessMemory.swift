import Engine
import Foundation

/// This process's resident memory, from `/proc/self/status` (Linux). The peak can be reset
/// (`/proc/self/clear_refs`), so a measurement sees only its own high-water mark.
public enum ProcessMemory {
    /// Resident bytes now (`VmRSS`), nil where the kernel does not say.
    public static var residentBytes: Int? { field("VmRSS") }

    /// The highest resident bytes since the process started or the last `resetPeak` (`VmHWM`).
    public static var peakBytes: Int? { field("VmHWM") }

    /// Sets the peak back to the current resident size; false where that is not possible.
    @discardableResult
    public static func resetPeak() -> Bool {
        guard let handle = FileHandle(forWritingAtPath: "/proc/self/clear_refs") else { return false }
        defer { try? handle.close() }
        return (try? handle.write(contentsOf: Data("5".utf8))) != nil
    }

    /// Runs `body` and measures how far resident memory rose above where it stood when `body`
    /// began: memory freed earlier goes back to the system first, and the high-water mark is
    /// reset, so the figure is `body`'s own. Bytes, nil where the kernel does not say.
    public static func peakGrowth<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> (result: T, bytes: Int?) {
        releaseFreedMemory()
        let resettable = resetPeak()
        let baseline = residentBytes
        let result = try body()
        guard resettable, let peak = peakBytes, let baseline else { return (result, nil) }
        return (result, max(0, peak - baseline))
    }

    /// Returns memory nothing uses to the system: the engine's pool of reusable buffers, then
    /// the allocator's free pages (glibc's `malloc_trim`), so that the resident size counts
    /// live memory only.
    public static func releaseFreedMemory() {
        BufferPool.drain()
        #if os(Linux)
        _ = glibcMallocTrim(0)
        #endif
    }

    /// A "Name:   1234 kB" line of /proc/self/status, in bytes.
    static func field(_ name: String) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(name + ":") {
            let parts = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard parts.count >= 2, let kB = Int(parts[1]) else { return nil }
            return kB * 1024
        }
        return nil
    }
}

#if os(Linux)
/// glibc's `int malloc_trim(size_t pad)`, which the Glibc module does not export.
@_silgen_name("malloc_trim")
private func glibcMallocTrim(_ pad: Int) -> Int32
#endif
