import Engine
import Foundation

/// A `Profile` as the text table `motive-bench zoo --profile` prints: time per op kind, the buffer
/// pool's reuse, the costliest named ops, then the slowest layers with their shapes and achieved GFLOP/s.
public enum ProfileReport {
    public static func table(_ profile: Profile, title: String, layers: Int = 10) -> String {
        var lines = [String(format: "%@: %.1f ms wall, %.2f of %d cores busy", title, profile.wallSeconds * 1e3,
                            profile.wallSeconds > 0 ? profile.cpuSeconds / profile.wallSeconds : 0, profile.workers)]
        lines.append(pad("op kind", 28) + pad("ms", 10, right: true) + pad("%", 7, right: true)
                     + pad("calls", 8, right: true) + pad("cores busy", 12, right: true))
        for row in profile.rows where row.seconds > 0 || row.calls > 0 {
            let share = profile.wallSeconds > 0 ? 100 * row.seconds / profile.wallSeconds : 0
            let busy = row.seconds > 0 ? row.cpuSeconds / row.seconds : 0
            lines.append(pad(row.kind.rawValue, 28) + pad(String(format: "%.1f", row.seconds * 1e3), 10, right: true)
                         + pad(String(format: "%.1f", share), 7, right: true)
                         + pad(row.kind == .other ? "" : String(row.calls), 8, right: true)
                         + pad(String(format: "%.2f", busy), 12, right: true))
        }
        let large = profile.poolHits + profile.poolMisses
        if large > 0 {
            lines.append(String(format: "buffer pool: %d of %d large allocations reused (%.0f%%)", profile.poolHits, large,
                                100 * Double(profile.poolHits) / Double(large)))
        }
        let costliest = profile.costliestOps(layers)
        if !costliest.isEmpty {
            lines.append("\(costliest.count) costliest named ops (inclusive):")
            lines.append(pad("ms", 9, right: true) + pad("calls", 8, right: true) + "  " + pad("kind", 26) + "op")
            for op in costliest {
                lines.append(pad(String(format: "%.1f", op.seconds * 1e3), 9, right: true) + pad(String(op.calls), 8, right: true)
                             + "  " + pad(op.kind.rawValue, 26) + (op.name ?? ""))
            }
        }
        let slowest = profile.slowestLayers(layers)
        if !slowest.isEmpty {
            lines.append("\(slowest.count) slowest layers (GFLOP/s counts 2 FLOPs per multiply-add):")
            lines.append(pad("ms", 9, right: true) + pad("GFLOP/s", 9, right: true) + "  " + pad("kind", 22) + "shapes")
            for l in slowest {
                lines.append(pad(String(format: "%.1f", l.seconds * 1e3), 9, right: true)
                             + pad(String(format: "%.1f", l.gflopsPerSecond), 9, right: true) + "  "
                             + pad(l.kind.rawValue, 22) + l.detail)
            }
        }
        return lines.joined(separator: "\n")
    }

    private static func pad(_ s: String, _ width: Int, right: Bool = false) -> String {
        let fill = String(repeating: " ", count: max(0, width - s.count))
        return right ? fill + s : s + fill
    }
}
