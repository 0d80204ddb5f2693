import Foundation
import Testing
@testable import Training
@testable import Inference

@Suite struct MetricsTests {
    // 6 videos, 7 classes; classes 4, 5 and 6 have no videos. Ranks are 0-based, ties go to the lower index.
    //   video label scores                                  top-1  rank of label
    //   0     0     [0.9, 0.1, 0,    0,   0,   0,   0]       0      0
    //   1     0     [0.2, 0.7, 0.1,  0,   0,   0,   0]       1      1 (0.7)
    //   2     1     [0.5, 0.5, 0,    0,   0,   0,   0]       0      1 (tie with class 0)
    //   3     2     [0,   0,   0.8,  0.1, 0,   0,   0]       2      0
    //   4     0     [0.1, 0.5, 0.05, 0.4, 0.6, 0.3, 0.2]     4      5 (0.6, 0.5, 0.4, 0.3, 0.2)
    //   5     3     [0.1, 0,   0,    0.3, 0.2, 0,   NaN]     3      0 (NaN ranks last)
    // top-1 = 3/6; top-5 = ranks < 5 = 5/6; top-2 = 5/6; top-6 = 1.
    // Recall: class 0 1/3 (videos 0, 1, 4), class 1 0/1, class 2 1/1, class 3 1/1, classes 4–6 none.
    // Mean class accuracy = (1/3 + 0 + 1 + 1) / 4 = 7/12. (MMAction2 would also average in class 4,
    // predicted once but never true, as 0: 7/15.)
    static let seven = (
        scores: [[0.9, 0.1, 0, 0, 0, 0, 0], [0.2, 0.7, 0.1, 0, 0, 0, 0], [0.5, 0.5, 0, 0, 0, 0, 0],
                 [0, 0, 0.8, 0.1, 0, 0, 0], [0.1, 0.5, 0.05, 0.4, 0.6, 0.3, 0.2], [0.1, 0, 0, 0.3, 0.2, 0, .nan]] as [[Float]],
        labels: [0, 0, 1, 2, 0, 3])

    // 5 videos, 3 classes, so "top-5" is top-3 and always 1.
    //   video label scores          top-1  rank of label
    //   0     0     [2, 1, 0]       0      0
    //   1     1     [NaN, NaN, NaN] 0      1 (all tie at −∞)
    //   2     2     [1, 3, 2]       1      1
    //   3     2     [0, 0, 0]       0      2 (tie, two lower indices)
    //   4     1     [1, NaN, 0]     0      2 (NaN below 0)
    // top-1 = 1/5, top-2 = 3/5; recall 1/1, 0/2, 0/2, mean 1/3.
    static let three = (
        scores: [[2, 1, 0], [.nan, .nan, .nan], [1, 3, 2], [0, 0, 0], [1, .nan, 0]] as [[Float]],
        labels: [0, 1, 2, 2, 1])

