// A video in memory, as the daemon receives it: FFmpeg's probe through Motive's memory I/O, the
// packet index, then decoding and scaling the first, middle and last frames.
import FuzzDriver
import Video

let options = ReaderOptions(maxPixels: 1 << 22, threads: 1, timeout: 5)

runFuzzer { input in
    guard let reader = try? VideoReader(bytes: [UInt8](input), options: options) else { return }
    let count = reader.frameCount
    guard count > 0 else { return }
    _ = try? reader.frames(at: [0, count / 2, count - 1], size: .square(16))
}
