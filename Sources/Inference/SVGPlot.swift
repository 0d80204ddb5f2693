import Foundation

/// One named line of a plot. Points with a NaN or infinite coordinate are not drawn.
public struct PlotSeries: Sendable {
    public var name: String
    public var points: [(x: Double, y: Double)]

    public init(name: String, points: [(x: Double, y: Double)]) {
        self.name = name
        self.points = points
    }
}

/// Self-contained SVG charts for training reports. The text depends only on the input: coordinates
/// carry one decimal, tick labels a fixed number per axis, and colours come from a fixed palette.
public enum SVGPlot {
    /// Line charts side by side, one panel per entry of `panels` (e.g. loss, and train/val top-1),
    /// each with its own axes, ~5 ticks at 1, 2 or 5 × 10ᵏ, and a legend. A series keeps its colour in
    /// every panel. Lines join the finite points in order and every point gets a marker, so a single
    /// point still shows; a constant series gets a small range around its value.
    public static func lines(title: String, xLabel: String, panels: [(title: String, series: [PlotSeries])],
                             width: Int = 900, height: Int = 360) -> String {
        var names: [String] = []
        for name in panels.flatMap({ $0.series.map(\.name) }) where !names.contains(name) { names.append(name) }
        func colour(_ name: String) -> String { palette[(names.firstIndex(of: name) ?? 0) % palette.count] }

        var body = [text(title, x: Double(width) / 2, y: 22, size: 15, anchor: "middle", style: " font-weight=\"bold\"")]
        let panelWidth = Double(width) / Double(max(panels.count, 1))
        for (i, panel) in panels.enumerated() {
            // Room left for y tick labels, below for x ticks, the x label and the legend.
            let area = Rect(x: Double(i) * panelWidth + 60, y: 56, width: panelWidth - 80, height: Double(height) - 126)
            body += lineChart(panel.title, panel.series, xLabel: xLabel, in: area, colour: colour)
        }
        return document(width: width, height: height, title: title, body: body)
    }

    /// A confusion-matrix heatmap, rows = true class, columns = predicted class. Colour is the share
    /// of the row's videos, so rare classes stay as visible as common ones; each cell shows its count
    /// when there are at most 30 classes. Missing class names fall back to the index.
    public static func confusion(_ matrix: [[Int]], classNames: [String], title: String) -> String {
        let n = matrix.count
        let names = (0..<n).map { c in
            let name = classNames.indices.contains(c) ? classNames[c] : String(c)
            return name.count > 40 ? String(name.prefix(39)) + "…" : name
        }
        let cell = Double(max(6, min(36, 600 / max(n, 1))))
        let fontSize = max(5, min(11, Int(cell * 0.6)))
        let labelRoom = Double(names.map(\.count).max() ?? 1) * Double(fontSize) * 0.6 + 12
        let grid = Rect(x: labelRoom + 24, y: 44, width: cell * Double(n), height: cell * Double(n))
        let width = Int((grid.maxX + 20).rounded(.up))
        let height = Int((grid.maxY + labelRoom * 0.75 + 34).rounded(.up))  // x labels at 45° need ~sin 45° of their length

        var body = [text(title, x: Double(width) / 2, y: 22, size: 15, anchor: "middle", style: " font-weight=\"bold\"")]
        for r in 0..<n {
            let counts = (0..<n).map { c in matrix[r].indices.contains(c) ? max(0, matrix[r][c]) : 0 }
            let total = counts.reduce(0, +)
            for (c, count) in counts.enumerated() {
                let share = total == 0 ? 0 : Double(count) / Double(total)
                let x = grid.x + Double(c) * cell, y = grid.y + Double(r) * cell
                body.append("<rect x=\"\(num(x))\" y=\"\(num(y))\" width=\"\(num(cell))\" height=\"\(num(cell))\" fill=\"\(heat(share))\" stroke=\"#ffffff\" stroke-width=\"0.5\"/>")
                if n <= 30 {
                    let ink = share > 0.5 ? "#ffffff" : count == 0 ? "#bbbbbb" : "#222222"
                    body.append(text(String(count), x: x + cell / 2, y: y + cell / 2 + cell * 0.14,
                                     size: max(5, Int(cell * 0.38)), anchor: "middle", style: " fill=\"\(ink)\""))
                }
            }
        }
        for (c, name) in names.enumerated() {
            let mid = Double(c) * cell + cell / 2
            body.append(text(name, x: grid.x - 6, y: grid.y + mid + Double(fontSize) * 0.35, size: fontSize, anchor: "end"))
            let (x, y) = (grid.x + mid, grid.maxY + 10)
            body.append(text(name, x: x, y: y, size: fontSize, anchor: "end", style: " transform=\"rotate(-45 \(num(x)) \(num(y)))\""))
        }
        body.append(text("predicted", x: grid.midX, y: Double(height) - 8, size: 12, anchor: "middle"))
        body.append(text("true", x: 14, y: grid.midY, size: 12, anchor: "middle", style: " transform=\"rotate(-90 14 \(num(grid.midY)))\""))
        return document(width: width, height: height, title: title, body: body)
    }

