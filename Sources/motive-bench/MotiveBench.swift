import ArgumentParser
import CPUFeatures
import Engine
import Foundation
import Video

@main
struct MotiveBench: ParsableCommand {
    static func main() {
        CPUFeatures.requireCompiledFeatures()
        BLASCore.restartWithSupportedKernelsIfNeeded()
        // Errors reach the user as typed errors; FFmpeg's own chatter (encoder statistics) is noise.
        FFmpegLogLevel.error.apply()
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            exit(withError: error)
        }
    }

    static let configuration = CommandConfiguration(
        commandName: "motive-bench",
        abstract: "Benchmarks for Motive's engine. Run optimised: swift run -c release motive-bench …",
        subcommands: [Kernels.self, VideoDecode.self, FlowBench.self, ZooBench.self])
}

/// Prints one JSON object per line.
func emit(_ fields: [(String, Any)]) {
    let body = fields.map { key, value -> String in
        switch value {
        case let s as String: return "\"\(key)\": \"\(s)\""
        case let d as Double: return "\"\(key)\": \(String(format: "%.2f", d))"
        default: return "\"\(key)\": \(value)"
        }
    }
    print("{" + body.joined(separator: ", ") + "}")
    fflush(nil)
}

/// Median wall time in seconds of `repeats` runs after one warm-up.
func medianSeconds(repeats: Int, _ body: () -> Void) -> Double {
    body()
    var times: [Double] = []
    for _ in 0..<repeats {
        let start = DispatchTime.now().uptimeNanoseconds
        body()
        times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }
    times.sort()
    return times[times.count / 2]
}
