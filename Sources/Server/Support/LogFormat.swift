import Foundation
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// How log lines look on stderr: JSON objects, one per line (`JSONLogHandler`), for collectors;
/// or swift-log's plain text, for a person at a terminal.
public enum LogFormat: String, CaseIterable, Sendable {
    case json, text

    /// Text when stderr is a terminal, JSON otherwise (a file, a pipe, a container's log).
    public static var standardErrorDefault: LogFormat { isatty(STDERR_FILENO) == 1 ? .text : .json }

    /// The one place the CLI sets up logging: every logger writes to stderr in this format,
    /// from `level` up. Once per process (swift-log's rule).
    public func bootstrap(level: Logger.Level) {
        switch self {
        case .json:
            LoggingSystem.bootstrap { JSONLogHandler(label: $0, level: level) }
        case .text:
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
        }
    }
}
