// Small bridges over the parts of the FFmpeg C API that Swift cannot import directly:
// function-like error macros, fixed-size C arrays (imported as tuples) and the log level.
import CFFmpeg
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `AVERROR_EOF` is built by a macro (`FFERRTAG('E','O','F',' ')`), so Swift does not see it.
let averrorEOF: Int32 = -Int32(bitPattern: UInt32(0x45) | UInt32(0x4F) << 8 | UInt32(0x46) << 16 | UInt32(0x20) << 24)
/// `AVERROR(EAGAIN)`: the codec wants more input (or output to be drained) before it can go on.
let averrorEAGAIN: Int32 = -EAGAIN
/// `AVERROR(ENOENT)`.
let averrorENOENT: Int32 = -ENOENT
/// `AVERROR_EXIT`: the interrupt callback asked FFmpeg to stop.
let averrorEXIT: Int32 = -Int32(bitPattern: UInt32(0x45) | UInt32(0x58) << 8 | UInt32(0x49) << 16 | UInt32(0x54) << 24)
/// `AV_NOPTS_VALUE` is a cast macro; it is the most negative 64-bit integer.
let noPTS: Int64 = .min

/// FFmpeg's text for an error code (the `av_err2str` macro is not importable).
func ffmpegErrorString(_ code: Int32) -> String {
    var buffer = [CChar](repeating: 0, count: 128)
    if av_strerror(code, &buffer, buffer.count) < 0 { return "error \(code)" }
    return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// The name FFmpeg gives a codec id, e.g. "h264".
func codecName(_ id: AVCodecID) -> String {
    guard let name = avcodec_get_name(id) else { return "unknown" }
    return String(cString: name)
}

/// The name of a pixel format, e.g. "yuv420p".
func pixelFormatName(_ raw: Int32) -> String {
    guard let name = av_get_pix_fmt_name(AVPixelFormat(rawValue: raw)) else { return "none" }
    return String(cString: name)
}

/// `AVFrame.data` and `.linesize` are C arrays of 8, imported as tuples; sws_scale wants pointers.
func withPlanes<R>(of frame: UnsafeMutablePointer<AVFrame>,
                   _ body: (UnsafePointer<UnsafePointer<UInt8>?>, UnsafePointer<Int32>) -> R) -> R {
    withUnsafePointer(to: &frame.pointee.data) { data in
        withUnsafePointer(to: &frame.pointee.linesize) { linesize in
            data.withMemoryRebound(to: UnsafePointer<UInt8>?.self, capacity: Int(AV_NUM_DATA_POINTERS)) { planes in
                linesize.withMemoryRebound(to: Int32.self, capacity: Int(AV_NUM_DATA_POINTERS)) { strides in
                    body(planes, strides)
                }
            }
        }
    }
}

/// Monotonic seconds, for deadlines.
func monotonicSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) * 1e-9
}

/// How much FFmpeg prints to standard error. FFmpeg's level is process-wide.
public enum FFmpegLogLevel: Sendable {
    case quiet, error, warning, info

    /// Sets FFmpeg's process-wide log level (FFmpeg's own default is `.info`).
    public func apply() {
        switch self {
        case .quiet: av_log_set_level(AV_LOG_QUIET)
        case .error: av_log_set_level(AV_LOG_ERROR)
        case .warning: av_log_set_level(AV_LOG_WARNING)
        case .info: av_log_set_level(AV_LOG_INFO)
        }
    }
}
