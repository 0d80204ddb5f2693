/// Everything that can go wrong reading or writing video. Each case names the file (or `<memory>`),
/// and decode failures name the presentation-order frame index.
public enum VideoError: Error, Equatable, CustomStringConvertible {
    // Opening
    case fileNotFound(path: String)
    case emptyInput(path: String)
    case unrecognizedFormat(path: String, reason: String)
    /// The data ends early: the container's sizes (or its frame count) promise more.
    case truncated(path: String, reason: String)
    /// The data is all there, by the container's own sizes, but does not parse.
    case damaged(path: String, reason: String)
    case noVideoStream(path: String)
    case unsupportedCodec(path: String, codec: String)
    case tooLarge(path: String, width: Int, height: Int, maxPixels: Int)
    case noFrames(path: String)
    case timedOut(path: String, operation: String)
    case readFailed(path: String, reason: String)
    /// A live source names something that cannot be streamed (an unknown scheme, a folder).
    case unsupportedSource(path: String, reason: String)
    /// A live source sent nothing for longer than its stall timeout.
    case stalled(path: String, seconds: Double)
    // Decoding
    case indexOutOfRange(path: String, index: Int, frameCount: Int)
    case seekFailed(path: String, frame: Int, reason: String)
    case decodeFailed(path: String, frame: Int, reason: String)
    // Writing
    case invalidArgument(String)
    case encoderUnavailable(codec: String)
    case unsupportedContainer(path: String, reason: String)
    case encodeFailed(path: String, reason: String)
    case writeFailed(path: String, reason: String)

    public var description: String {
        switch self {
        case .fileNotFound(let path): "\(path): no such file"
        case .emptyInput(let path): "\(path): empty input"
        case .unrecognizedFormat(let path, let reason): "\(path): not a recognised video container (\(reason))"
        case .truncated(let path, let reason): "\(path): file is truncated (\(reason))"
        case .damaged(let path, let reason): "\(path): file is damaged (\(reason))"
        case .noVideoStream(let path): "\(path): no video stream"
        case .unsupportedCodec(let path, let codec): "\(path): no decoder for video codec \(codec)"
        case .tooLarge(let path, let width, let height, let maxPixels):
            "\(path): \(width)×\(height) exceeds the limit of \(maxPixels) pixels"
        case .noFrames(let path): "\(path): no frames"
        case .timedOut(let path, let operation): "\(path): \(operation) did not finish before the deadline"
        case .readFailed(let path, let reason): "\(path): read failed (\(reason))"
        case .unsupportedSource(let path, let reason): "\(path): cannot be streamed (\(reason))"
        case .stalled(let path, let seconds): "\(path): no data for \(seconds) s (stall timeout)"
        case .indexOutOfRange(let path, let index, let frameCount):
            "\(path): frame \(index) outside 0..<\(frameCount)"
        case .seekFailed(let path, let frame, let reason): "\(path): cannot seek to frame \(frame) (\(reason))"
        case .decodeFailed(let path, let frame, let reason): "\(path): cannot decode frame \(frame) (\(reason))"
        case .invalidArgument(let message): "invalid argument: \(message)"
        case .encoderUnavailable(let codec): "no encoder for \(codec)"
        case .unsupportedContainer(let path, let reason): "\(path): cannot write this container (\(reason))"
        case .encodeFailed(let path, let reason): "\(path): encoding failed (\(reason))"
        case .writeFailed(let path, let reason): "\(path): write failed (\(reason))"
        }
    }
}
