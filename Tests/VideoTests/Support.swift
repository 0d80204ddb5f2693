// Shared by the Video tests: a self-deleting temp folder, synthetic frames whose content encodes
// the frame number, and loose comparisons for lossy codecs.
import Foundation
import Testing
@testable import Video

/// A fresh folder under the system temp dir, removed when the value is released.
final class TempFolder {
    let path: String
    init() {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("motive-video-\(UUID().uuidString)").path
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    func file(_ name: String) -> String { path + "/" + name }
}

/// Synthetic clip: the top quarter shows frame number t as 8 black/white bars (bit c of t in bar c);
/// below, gradients that move with t, so neighbouring frames differ everywhere.
func syntheticFrames(count: Int, width: Int, height: Int, first: Int = 0) -> FrameStack {
    var pixels = [UInt8](repeating: 0, count: count * width * height * 3)
    pixels.withUnsafeMutableBufferPointer { out in
        var o = 0
        for t in first..<(first + count) {
            for y in 0..<height {
                for x in 0..<width {
                    if y < height / 4 {
                        let bit = UInt8(((t >> (x * 8 / width)) & 1) * 255)
                        out[o] = bit; out[o + 1] = bit; out[o + 2] = bit
                    } else {
                        out[o] = UInt8((x * 3 + t * 7) % 256)
                        out[o + 1] = UInt8((y * 3 + t * 5) % 256)
                        out[o + 2] = UInt8(((x + y) * 2 + t * 3) % 256)
                    }
                    o += 3
                }
            }
        }
    }
    return FrameStack(count: count, height: height, width: width, pixels: pixels)
}

/// The frame number shown by the bars of a synthetic frame (read at each bar's centre, upright).
func frameNumber(in stack: FrameStack, frame i: Int) -> Int {
    let (w, h) = (stack.width, stack.height)
    var n = 0
    for c in 0..<8 {
        let x = (2 * c + 1) * w / 16, y = h / 8
        let p = i * stack.frameBytes + (y * w + x) * 3
        if Int(stack.pixels[p]) + Int(stack.pixels[p + 1]) + Int(stack.pixels[p + 2]) > 3 * 128 { n |= 1 << c }
    }
    return n
}

/// Mean absolute difference per byte between frame i of a and frame j of b.
func meanDifference(_ a: FrameStack, _ i: Int, _ b: FrameStack, _ j: Int) -> Double {
    precondition(a.frameBytes == b.frameBytes)
    var total = 0
    for p in 0..<a.frameBytes {
        total += abs(Int(a.pixels[i * a.frameBytes + p]) - Int(b.pixels[j * b.frameBytes + p]))
    }
    return Double(total) / Double(a.frameBytes)
}

/// A stack turned clockwise by 90, 180 or 270 degrees (reference for rotated decoding).
func rotated(_ stack: FrameStack, by degrees: Int) -> FrameStack {
    let (w, h) = (stack.width, stack.height)
    let (ow, oh) = degrees % 180 == 0 ? (w, h) : (h, w)
    var out = [UInt8](repeating: 0, count: stack.pixels.count)
    for t in 0..<stack.count {
        for y in 0..<h {
            for x in 0..<w {
                let (ox, oy) = degrees == 90 ? (h - 1 - y, x) : degrees == 180 ? (w - 1 - x, h - 1 - y) : (y, w - 1 - x)
                for c in 0..<3 {
                    out[t * stack.frameBytes + (oy * ow + ox) * 3 + c] = stack.pixels[t * stack.frameBytes + (y * w + x) * 3 + c]
                }
            }
        }
    }
    return FrameStack(count: stack.count, height: oh, width: ow, pixels: out)
}

/// Writes a synthetic clip and returns its path.
@discardableResult
func writeClip(_ path: String, count: Int, width: Int, height: Int, options: EncodeOptions) throws -> VideoWriter {
    let writer = try VideoWriter(path: path, width: width, height: height, options: options)
    try writer.append(syntheticFrames(count: count, width: width, height: height))
    try writer.finish()
    return writer
}

/// The error a throwing call produced, or nil. (Closures infer untyped `throws`, hence the cast.)
func videoError<T>(_ body: () throws -> T) -> VideoError? {
    do { _ = try body(); return nil } catch { return error as? VideoError }
}

/// Quiet FFmpeg's logs once for the whole test run (the bad-input tests provoke many).
let quietFFmpeg: Void = FFmpegLogLevel.error.apply()

/// Equality without Swift Testing printing megabytes of pixels when it fails.
func expectSame(_ a: FrameStack, _ b: FrameStack, _ what: String = "frames differ",
                sourceLocation: SourceLocation = #_sourceLocation) {
    let equal = a == b
    #expect(equal, "\(what)", sourceLocation: sourceLocation)
}
