import Foundation
import Hummingbird
import NIOConcurrencyHelpers
import NIOCore
import NIOFileSystem
import NIOHTTP1

/// Streams a request body to a file, never holding it whole in memory: the raw body, or the
/// `video` field of a multipart body.
/// - Refuses a body over `limit` bytes as soon as the `Content-Length` or the bytes received so
///   far say so (413).
/// - Refuses a body that arrives too slowly (408): it has `timeout` seconds, plus one second for
///   every `minRate` bytes received, so a large upload at a fair rate is never cut off while a
///   trickle is.
/// - A body that ends early or is malformed (a broken chunk, a connection closed mid-body) is 400.
struct UploadReceiver: Sendable {
    let limit: Int
    let timeout: Double
    /// Bytes per second.
    let minRate: Int

    /// Writes the video to `path`; returns its size in bytes.
    func receive(_ request: Request, format: UploadFormat, to path: String, context: ServerContext) async throws -> Int {
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > limit {
            throw APIError.payloadTooLarge(limit: limit)
        }
        context.continueIfExpected(request)
        let body = request.body
        let received = NIOLockedValueBox(0)
        return try await withDeadline(received: received) { [limit] in
            try await FileSystem.shared.withFileHandle(forWritingAt: FilePath(path), options: .newFile(replaceExisting: false)) { file in
                let extractor = if case .multipart(let boundary) = format { MultipartVideoExtractor(boundary: boundary) } else { nil as MultipartVideoExtractor? }
                var total = 0, written: Int64 = 0
                do {
                    for try await chunk in body {
                        total += chunk.readableBytes
                        received.withLockedValue { $0 = total }
                        guard total <= limit else { throw APIError.payloadTooLarge(limit: limit) }
                        let video = try extractor?.consume(chunk) ?? chunk
                        if video.readableBytes > 0 {
                            try await file.write(contentsOf: video, toAbsoluteOffset: written)
                            written += Int64(video.readableBytes)
                        }
                    }
                } catch let error as APIError {
                    throw error
                } catch let error as HTTPParserError {
                    throw APIError.malformedBody("\(error)")
                } catch where !(error is FileSystemError) {
                    throw APIError.malformedBody("\(error)")
                }
                if let extractor, !extractor.foundVideo {
                    throw APIError.badRequest("the multipart/form-data body has no field named `video`", code: "missing_video_field")
                }
                return Int(written)
            }
        }
    }

    /// The moment the body must have arrived by, having received `bytes` of it since `start`.
    func deadline(start: ContinuousClock.Instant, bytes: Int) -> ContinuousClock.Instant {
        start + .milliseconds(Int64((timeout + Double(bytes) / Double(max(1, minRate))) * 1000))
    }

    /// Runs `operation`, or throws 408 once it has not finished by the deadline, which moves on
    /// as `received` grows.
    func withDeadline<T: Sendable>(received: NIOLockedValueBox<Int>,
                                   _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
        let start = ContinuousClock.now
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await operation() }
            group.addTask {
                while true {
                    let due = deadline(start: start, bytes: received.withLockedValue { $0 })
                    if ContinuousClock.now >= due {
                        // Bytes that arrived while the reader waited for a thread (a busy machine)
                        // are not counted yet: give it a moment, then judge by what it has counted.
                        try await Task.sleep(for: .milliseconds(100))
                        if ContinuousClock.now >= deadline(start: start, bytes: received.withLockedValue { $0 }) { return nil }
                        continue
                    }
                    try await Task.sleep(until: min(due, .now + .seconds(1)), clock: .continuous)
                }
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let value = first else {
                throw APIError.requestTimeout(seconds: timeout, minRate: minRate)
            }
            return value
        }
    }
}
