import Foundation

/// Why a set of per-video scores could not be scored. Each case names the row (video index) at fault.
public enum MetricsError: Error, Equatable, CustomStringConvertible {
    case noClasses(Int)
    case countMismatch(scores: Int, labels: Int)
    case rowLength(row: Int, count: Int, expected: Int)
    case labelOutOfRange(row: Int, label: Int, classes: Int)

    public var description: String {
        switch self {
        case .noClasses(let classes): "need at least one class, got \(classes)"
        case .countMismatch(let scores, let labels): "\(scores) score rows but \(labels) labels"
        case .rowLength(let row, let count, let expected): "row \(row) has \(count) scores, expected \(expected)"
        case .labelOutOfRange(let row, let label, let classes): "row \(row): label \(label) is outside 0..<\(classes)"
        }
    }
}

/// Video-level classification metrics: top-k accuracy, per-class recall and the confusion matrix.
///
/// Ranking follows PyTorch's `argmax`: among equal scores the lowest class index ranks first,
/// so a tie between the true class and a lower index counts as a miss at top-1. NaN scores rank
/// as −∞, so a diverged model scores no lucky hits. With no videos every accuracy is 0, never NaN,
/// which keeps the value encodable as JSON.
public struct ClassificationMetrics: Codable, Sendable, Equatable {
    /// Number of videos scored.
    public let count: Int
    public let classes: Int
    /// Fraction of videos whose top-1 prediction is the label.
    public let top1: Double
    /// Top-k accuracy with k = min(5, classes).
    public let top5: Double
    /// Mean of `perClassAccuracy` over the classes that have at least one video. MMAction2's
    /// `mean_class_accuracy` also averages in a 0 for classes that are predicted but never true;
    /// that makes the value depend on mistakes in absent classes, so they are left out here.
    public let meanClassAccuracy: Double
    /// Recall of each class (hits / videos of that class), nil for classes with no videos.
    public let perClassAccuracy: [Double?]
    /// `confusion[true][predicted]`: video counts, [classes][classes].
    public let confusion: [[Int]]
    /// Top-1 class of each video.
    public let predictions: [Int]
    /// True class of each video.
    public let labels: [Int]
    /// 0-based position of the true class in each video's ranking; enough to answer any top-k.
    public let labelRanks: [Int]

    /// Scores `scores[video][class]` (logits or probabilities, any monotone scale) against `labels`.
    public init(scores: [[Float]], labels: [Int], classes: Int) throws(MetricsError) {
        guard classes >= 1 else { throw .noClasses(classes) }
        guard scores.count == labels.count else { throw .countMismatch(scores: scores.count, labels: labels.count) }
        for (row, (s, label)) in zip(scores, labels).enumerated() {
            guard s.count == classes else { throw .rowLength(row: row, count: s.count, expected: classes) }
            guard (0..<classes).contains(label) else { throw .labelOutOfRange(row: row, label: label, classes: classes) }
        }
        count = labels.count
        self.classes = classes
        self.labels = labels
        predictions = scores.map(Self.argmax)
        labelRanks = zip(scores, labels).map { Self.rank(of: $1, in: $0) }

        var confusion = Array(repeating: Array(repeating: 0, count: classes), count: classes)
        for (label, predicted) in zip(labels, predictions) { confusion[label][predicted] += 1 }
        self.confusion = confusion
        perClassAccuracy = (0..<classes).map { c in
            let videos = confusion[c].reduce(0, +)
            return videos == 0 ? nil : Double(confusion[c][c]) / Double(videos)
        }
        let present = perClassAccuracy.compactMap { $0 }
        meanClassAccuracy = present.isEmpty ? 0 : present.reduce(0, +) / Double(present.count)
        top1 = Self.fraction(labelRanks, below: 1)
        top5 = Self.fraction(labelRanks, below: min(5, classes))
    }

    /// Fraction of videos whose true class is among the `k` best-scored classes.
    public func topK(_ k: Int) -> Double { Self.fraction(labelRanks, below: k) }

    /// The confusion matrix as CSV: a `true\predicted` header row of class names, then one row per
    /// true class. Missing names fall back to the class index.
    public func confusionCSV(classNames: [String]) -> String {
        let names = (0..<classes).map { Self.name($0, classNames) }
        var lines = [(["true\\predicted"] + names).map(Self.csvField).joined(separator: ",")]
        for (c, row) in confusion.enumerated() {
            lines.append(([Self.csvField(names[c])] + row.map(String.init)).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A short table for the terminal: the video count, top-1, top-k and mean class accuracy, then the
    /// recall of every class (up to 10 classes) or of the five hardest classes.
    public func summary(classNames: [String]) -> String {
        func percent(_ x: Double) -> String { String(format: "%6.2f%%", 100 * x) }
        func row(_ name: String, _ value: String) -> String {
            name.padding(toLength: 20, withPad: " ", startingAt: 0) + String(repeating: " ", count: max(0, 7 - value.count)) + value
        }
        var lines = [row("videos", String(count)), row("top-1", percent(top1)), row("top-\(min(5, classes))", percent(top5)),
                     row("mean class accuracy", percent(meanClassAccuracy))]
        let scored = perClassAccuracy.enumerated().compactMap { c, a in a.map { (c, $0) } }
        let shown = classes <= 10 ? scored : Array(scored.sorted { ($0.1, $0.0) < ($1.1, $1.0) }.prefix(5))
        if !shown.isEmpty { lines.append(classes <= 10 ? "per class:" : "hardest classes:") }
        for (c, accuracy) in shown {
            let videos = confusion[c].reduce(0, +)
            lines.append("  \(percent(accuracy))  \(confusion[c][c])/\(videos)  \(Self.name(c, classNames))")
        }
        return lines.joined(separator: "\n")
    }

    // NaN compares as −∞ so that every row has a total order.
    private static func key(_ x: Float) -> Float { x.isNaN ? -.infinity : x }

    /// Index of the highest score, the lowest index among ties.
    private static func argmax(_ row: [Float]) -> Int {
        var best = 0
        for j in row.indices where key(row[j]) > key(row[best]) { best = j }
        return best
    }

    /// How many classes rank above `label`: higher scores, or equal scores at a lower index.
    private static func rank(of label: Int, in row: [Float]) -> Int {
        let s = key(row[label])
        return row.indices.count { j in key(row[j]) > s || (key(row[j]) == s && j < label) }
    }

    private static func fraction(_ ranks: [Int], below k: Int) -> Double {
        ranks.isEmpty ? 0 : Double(ranks.count { $0 < k }) / Double(ranks.count)
    }

    private static func name(_ c: Int, _ names: [String]) -> String { names.indices.contains(c) ? names[c] : String(c) }

    /// RFC 4180 quoting: only when the field holds a comma, quote or line break.
    static func csvField(_ s: String) -> String {
        guard s.unicodeScalars.contains(where: { ",\"\n\r".unicodeScalars.contains($0) }) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
