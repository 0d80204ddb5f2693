import Foundation
import Testing
@testable import Video

/// Repeated opening, decoding and failing must not grow the heap: every FFmpeg object is freed,
/// on error paths too. Memory figures are process-wide, so this runs alone: MOTIVE_VIDEO_LEAKS=1.
@Suite struct LeakTests {
    /// Resident memory in bytes, from /proc (Linux only).
    static func residentBytes() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8),
              let pages = Int(text.split(separator: " ")[1]) else { return nil }
        return pages * 4096
    }

    @Test(.enabled(if: ProcessInfo.processInfo.environment["MOTIVE_VIDEO_LEAKS"] == "1"))
    func heapStaysFlat() throws {
        _ = quietFFmpeg
        let folder = TempFolder()
        let good = folder.file("good.mp4"), mjpeg = folder.file("good.avi")
        try writeClip(good, count: 24, width: 64, height: 48, options: EncodeOptions(codec: .h264))
        try writeClip(mjpeg, count: 8, width: 64, height: 48, options: EncodeOptions(codec: .mjpeg))
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: good)))
        let cut = folder.file("cut.avi")
        let avi = try [UInt8](Data(contentsOf: URL(fileURLWithPath: mjpeg)))
        try Data(avi.prefix(avi.count * 6 / 10)).write(to: URL(fileURLWithPath: cut))
        let garbage = (0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 7919) }

        func round() throws {
            _ = try VideoReader(path: good).frames(at: [20, 3, 11])
            _ = try VideoReader(bytes: bytes).frames(at: [5])
            _ = videoError { try VideoReader(path: cut) }
            _ = videoError { try VideoReader(bytes: garbage) }
            _ = videoError { try VideoReader(path: good, options: ReaderOptions(maxPixels: 10)) }
            _ = videoError { try VideoReader(frameFolder: folder.path + "/none") }
            _ = videoError { try VideoReader(path: good).frames(at: [99]) }
            let writer = try VideoWriter(path: folder.file("w.mkv"), width: 64, height: 48, options: EncodeOptions(codec: .mjpeg))
            try writer.append(syntheticFrames(count: 2, width: 64, height: 48))  // finished by deinit
        }
        for _ in 0..<10 { try round() }
        guard let before = Self.residentBytes() else { return }
        for _ in 0..<200 { try round() }
        let grown = Self.residentBytes()! - before
        print("resident memory growth over 200 rounds: \(grown) bytes")
        #expect(grown < 4 << 20, "resident memory grew by \(grown) bytes")
    }
}
