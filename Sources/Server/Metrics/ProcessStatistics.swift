import Benchmark
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The standard process metrics of Prometheus clients, read from `/proc` at each scrape:
/// resident memory, CPU seconds and open file descriptors.
enum ProcessStatistics {
    /// User plus system CPU seconds of this process (`/proc/self/stat`, fields 14 and 15).
    static var cpuSeconds: Double? {
        guard let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        // After the command's closing parenthesis, fields start at the third (the state).
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// Open file descriptors (`/proc/self/fd`, less the one that lists it).
    static var openFileDescriptors: Int? {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") else { return nil }
        return max(0, entries.count - 1)
    }

    /// The Prometheus text of the three, each where the kernel says.
    static func exposition() -> String {
        var text = ""
        func metric(_ name: String, _ type: String, _ help: String, _ value: String?) {
            guard let value else { return }
            text += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n\(name) \(value)\n"
        }
        metric("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", ProcessMemory.residentBytes.map(String.init))
        metric("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.",
               cpuSeconds.map { String(format: "%.2f", $0) })
        metric("process_open_fds", "gauge", "Number of open file descriptors.", openFileDescriptors.map(String.init))
        return text
    }
}