    @Test func sevenClassesByHand() throws {
        let m = try ClassificationMetrics(scores: Self.seven.scores, labels: Self.seven.labels, classes: 7)
        #expect(m.count == 6 && m.classes == 7)
        #expect(m.predictions == [0, 1, 0, 2, 4, 3])
        #expect(m.labelRanks == [0, 1, 1, 0, 5, 0])
        #expect(m.top1 == 0.5 && m.top5 == 5.0 / 6)
        #expect(m.topK(0) == 0 && m.topK(1) == 0.5 && m.topK(2) == 5.0 / 6 && m.topK(6) == 1 && m.topK(99) == 1)
        #expect(m.perClassAccuracy == [1.0 / 3, 0, 1, 1, nil, nil, nil])
        #expect(abs(m.meanClassAccuracy - 7.0 / 12) < 1e-12)
        let zero = [0, 0, 0, 0, 0, 0, 0]
        #expect(m.confusion == [[1, 1, 0, 0, 1, 0, 0], [1, 0, 0, 0, 0, 0, 0], [0, 0, 1, 0, 0, 0, 0],
                                [0, 0, 0, 1, 0, 0, 0], zero, zero, zero])
    }

    @Test func fewerThanFiveClassesTiesAndNaN() throws {
        let m = try ClassificationMetrics(scores: Self.three.scores, labels: Self.three.labels, classes: 3)
        #expect(m.predictions == [0, 0, 1, 0, 0])
        #expect(m.labelRanks == [0, 1, 1, 2, 2])
        #expect(m.top1 == 0.2 && m.topK(2) == 0.6 && m.top5 == 1)
        #expect(m.confusion == [[1, 0, 0], [2, 0, 0], [1, 1, 0]])
        #expect(m.perClassAccuracy == [1, 0, 0] && abs(m.meanClassAccuracy - 1.0 / 3) < 1e-12)
    }

    @Test func noVideosScoresZeroNotNaN() throws {
        let m = try ClassificationMetrics(scores: [], labels: [], classes: 3)
        #expect(m.top1 == 0 && m.top5 == 0 && m.meanClassAccuracy == 0)
        #expect(m.perClassAccuracy == [nil, nil, nil] && m.confusion == [[0, 0, 0], [0, 0, 0], [0, 0, 0]])
    }

    @Test func errorsNameTheRow() {
        #expect(throws: MetricsError.noClasses(0)) { try ClassificationMetrics(scores: [], labels: [], classes: 0) }
        #expect(throws: MetricsError.countMismatch(scores: 2, labels: 1)) {
            try ClassificationMetrics(scores: [[1, 0], [0, 1]], labels: [0], classes: 2)
        }
        #expect(throws: MetricsError.rowLength(row: 1, count: 3, expected: 2)) {
            try ClassificationMetrics(scores: [[1, 0], [0, 1, 2]], labels: [0, 1], classes: 2)
        }
        #expect(throws: MetricsError.labelOutOfRange(row: 1, label: 2, classes: 2)) {
            try ClassificationMetrics(scores: [[1, 0], [0, 1]], labels: [0, 2], classes: 2)
        }
        #expect(throws: MetricsError.labelOutOfRange(row: 0, label: -1, classes: 2)) {
            try ClassificationMetrics(scores: [[1, 0]], labels: [-1], classes: 2)
        }
        #expect(MetricsError.rowLength(row: 1, count: 3, expected: 2).description == "row 1 has 3 scores, expected 2")
    }

    @Test func confusionCSVQuotesNames() throws {
        let m = try ClassificationMetrics(scores: Self.three.scores, labels: Self.three.labels, classes: 3)
        let csv = [#"true\predicted,walk,"say ""hi""","a,b""#, "walk,1,0,0", #""say ""hi""",2,0,0"#, #""a,b",1,1,0"#]
        #expect(m.confusionCSV(classNames: ["walk", "say \"hi\"", "a,b"]) == csv.joined(separator: "\n") + "\n")
        #expect(m.confusionCSV(classNames: ["walk"]).hasPrefix("true\\predicted,walk,1,2\nwalk,1,0,0\n1,2,0,0\n"))
        #expect(ClassificationMetrics.csvField("two\r\nlines") == "\"two\r\nlines\"")
    }

    @Test func summaryShowsTheHeadlineNumbers() throws {
        let m = try ClassificationMetrics(scores: Self.three.scores, labels: Self.three.labels, classes: 3)
        let text = m.summary(classNames: ["walk", "run", "jump"])
        for part in ["videos", " 5", "top-1", "20.00%", "top-3", "100.00%", "mean class accuracy", "33.33%", "0/2  jump"] {
            #expect(text.contains(part), "missing \(part) in\n\(text)")
        }
    }

    @Test func roundTripsThroughJSON() throws {
        let m = try ClassificationMetrics(scores: Self.seven.scores, labels: Self.seven.labels, classes: 7)
        let decoded = try JSONDecoder().decode(ClassificationMetrics.self, from: JSONEncoder().encode(m))
        #expect(decoded == m && decoded.topK(2) == m.topK(2))
    }
}
