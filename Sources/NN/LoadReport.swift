import Engine

/// How a state dict fits a module, key by key: what the module has and the dict lacks, what the
/// dict has and the module lacks, and what both have in different shapes.
public struct LoadReport: Sendable, Equatable, CustomStringConvertible {
    public struct Entry: Sendable, Equatable {
        public let key: String
        public let shape: [Int]
        public init(key: String, shape: [Int]) { (self.key, self.shape) = (key, shape) }
    }

    public struct Mismatch: Sendable, Equatable {
        public let key: String
        /// The module's shape.
        public let expected: [Int]
        /// The dict's shape.
        public let found: [Int]
        public init(key: String, expected: [Int], found: [Int]) { (self.key, self.expected, self.found) = (key, expected, found) }
    }

    /// The module's keys the dict lacks, in state-dict order (keys older checkpoints may lack,
    /// such as BatchNorm's `num_batches_tracked`, are not counted).
    public var missing: [Entry] = []
    /// The dict's keys the module lacks, sorted.
    public var unexpected: [Entry] = []
    /// Keys of both with different shapes, in state-dict order.
    public var mismatched: [Mismatch] = []

    public var isClean: Bool { missing.isEmpty && unexpected.isEmpty && mismatched.isEmpty }

    /// Every problem on a line of its own, the first `limit` of each kind and then how many
    /// more; `origin` names where a renamed key came from.
    public func lines(origin: [String: String] = [:], limit: Int = LoadReport.listLimit) -> [String] {
        func from(_ key: String) -> String { origin[key].map { $0 == key ? "" : " (from \($0))" } ?? "" }
        return Self.abbreviated(missing, limit: limit) { "missing \($0.key) \($0.shape)" }
            + Self.abbreviated(unexpected, limit: limit) { "unexpected \($0.key) \($0.shape)\(from($0.key))" }
            + Self.abbreviated(mismatched, limit: limit) { "shape mismatch \($0.key): model \($0.expected), weights \($0.found)\(from($0.key))" }
    }

    /// How many keys of one kind messages list before they summarise the rest.
    public static let listLimit = 20

    /// A line for each of the first `limit` items, and a last line counting the rest.
    public static func abbreviated<Item>(_ items: [Item], limit: Int = listLimit, _ line: (Item) -> String) -> [String] {
        items.count <= limit ? items.map(line) : items.prefix(limit).map(line) + ["… and \(items.count - limit) more"]
    }

    public var summary: String {
        "\(missing.count) missing, \(unexpected.count) unexpected, \(mismatched.count) mis-shaped"
    }

    public var description: String { ([summary] + lines()).joined(separator: "\n  ") }
}

/// A strict load that found differences: the report lists every one of them.
public struct LoadMismatchError: Error, CustomStringConvertible, Equatable {
    public let report: LoadReport
    public let origin: [String: String]

    public var description: String {
        "state dict does not fit the model (\(report.summary)):\n  " + report.lines(origin: origin).joined(separator: "\n  ")
    }
}

extension Module {
    /// Compares `dict` with this module's state dict without changing anything, after the
    /// module's own `adaptStateDict` (as `loadStateDict` would see it).
    public func loadReport(for dict: [String: Tensor]) -> LoadReport { report(forAdapted: adaptStateDict(dict)) }

    func report(forAdapted dict: [String: Tensor]) -> LoadReport {
        var report = LoadReport()
        let own = stateDict()
        var optional = Set<String>()
        for (prefix, module) in namedModules() {
            for name in module.legacyOptionalKeys { optional.insert(prefix.isEmpty ? name : prefix + "." + name) }
        }
        for (key, t) in own {
            guard let source = dict[key] else {
                if !optional.contains(key) { report.missing.append(.init(key: key, shape: t.shape)) }
                continue
            }
            if source.shape != t.shape { report.mismatched.append(.init(key: key, expected: t.shape, found: source.shape)) }
        }
        let known = Set(own.map(\.0))
        for key in dict.keys.sorted() where !known.contains(key) { report.unexpected.append(.init(key: key, shape: dict[key]!.shape)) }
        return report
    }

    /// Loads `dict` and says what did not fit. Strict: any difference is a `LoadMismatchError`
    /// and nothing is copied. Not strict: every key present in both with the same shape is
    /// loaded and the rest are reported. `origin` (our key → the checkpoint's) names renamed keys
    /// in the messages. `accept` sees the report before anything is copied; if it throws, nothing is.
    @discardableResult
    public func load(_ dict: [String: Tensor], strict: Bool = true, origin: [String: String] = [:],
                     accept: (LoadReport) throws -> Void = { _ in }) throws -> LoadReport {
        // The model's own adaptation runs once (TimeSformer resamples embeddings, a flow TSN averages conv1).
        let dict = adaptStateDict(dict)
        let report = report(forAdapted: dict)
        if strict && !report.isClean { throw LoadMismatchError(report: report, origin: origin) }
        try accept(report)
        let bad = Set(report.mismatched.map(\.key) + report.unexpected.map(\.key))
        do {
            try loadAdapted(dict.filter { !bad.contains($0.key) }, strict: false)
        } catch {
            // Unreachable: the report has already excluded every key a non-strict load refuses.
            fatalError("load: \(error)")
        }
        return report
    }
}