    /// A labelled point of a scatter chart. Hollow points are references (published results)
    /// drawn as rings; the others are measured and drawn filled.
    public struct Point: Sendable {
        public var label: String
        public var x: Double
        public var y: Double
        public var hollow: Bool

        public init(label: String, x: Double, y: Double, hollow: Bool = false) {
            (self.label, self.x, self.y, self.hollow) = (label, x, y, hollow)
        }
    }

    /// A scatter chart with every point labelled (its `<circle>` has class `point` or
    /// `published` and a `data-label`, and a `<title>` for tooltips). Either axis may be
    /// logarithmic (then points at or below zero are left out). With `paretoFront`, the measured
    /// points that no other measured point beats (lower x and higher y) are joined by a dashed line.
    public static func scatter(title: String, xLabel: String, yLabel: String, points: [Point], logX: Bool = false, logY: Bool = false,
                               paretoFront: Bool = false, width: Int = 760, height: Int = 500) -> String {
        let shown = points.filter { $0.x.isFinite && $0.y.isFinite && (!logX || $0.x > 0) && (!logY || $0.y > 0) }
        let area = Rect(x: 70, y: 50, width: Double(width) - 100, height: Double(height) - 130)
        let xAxis = ScaledAxis(shown.map(\.x), log: logX), yAxis = ScaledAxis(shown.map(\.y), log: logY)
        func px(_ x: Double) -> Double { area.x + xAxis.unit(x) * area.width }
        func py(_ y: Double) -> Double { area.maxY - yAxis.unit(y) * area.height }

        var body = [text(title, x: Double(width) / 2, y: 24, size: 15, anchor: "middle", style: " font-weight=\"bold\"")]
        body += frame(area, xTicks: xAxis.ticks.map { (px($0), xAxis.label($0)) }, yTicks: yAxis.ticks.map { (py($0), yAxis.label($0)) })
        body.append(text(xLabel + (logX ? " (log scale)" : ""), x: area.midX, y: area.maxY + 36, size: 12, anchor: "middle", style: " class=\"axis-title\""))
        body.append(text(yLabel + (logY ? " (log scale)" : ""), x: 18, y: area.midY, size: 12, anchor: "middle",
                         style: " class=\"axis-title\" transform=\"rotate(-90 18 \(num(area.midY)))\""))

        let measured = shown.filter { !$0.hollow }
        if paretoFront {
            let front = Self.paretoFront(measured)
            if front.count > 1 {
                let coords = front.map { "\(num(px($0.x))),\(num(py($0.y)))" }.joined(separator: " ")
                body.append("<polyline class=\"pareto-front\" points=\"\(coords)\" fill=\"none\" stroke=\"#555555\" stroke-width=\"1.5\" stroke-dasharray=\"5 4\"/>")
            }
        }
        var placed = shown.map { p in Rect(x: px(p.x) - 5, y: py(p.y) - 5, width: 10, height: 10) }   // markers
        for (i, p) in shown.enumerated() {
            let c = palette[i % palette.count], (x, y) = (px(p.x), py(p.y))
            let style = p.hollow ? "fill=\"none\" stroke=\"\(c)\" stroke-width=\"2\"" : "fill=\"\(c)\""
            let value = "\(p.label): \(xAxis.label(p.x, precise: true)), \(yAxis.label(p.y, precise: true))"
            body.append("<circle class=\"\(p.hollow ? "published" : "point")\" data-label=\"\(escape(p.label))\" cx=\"\(num(x))\" cy=\"\(num(y))\" r=\"5\" \(style)><title>\(escape(value))</title></circle>")
            let label = Self.placeLabel(p.label, at: (x, y), within: Rect(x: area.x + 2, y: area.y + 2, width: area.width - 4, height: area.height - 4),
                                        avoiding: &placed)
            body.append(text(p.label, x: label.x, y: label.y, size: 10, anchor: label.anchor, style: " fill=\"\(c)\""))
        }
        // Legend: what filled and hollow markers mean, and the front.
        var legend: [(String, String)] = []
        if !measured.isEmpty { legend.append(("<circle cx=\"0\" cy=\"-4\" r=\"5\" fill=\"#333333\"/>", "measured here")) }
        if shown.contains(where: \.hollow) {
            legend.append(("<circle cx=\"0\" cy=\"-4\" r=\"5\" fill=\"none\" stroke=\"#333333\" stroke-width=\"2\"/>", "published (Kinetics-400)"))
        }
        if paretoFront && measured.count > 1 {
            legend.append(("<line x1=\"-8\" y1=\"-4\" x2=\"8\" y2=\"-4\" stroke=\"#555555\" stroke-width=\"1.5\" stroke-dasharray=\"5 4\"/>", "Pareto front"))
        }
        var legendX = area.x + 8
        for (marker, name) in legend {
            body.append("<g transform=\"translate(\(num(legendX)) \(num(area.maxY + 60)))\">\(marker)</g>")
            body.append(text(name, x: legendX + 12, y: area.maxY + 60, size: 11, anchor: "start"))
            legendX += 40 + Double(name.count) * 6.5
        }
        if shown.isEmpty { body.append(text("no points to show", x: area.midX, y: area.midY, size: 13, anchor: "middle")) }
        return document(width: width, height: height, title: title, body: body)
    }

