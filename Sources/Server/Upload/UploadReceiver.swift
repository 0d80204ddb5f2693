import Hummingbird
import NIOCore
import NIOFileSystem

/// Streams a request body to a file, never holding it whole in memory: the raw body, or the
/// `video` field of a multipart body. Refuses a body over `limit` bytes as soon as the
/// `Content-Length` or the bytes received so far say so (413), and a body that takes longer
/// than `timeout` seconds to arrive (408).
struct UploadReceiver: Sendable {
    let limit: Int
    let timeout: Double

    /// Writes the video to `path`; returns its size in bytes.
    func receive(_ request: Request, format: UploadFormat, to path: String) async throws -> Int {
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > limit {
            throw APIError.payloadTooLarge(limit: limit)
        }
        let body = request.body
        return try await withDeadline(seconds: timeout) { [limit] in
            try await FileSystem.shared.withFileHandle(forWritingAt: FilePath(path), options: .newFile(replaceExisting: false)) { file in
                let extractor = if case .multipart(let boundary) = format { MultipartVideoExtractor(boundary: boundary) } else { nil as MultipartVideoExtractor? }
                var received = 0, written: Int64 = 0
                for try await chunk in body {
                    received += chunk.readableBytes
                    guard received <= limit else { throw APIError.payloadTooLarge(limit: limit) }
                    let video = try extractor?.consume(chunk) ?? chunk
                    if video.readableBytes > 0 {
                        try await file.write(contentsOf: video, toAbsoluteOffset: written)
                        written += Int64(video.readableBytes)
                    }
                }
                if let extractor, !extractor.foundVideo {
                    throw APIError.badRequest("the multipart/form-data body has no field named `video`", code: "missing_video_field")
                }
                return Int(written)
            }
        }
    }

    /// Runs `operation`, or throws 408 when it has not finished after `seconds`.
    func withDeadline<T: Sendable>(seconds: Double, _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await operation() }
            group.addTask {
                try await Task.sleep(for: .milliseconds(Int64(seconds * 1000)))
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let value = first else { throw APIError.requestTimeout(seconds: seconds) }
            return value
        }
    }
}
