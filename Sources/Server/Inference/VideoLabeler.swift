import Clips
import Engine
import Foundation
import Inference
import Video

/// The daemon's adapter over `Predictor.predict`: upload limits on the reader, and the library's
/// errors as API errors. Synchronous (call it on an inference thread).
enum VideoLabeler {
    /// Decoding limits for uploads: frames up to 4K UHD (the decode-bomb guard), and a watchdog
    /// on stalled demuxing.
    static let readerOptions = ReaderOptions(maxPixels: 3840 * 2160, timeout: 30)
    /// Frames far wider than tall (or the reverse) would be scaled up to huge sizes by the
    /// resize to the model's short side.
    static let maxAspectRatio = 16

    static func label(file path: String, with predictor: Predictor, _ request: PredictionRequest) throws(APIError) -> Prediction {
        let reader: VideoReader
        do {
            reader = try VideoReader(path: path, options: readerOptions)
        } catch {
            throw .undecodableVideo(describe(error, path: path))
        }
        let size = reader.info.displaySize
        guard max(size.width, size.height) <= maxAspectRatio * max(1, min(size.width, size.height)) else {
            throw .undecodableVideo("the video is \(size.width)×\(size.height); frames more than \(maxAspectRatio) times wider than tall (or the reverse) are refused")
        }
        do {
            return try predictor.predict(reader, request)
        } catch let error as PredictionError {
            switch error {
            case .badWindow, .tooManyWindows: throw .badRequest("\(error)", code: "bad_parameter")
            case .badInput: throw .badRequest("\(error)", code: "bad_input")
            }
        } catch {
            throw .undecodableVideo(describe(error, path: path))
        }
    }

    /// The decoder's message, with the spool path replaced by "upload".
    static func describe(_ error: any Error, path: String) -> String {
        "\(error)".replacingOccurrences(of: path, with: "upload")
    }
}
