import Foundation

/// Command-line options that may also be set from the environment: `--max-uploads` from
/// `MOTIVE_MAX_UPLOADS` (the prefix, then the long name upper-cased with `-` as `_`).
///
/// The variables become arguments before the command line is parsed, so that one parser checks
/// both and the command sees no difference. An option the command line gives wins: its variable
/// is ignored. An empty variable counts as unset.
public struct EnvironmentOption: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// `--name VALUE`.
        case value
        /// `--name` alone: the variable is 1, true or yes (set) or 0, false or no (unset).
        case flag
        /// `--name VALUE`, repeated: the variable holds the values separated by commas.
        case list
    }

    /// The long name, without `--`.
    public let name: String
    public let kind: Kind

    public init(_ name: String, _ kind: Kind = .value) {
        self.name = name
        self.kind = kind
    }

    /// `MOTIVE_MAX_UPLOADS` for `max-uploads`.
    public func variable(prefix: String = EnvironmentArguments.prefix) -> String {
        prefix + name.uppercased().replacingOccurrences(of: "-", with: "_")
    }
}

/// A variable whose value the option cannot take.
public struct EnvironmentArgumentError: Error, CustomStringConvertible, Equatable {
    public let variable: String
    public let value: String
    public let reason: String

    public var description: String { "\(variable)=\(value): \(reason)" }
}

public enum EnvironmentArguments {
    public static let prefix = "MOTIVE_"

    /// What the environment adds to a command line.
    public struct Applied: Sendable {
        /// The command line, then an option for each variable set whose option it does not give.
        public var arguments: [String]
        /// The variables used, with their options' names, in the order of `options`.
        public var sources: [(variable: String, value: String, option: String)]

        public init(arguments: [String], sources: [(variable: String, value: String, option: String)] = []) {
            self.arguments = arguments
            self.sources = sources
        }
    }

    /// `arguments` (the command's own, without the command's names) with the options that
    /// `environment` sets and the command line leaves out.
    public static func apply(_ options: [EnvironmentOption], to arguments: [String], environment: [String: String],
                             prefix: String = prefix) throws(EnvironmentArgumentError) -> Applied {
        // Options after a `--` are positional values, not options.
        let given = arguments.prefix { $0 != "--" }
        var added: [String] = []
        var sources: [(variable: String, value: String, option: String)] = []
        for option in options {
            let variable = option.variable(prefix: prefix)
            guard let value = environment[variable], !value.isEmpty,
                  !given.contains(where: { $0 == "--\(option.name)" || $0.hasPrefix("--\(option.name)=") }) else { continue }
            switch option.kind {
            case .value:
                added.append("--\(option.name)=\(value)")
            case .flag:
                guard let set = flag(value) else {
                    throw EnvironmentArgumentError(variable: variable, value: value, reason: "must be 1, true, yes, 0, false or no")
                }
                if set { added.append("--\(option.name)") }
            case .list:
                for item in value.split(separator: ",") {
                    let item = item.trimmingCharacters(in: .whitespaces)
                    if !item.isEmpty { added.append("--\(option.name)=\(item)") }
                }
            }
            sources.append((variable, value, option.name))
        }
        // Before a `--`, so that they stay options.
        var result = Array(given) + added
        result += arguments[given.endIndex...]
        return Applied(arguments: result, sources: sources)
    }

    /// 1, true, yes → true; 0, false, no → false (any case); else nil.
    public static func flag(_ text: String) -> Bool? {
        switch text.trimmingCharacters(in: .whitespaces).lowercased() {
        case "1", "true", "yes": true
        case "0", "false", "no": false
        default: nil
        }
    }

    /// The variable that set the option an error message names (`--port`, not `--portal`), if
    /// one did: a parser's message then says where the value came from.
    public static func source(blamedBy message: String, in applied: Applied) -> (variable: String, value: String)? {
        for source in applied.sources {
            var rest = message[...]
            while let range = rest.range(of: "--\(source.option)") {
                let next = rest[range.upperBound...].first
                if next.map({ !($0.isLetter || $0.isNumber || $0 == "-") }) ?? true { return (source.variable, source.value) }
                rest = rest[range.upperBound...]
            }
        }
        return nil
    }
}