    /// Where a point's label goes: beside the marker, right or left, above or below, then
    /// further up or down, at the first place that overlaps no label or marker placed so far and
    /// stays in the chart (else the first place tried). Text is taken as 5.8 px per character at 10 px.
    static func placeLabel(_ label: String, at point: (x: Double, y: Double), within bounds: Rect,
                           avoiding placed: inout [Rect]) -> (x: Double, y: Double, anchor: String) {
        let width = Double(label.count) * 5.8, height = 11.0
        func box(_ x: Double, _ baseline: Double, _ anchor: String) -> Rect {
            Rect(x: anchor == "start" ? x : x - width, y: baseline - height + 2, width: width, height: height)
        }
        func overlaps(_ a: Rect, _ b: Rect) -> Bool { a.x < b.maxX && b.x < a.maxX && a.y < b.maxY && b.y < a.maxY }
        var candidates: [(Double, Double, String)] = []
        for step in 0..<8 {
            let dy = Double(step) * height
            for (dx, anchor) in [(8.0, "start"), (-8.0, "end")] {
                candidates.append((point.x + dx, point.y - 6 - dy, anchor))
                candidates.append((point.x + dx, point.y + 14 + dy, anchor))
            }
        }
        let fits = candidates.first { x, y, anchor in
            let b = box(x, y, anchor)
            return b.x >= bounds.x && b.maxX <= bounds.maxX && b.y >= bounds.y && b.maxY <= bounds.maxY && !placed.contains { overlaps($0, b) }
        }
        let (x, y, anchor) = fits ?? candidates.first { x, y, anchor in
            let b = box(x, y, anchor)
            return b.x >= bounds.x && b.maxX <= bounds.maxX
        } ?? candidates[0]
        placed.append(box(x, y, anchor))
        return (x, y, anchor)
    }

    /// The points no other beats (another with x at most and y at least, one of them strictly),
    /// by increasing x.
    public static func paretoFront(_ points: [Point]) -> [Point] {
        let sorted = points.sorted { $0.x != $1.x ? $0.x < $1.x : $0.y > $1.y }
        var front: [Point] = [], best = -Double.infinity
        for p in sorted where p.y > best {
            front.append(p)
            best = p.y
        }
        return front
    }

