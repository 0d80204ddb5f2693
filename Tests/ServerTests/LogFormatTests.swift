import Foundation
import Logging
import Server
import Testing

/// `--log-format json`: one JSON object per line, with the time, level, label, message and
/// every piece of metadata as a key of its own.
@Suite struct LogFormatTests {
    /// The lines a logger writes through `JSONLogHandler`, into a file.
    func lines(_ write: (Logger) -> Void) throws -> [String] {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("log-\(UUID().uuidString).jsonl")
        _ = FileManager.default.createFile(atPath: file.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: file) }
        let output = try FileHandle(forWritingTo: file)
        var logger = Logger(label: "motive.test") { JSONLogHandler(label: $0, level: .info, output: output) }
        logger[metadataKey: "request_id"] = "r-1"
        write(logger)
        try output.close()
        let text = try String(contentsOf: file, encoding: .utf8)
        #expect(text.hasSuffix("\n"))
        return text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
    }

    @Test func oneObjectPerLineWithItsMetadata() throws {
        let lines = try lines { logger in
            logger.info("job started\nwith a newline", metadata: ["job": "7", "sizes": .array(["1", "2"]), "model": .dictionary(["name": "default"])])
            logger.debug("below the level")
            logger.warning("slow", metadata: ["seconds": .stringConvertible(1.5)])
        }
        #expect(lines.count == 2, "\(lines)")
        let first = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        #expect(first["level"] as? String == "info")
        #expect(first["label"] as? String == "motive.test")
        #expect(first["message"] as? String == "job started\nwith a newline")
        #expect(first["request_id"] as? String == "r-1" && first["job"] as? String == "7")
        #expect(first["sizes"] as? [String] == ["1", "2"])
        #expect((first["model"] as? [String: Any])?["name"] as? String == "default")
        // ISO 8601 in UTC, to the millisecond.
        let time = try #require(first["time"] as? String)
        let parsed = try #require(try? Date(time, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)))
        #expect(abs(parsed.timeIntervalSinceNow) < 60, "\(time)")
        #expect(time.hasSuffix("Z"))
        let second = try #require(try JSONSerialization.jsonObject(with: Data(lines[1].utf8)) as? [String: Any])
        #expect(second["level"] as? String == "warning" && second["seconds"] as? String == "1.5")
        #expect(Set(second.keys) == ["time", "level", "label", "message", "request_id", "seconds"])
    }
}
