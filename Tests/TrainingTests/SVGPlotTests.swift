import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
@testable import Training
@testable import Inference

@Suite struct SVGPlotTests {
    /// Parses `svg` (throws when it is not well-formed XML) and returns the elements named `name`.
    func elements(_ name: String, in svg: String) throws -> [XMLNode] {
        let document = try XMLDocument(xmlString: svg, options: [])
        #expect(document.rootElement()?.name == "svg")
        return try document.nodes(forXPath: "//*[local-name()='\(name)']")
    }

    func texts(_ svg: String) throws -> [String] { try elements("text", in: svg).map { $0.stringValue ?? "" } }

    static let curves: [(title: String, series: [PlotSeries])] = [
        ("loss", [PlotSeries(name: "train loss", points: [(1, 2.3), (2, 1.7), (3, 1.1), (4, 0.9)])]),
        ("accuracy", [PlotSeries(name: "train top-1", points: [(1, 0.2), (2, 0.45), (3, 0.6), (4, 0.7)]),
                      PlotSeries(name: "val top-1", points: [(1, 0.15), (2, 0.4), (3, 0.5), (4, 0.55)])]),
    ]

    @Test func linesAreWellFormedWithLegendAndMarkers() throws {
        let svg = SVGPlot.lines(title: "run <1>", xLabel: "epoch", panels: Self.curves)
        let labels = try texts(svg)
        for name in ["train loss", "train top-1", "val top-1", "loss", "accuracy", "epoch", "run <1>"] {
            #expect(labels.contains(name), "no text \(name)")
        }
        #expect(svg.contains("run &lt;1&gt;"))
        #expect(try elements("polyline", in: svg).count == 3)
        #expect(try elements("circle", in: svg).count == 12)
        #expect(svg == SVGPlot.lines(title: "run <1>", xLabel: "epoch", panels: Self.curves))  // deterministic
        // One distinct colour per series.
        // (attribute(forName:) finds nothing under a default namespace in swift-corelibs-foundation.)
        let strokes = try elements("polyline", in: svg).compactMap {
            ($0 as? XMLElement)?.attributes?.first { $0.name == "stroke" }?.stringValue
        }
        #expect(Set(strokes).count == 3)
    }

    @Test func nonFiniteSinglePointAndEmptySeries() throws {
        let panels: [(title: String, series: [PlotSeries])] = [
            ("loss", [PlotSeries(name: "diverged", points: [(1, 2), (2, .nan), (3, .infinity), (.nan, 1), (4, 1.5)])]),
            ("accuracy", [PlotSeries(name: "one epoch", points: [(1, 0.25)]), PlotSeries(name: "nothing yet", points: [])]),
        ]
        let svg = SVGPlot.lines(title: "t", xLabel: "epoch", panels: panels)
        #expect(!svg.lowercased().contains("nan") && !svg.lowercased().contains("inf"))
        #expect(try elements("polyline", in: svg).count == 1)   // the single point has no line, only a marker
        #expect(try elements("circle", in: svg).count == 3)     // (1, 2), (4, 1.5), (1, 0.25)
        #expect(try texts(svg).contains("nothing yet"))
        #expect(try elements("svg", in: SVGPlot.lines(title: "empty", xLabel: "x", panels: [])).count == 1)
    }

    @Test func constantSeriesGetsARange() throws {
        let svg = SVGPlot.lines(title: "flat", xLabel: "epoch",
                                panels: [("acc", [PlotSeries(name: "flat", points: [(1, 0.5), (2, 0.5), (3, 0.5)])])])
        #expect(!svg.lowercased().contains("nan"))
        #expect(try texts(svg).contains("0.50"))
    }

    @Test func ticksAreOneTwoOrFiveTimesAPowerOfTen() {
        #expect(SVGPlot.Axis([0.37, 3.9]).ticks == [0, 1, 2, 3, 4])     // raw step 0.88 → 1
        let unit = SVGPlot.Axis([0, 1])                                   // raw step 0.25 → 0.2
        #expect(unit.ticks.map(unit.label) == ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"])
        let flat = SVGPlot.Axis([5, 5])                                   // widened to 4.5…5.5, step 0.2
        #expect(flat.lo < 5 && flat.hi > 5 && flat.ticks.map(flat.label).first == "4.4")
        #expect(SVGPlot.Axis([]).ticks.map(SVGPlot.Axis([]).label) == ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"])
        #expect(SVGPlot.Axis([-0.01, 0.01]).label(-0.0) == "0.000")
    }

    @Test func escapesTheFiveSpecialsAndDropsControlCharacters() {
        #expect(SVGPlot.escape("a<b & \"c\" 'd'>\u{7}") == "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;")
    }

    @Test func confusionHeatmapWritesCountsAndEscapedNames() throws {
        let matrix = [[5, 0, 1], [0, 3, 0], [2, 2, 2]]
        let names = ["a&b", "<c>", "d'e"]
        let svg = SVGPlot.confusion(matrix, classNames: names, title: "val \"epoch 3\"")
        let labels = try texts(svg)
        #expect(labels.filter { Int($0) != nil } == matrix.flatMap { $0.map(String.init) })   // row-major cells
        for name in names { #expect(labels.count { $0 == name } == 2) }                     // both axes
        #expect(svg.contains("a&amp;b") && svg.contains("&lt;c&gt;") && svg.contains("d&apos;e"))
        #expect(svg.contains("fill=\"\(SVGPlot.heat(5.0 / 6))\""))
        #expect(SVGPlot.heat(0) == "#f7fbff" && SVGPlot.heat(1) == "#08306b")
        #expect(try elements("rect", in: svg).count == 1 + 9)   // background and cells
    }

    @Test func largeConfusionHasNoCellText() throws {
        let n = 31
        let matrix = (0..<n).map { r in (0..<n).map { c in r == c ? 4 : 1 } }
        let svg = SVGPlot.confusion(matrix, classNames: (0..<n).map { "class \($0)" }, title: "big")
        #expect(try texts(svg).allSatisfy { Int($0) == nil })
        #expect(try elements("rect", in: svg).count == 1 + n * n)
    }
}