    /// A linear axis (`Axis`) or a logarithmic one with ticks at 1, 2 and 5 × 10ᵏ (only the
    /// powers of ten when the range spans more than two decades).
    struct ScaledAxis {
        let log: Bool
        let linear: Axis
        var lo = 0.0, hi = 1.0, ticks: [Double] = []

        init(_ values: [Double], log: Bool) {
            self.log = log
            linear = Axis(values)
            guard log else { (lo, hi, ticks) = (linear.lo, linear.hi, linear.ticks); return }
            let logs = values.map { Foundation.log10($0) }
            var first = (logs.min() ?? 0).rounded(.down), last = (logs.max() ?? 1).rounded(.up)
            if last <= first { last = first + 1 }
            if last - first > 12 { first = last - 12 }
            (lo, hi) = (pow(10, first), pow(10, last))
            let decades = Int(last - first)
            for d in 0...decades {
                let base = pow(10, first + Double(d))
                ticks.append(base)
                if decades <= 2 && d < decades { ticks += [2 * base, 5 * base] }
            }
        }

        func unit(_ v: Double) -> Double {
            log ? (Foundation.log10(v) - Foundation.log10(lo)) / (Foundation.log10(hi) - Foundation.log10(lo)) : linear.unit(v)
        }

        /// A tick label, or with `precise` a point's value (three significant digits).
        func label(_ v: Double, precise: Bool = false) -> String {
            if precise { return v.magnitude >= 1000 ? String(format: "%.0f", v) : String(format: "%.3g", v) }
            guard log else { return linear.label(v) }
            return v >= 1 ? String(format: "%.0f", v) : String(format: "%g", Double(String(format: "%.1g", v)) ?? v)
        }
    }

