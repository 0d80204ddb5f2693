import ArgumentParser
import Clips
import Flow
import Foundation
import Video

/// `motive flow`: TV-L1 optical flow of an image pair, a video, or a whole dataset list.
struct FlowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flow",
        abstract: "TV-L1 optical flow: of two images (.flo), of a video, or of every video in a list (flow_x/flow_y JPEGs).",
        discussion: """
        motive flow --pair A.png B.png --out F.flo
        motive flow VIDEO --out DIR [--bound 20] [--size 340x256] [--step 1]
        motive flow --list LIST --root ROOT --out DIR [--jobs N]
        Flow images follow denseflow/MMAction2: each component clipped to ±bound and mapped to 0–255.
        """)

    @Argument(help: "A video (omit with --pair or --list).") var video: String?
    @Option(name: .customLong("pair"), parsing: .upToNextOption, help: "Two images: the flow from the first to the second.")
    var pair: [String] = []
    @Option(help: "A video list (`path label` lines) to extract in full.") var list: String?
    @Option(help: "The folder the list's paths are relative to (default: the list's folder).") var root: String?
    @Option(help: "Output: a .flo file (--pair) or a folder.") var out: String
    @Option(help: "Flow is clipped to ±bound pixels before it becomes bytes.") var bound: Float = 20
    @Option(help: "Resize frames to WxH before the flow (default: the video's own size).") var size: String?
    @Option(name: .customLong("short-side"), help: "Or: scale frames down so their short side is at most this.") var shortSide: Int?
    @Option(help: "Flow from frame k to frame k + step.") var step = 1
    @Option(help: "Videos processed at once with --list (each then gets cores / jobs threads).") var jobs = 1
    @Option(name: .customLong("scale-step"), help: "TV-L1 pyramid ratio (0.8, as OpenCV and denseflow; 0.5 halves each level).") var scaleStep = 0.8

    func options() throws -> FlowExtractionOptions {
        guard size == nil || shortSide == nil else { throw CLIError("give --size or --short-side, not both") }
        var parameters = TVL1Parameters()
        parameters.scaleStep = scaleStep
        let options = FlowExtractionOptions(bound: bound, size: try size.map(parseSize), maxShortSide: shortSide, step: step,
                                            parameters: parameters)
        try options.validate()
        return options
    }

    func run() throws {
        let modes = [!pair.isEmpty, list != nil, video != nil].filter { $0 }.count
        guard modes == 1 else { throw CLIError("give exactly one of: VIDEO, --pair A B, --list LIST") }
        let options = try options()
        if !pair.isEmpty {
            guard pair.count == 2 else { throw CLIError("--pair takes two images, got \(pair.count)") }
            guard out.lowercased().hasSuffix(".flo") else { throw CLIError("--out for --pair is a .flo file, got \(out)") }
            let flow = try FlowExtraction.pair(pair[0], pair[1], parameters: options.parameters)
            try FloFile.write(flow, to: URL(fileURLWithPath: out))
            print("wrote \(flow.width)×\(flow.height) flow to \(out)")
        } else if let list {
            try runList(list, options: options)
        } else if let video {
            let progress = Progress(label: "flow")
            let start = Date()
            let n = try FlowExtraction.extract(video: video, into: out, options: options) { progress.update($0, $1) }
            progress.finish()
            print("wrote \(n) flow frames (flow_x_*.jpg, flow_y_*.jpg) to \(out) in \(String(format: "%.1f", Date().timeIntervalSince(start))) s")
        }
    }

    func runList(_ list: String, options: FlowExtractionOptions) throws {
        guard jobs >= 1 else { throw CLIError("--jobs must be at least 1, got \(jobs)") }
        let listURL = URL(fileURLWithPath: list)
        let items = try AnnotationList.readVideoList(listURL)
        let rootURL = root.map { URL(fileURLWithPath: $0, isDirectory: true) } ?? listURL.deletingLastPathComponent()
        let progress = Progress(label: "flow")
        let start = Date()
        let summary = try FlowDataset.extract(list: items, listName: listURL.lastPathComponent, root: DataRoot(rootURL),
                                              out: URL(fileURLWithPath: out, isDirectory: true), options: options,
                                              jobs: jobs) { done, total, _ in progress.update(done, total) }
        progress.finish()
        // classes.txt travels with the list, so a flow job finds the class names beside it.
        let classes = listURL.deletingLastPathComponent().appendingPathComponent("classes.txt")
        let copy = URL(fileURLWithPath: out).appendingPathComponent("classes.txt")
        if FileManager.default.fileExists(atPath: classes.path), !FileManager.default.fileExists(atPath: copy.path) {
            try FileManager.default.copyItem(at: classes, to: copy)
        }
        print("flow of \(summary.extracted) videos written, \(summary.skipped) already done, \(summary.failures.count) failed, "
              + "in \(String(format: "%.0f", Date().timeIntervalSince(start))) s; list: \(summary.list.path)")
        guard summary.failures.isEmpty else {
            for f in summary.failures { FileHandle.standardError.write(Data("failed: \(f.path): \(f.reason)\n".utf8)) }
            throw ExitCode(1)
        }
    }
}
