import Foundation
import Inference

/// A published Kinetics-400 result of a zoo architecture, as `Models/published_k400.csv` lists
/// them: what the paper or model-zoo page reports, with its source.
public struct PublishedResult: Sendable, Equatable {
    public var name: String
    /// The zoo preset of the same architecture.
    public var preset: String
    /// Top-1 in percent, as published.
    public var top1: Double
    public var gflopsPerView: Double
    /// "CLIPSxCROPS".
    public var views: String
    public var source: String
    public var config: String

    public var gflopsPerVideo: Double {
        guard let v = ViewPlan.parseViews(views) else { return gflopsPerView }
        return gflopsPerView * Double(v.clips * v.crops)
    }

    /// The file's name in the models folder.
    public static let fileName = "published_k400.csv"
    static let header = ["name", "preset", "top1", "gflops_per_view", "views", "source", "config"]

    /// Reads the CSV (header `name,preset,top1,gflops_per_view,views,source,config`; fields
    /// with commas are quoted).
    public static func read(_ url: URL) throws(BenchError) -> [PublishedResult] {
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { throw .badPublished(url.path, "cannot be read") }
        let rows = CSV.parse(text)
        guard let head = rows.first, head == header else {
            throw .badPublished(url.path, "the header must be " + header.joined(separator: ","))
        }
        return try rows.dropFirst().enumerated().map { (i, row) throws(BenchError) in
            guard row.count == header.count, let top1 = Double(row[2]), let gflops = Double(row[3]), ViewPlan.parseViews(row[4]) != nil,
                  top1.isFinite, gflops.isFinite, gflops > 0 else {
                throw .badPublished(url.path, "line \(i + 2) needs \(header.count) fields with numbers for top1 and gflops_per_view and views like 10x3")
            }
            return PublishedResult(name: row[0], preset: row[1], top1: top1, gflopsPerView: gflops, views: row[4], source: row[5], config: row[6])
        }
    }

    /// The shipped file: `Models/` under the working folder, else next to the executable or up
    /// to four folders above it (`.build/<triple>/release/motive` in a checkout).
    public static func locate(executable: URL? = Bundle.main.executableURL) -> URL? {
        var candidates = [URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("Models")]
        if var folder = executable?.resolvingSymlinksInPath().deletingLastPathComponent() {
            for _ in 0..<5 {
                candidates.append(folder.appendingPathComponent("Models"))
                folder = folder.deletingLastPathComponent()
            }
        }
        return candidates.map { $0.appendingPathComponent(fileName) }.first { FileManager.default.fileExists(atPath: $0.path) }
    }
}

/// Comma-separated values with RFC 4180 quoting ("a, b" and "say ""hi""").
enum CSV {
    static func parse(_ text: String) -> [[String]] {
        var rows: [[String]] = [], row: [String] = [], field = "", quoted = false, fieldStarted = false
        var chars = text.makeIterator(), pending: Character?
        func next() -> Character? { if let p = pending { pending = nil; return p }; return chars.next() }
        while let c = next() {
            if quoted {
                if c == "\"" {
                    if let n = next() { if n == "\"" { field.append("\"") } else { quoted = false; pending = n } } else { quoted = false }
                } else { field.append(c) }
                continue
            }
            switch c {
            case "\"" where !fieldStarted: quoted = true; fieldStarted = true
            case ",": row.append(field); field = ""; fieldStarted = false
            case "\n", "\r\n":
                row.append(field); field = ""; fieldStarted = false
                if !(row.count == 1 && row[0].isEmpty) { rows.append(row) }
                row = []
            case "\r": break
            default: field.append(c); fieldStarted = true
            }
        }
        if fieldStarted || !row.isEmpty { row.append(field); rows.append(row) }
        return rows
    }

    /// One field, quoted when it holds a comma, a quote or a line break.
    static func field(_ s: String) -> String {
        s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }
}
