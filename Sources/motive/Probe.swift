import ArgumentParser
import Foundation
import Video

/// `motive probe VIDEO`: the video's metadata as JSON.
struct Probe: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print a video's metadata as JSON (codec, size, frame rates, duration, rotation, exact frame count).")

    @Argument(help: "A video file, or a folder of frames (img_00001.jpg …).") var video: String

    func run() throws {
        let reader = try openVideo(video)
        print(try jsonString(reader.info))
    }
}

/// Opens a video file, or a frame folder through FFmpeg's image2 demuxer.
func openVideo(_ path: String) throws -> VideoReader {
    isFrameFolder(path) ? try VideoReader(frameFolder: path) : try VideoReader(path: path)
}

/// Whether `path` is a folder of frames (whose frame indices start at 1 in lists and samplers).
func isFrameFolder(_ path: String) -> Bool {
    var isFolder: ObjCBool = false
    return FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) && isFolder.boolValue
}

/// Pretty JSON with snake_case keys, like every other JSON Motive writes.
func jsonString<T: Encodable>(_ value: T) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    encoder.keyEncodingStrategy = .convertToSnakeCase
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}
