import ArgumentParser
import Foundation
import Video

/// `motive frames VIDEO --indices … --out DIR`: chosen frames as PNG files.
struct Frames: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Write chosen frames of a video as PNG files named by frame index.")

    @Argument(help: "A video file, or a folder of frames.") var video: String
    @Option(help: "Comma-separated 0-based frame indices, e.g. 0,15,31.") var indices: String
    @Option(help: "Output size WxH (default: the video's own).") var size: String?
    @Option(help: "Output folder (created if missing).") var out: String

    func run() throws {
        let wanted = try indices.split(separator: ",").map { part -> Int in
            guard let i = Int(part.trimmingCharacters(in: .whitespaces)), i >= 0 else {
                throw CLIError("--indices must be comma-separated non-negative integers, got \(indices)")
            }
            return i
        }
        guard !wanted.isEmpty else { throw CLIError("--indices is empty") }
        let frameSize = try size.map(parseSize)
        let reader = try openVideo(video)
        let frames = try reader.frames(at: wanted, size: frameSize)
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        for (k, index) in wanted.enumerated() {
            let path = (out as NSString).appendingPathComponent(String(format: "frame_%06d.png", index))
            try ImageFile.writePNG(frames.frame(k), to: path)
            print(path)
        }
    }
}

/// "WxH" → FrameSize.
func parseSize(_ text: String) throws -> FrameSize {
    let parts = text.lowercased().split(separator: "x").compactMap { Int($0) }
    guard parts.count == 2, parts[0] > 0, parts[1] > 0, parts[0] <= 16384, parts[1] <= 16384 else {
        throw CLIError("size must look like 320x240, got \(text)")
    }
    return FrameSize(width: parts[0], height: parts[1])
}