    // MARK: - Parts

    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]

    struct Rect {
        var x, y, width, height: Double
        var maxX: Double { x + width }
        var maxY: Double { y + height }
        var midX: Double { x + width / 2 }
        var midY: Double { y + height / 2 }
    }

    /// An axis range widened to whole ticks. Ticks are k × step with step ∈ {1, 2, 5} × 10ⁿ chosen
    /// to give about five of them.
    struct Axis {
        var lo: Double, hi: Double, ticks: [Double]
        let decimals: Int

        init(_ values: [Double]) {
            var lo = values.min() ?? 0, hi = values.max() ?? 1
            if lo == hi { (lo, hi) = lo == 0 ? (-1, 1) : (lo - abs(lo) / 10, hi + abs(hi) / 10) }
            let raw = (hi - lo) / 4, magnitude = pow(10, (log10(raw)).rounded(.down)), r = raw / magnitude
            let step = magnitude * (r < 1.5 ? 1 : r < 3 ? 2 : r < 7 ? 5 : 10)
            let first = (lo / step).rounded(.down), last = (hi / step).rounded(.up)
            guard step.isFinite, step > 0, last - first <= 20 else {  // ranges near the limits of Double
                (self.lo, self.hi, ticks, decimals) = (lo, hi, [lo, hi], 3)
                return
            }
            self.lo = first * step
            self.hi = last * step
            ticks = (0...Int(last - first)).map { (first + Double($0)) * step }
            decimals = max(0, min(6, -Int(log10(step).rounded(.down))))
        }

        /// Where `v` falls between `lo` (0) and `hi` (1).
        func unit(_ v: Double) -> Double { (v - lo) / (hi - lo) }

        func label(_ v: Double) -> String {
            let s = max(abs(lo), abs(hi)) >= 1e6 ? String(format: "%.3g", v) : String(format: "%.\(decimals)f", v)
            return s.hasPrefix("-") && s.dropFirst().allSatisfy({ "0.".contains($0) }) ? String(s.dropFirst()) : s
        }
    }

    static func lineChart(_ title: String, _ series: [PlotSeries], xLabel: String, in area: Rect,
                          colour: (String) -> String) -> [String] {
        let finite = series.map { $0.points.filter { $0.x.isFinite && $0.y.isFinite } }
        let xAxis = Axis(finite.flatMap { $0.map(\.x) }), yAxis = Axis(finite.flatMap { $0.map(\.y) })
        func px(_ x: Double) -> Double { area.x + xAxis.unit(x) * area.width }
        func py(_ y: Double) -> Double { area.maxY - yAxis.unit(y) * area.height }

        var out = [text(title, x: area.midX, y: area.y - 12, size: 13, anchor: "middle")]
        out += frame(area, xTicks: xAxis.ticks.map { (px($0), xAxis.label($0)) }, yTicks: yAxis.ticks.map { (py($0), yAxis.label($0)) })
        out.append(text(xLabel, x: area.midX, y: area.maxY + 34, size: 11, anchor: "middle"))

        var legendX = area.x
        for (s, points) in zip(series, finite) {
            let c = colour(s.name)
            if points.count > 1 {
                let coords = points.map { "\(num(px($0.x))),\(num(py($0.y)))" }.joined(separator: " ")
                out.append("<polyline points=\"\(coords)\" fill=\"none\" stroke=\"\(c)\" stroke-width=\"2\"/>")
            }
            for p in points {
                out.append("<circle cx=\"\(num(px(p.x)))\" cy=\"\(num(py(p.y)))\" r=\"2.5\" fill=\"\(c)\"/>")
            }
            let legendY = area.maxY + 54
            out.append(line(legendX, legendY - 4, legendX + 18, legendY - 4, style: " stroke=\"\(c)\" stroke-width=\"2\""))
            out.append(text(s.name, x: legendX + 22, y: legendY, size: 11, anchor: "start"))
            legendX += 34 + Double(s.name.count) * 6.5
        }
        return out
    }

    /// A chart's grid lines and tick labels (at pixel positions) and its border.
    static func frame(_ area: Rect, xTicks: [(at: Double, label: String)], yTicks: [(at: Double, label: String)]) -> [String] {
        let grid = " stroke=\"#e6e6e6\" stroke-width=\"1\""
        var out: [String] = []
        for (y, label) in yTicks {
            out.append(line(area.x, y, area.maxX, y, style: grid))
            out.append(text(label, x: area.x - 6, y: y + 4, size: 10, anchor: "end"))
        }
        for (x, label) in xTicks {
            out.append(line(x, area.y, x, area.maxY, style: grid))
            out.append(text(label, x: x, y: area.maxY + 16, size: 10, anchor: "middle"))
        }
        out.append("<rect x=\"\(num(area.x))\" y=\"\(num(area.y))\" width=\"\(num(area.width))\" height=\"\(num(area.height))\" fill=\"none\" stroke=\"#333333\" stroke-width=\"1\"/>")
        return out
    }

    /// White (share 0) to dark blue (share 1).
    static func heat(_ share: Double) -> String {
        let f = min(1, max(0, share))
        let channels = zip([247.0, 251, 255], [8.0, 48, 107]).map { a, b in Int((a + (b - a) * f).rounded()) }
        return "#" + channels.map { String(format: "%02x", $0) }.joined()
    }

    static func document(width: Int, height: Int, title: String, body: [String]) -> String {
        let head = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) \(height)\" font-family=\"sans-serif\">"
        let background = "<rect width=\"\(width)\" height=\"\(height)\" fill=\"#ffffff\"/>"
        return ([head, "<title>\(escape(title))</title>", background] + body + ["</svg>"]).joined(separator: "\n") + "\n"
    }

    static func text(_ s: String, x: Double, y: Double, size: Int, anchor: String, style: String = "") -> String {
        "<text x=\"\(num(x))\" y=\"\(num(y))\" font-size=\"\(size)\" text-anchor=\"\(anchor)\"\(style)>\(escape(s))</text>"
    }

    static func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, style: String) -> String {
        "<line x1=\"\(num(x1))\" y1=\"\(num(y1))\" x2=\"\(num(x2))\" y2=\"\(num(y2))\"\(style)/>"
    }

    /// A coordinate with one decimal; never "-0.0".
    static func num(_ v: Double) -> String {
        let s = String(format: "%.1f", v)
        return s == "-0.0" ? "0.0" : s
    }

    /// Escapes the five XML specials and drops control characters XML 1.0 cannot hold at all.
    static func escape(_ s: String) -> String {
        var out = ""
        for u in s.unicodeScalars {
            switch u {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\t", "\n", "\r": out.unicodeScalars.append(u)
            default: if u.value >= 0x20 && u.value != 0xFFFE && u.value != 0xFFFF { out.unicodeScalars.append(u) }
            }
        }
        return out
    }
}
