import MultipartKit
import NIOCore

/// Pulls the `video` field out of a `multipart/form-data` body as it streams past: each chunk in
/// gives the bytes of that field it held, and every other part is skipped.
package final class MultipartVideoExtractor {
    private let parser: MultipartParser
    private var headerNames: MultipartHeaderNameCheck
    private var headers: [(name: String, value: String)] = []
    private var inVideo: Bool?
    private var pending = ByteBuffer()
    private(set) var foundVideo = false
    private(set) var videoComplete = false

    init(boundary: String) {
        parser = MultipartParser(boundary: boundary)
        headerNames = MultipartHeaderNameCheck(boundary: boundary)
        parser.onHeader = { [unowned self] name, value in headers.append((name, value)) }
        parser.onBody = { [unowned self] chunk in
            if inVideo == nil { inVideo = Self.isVideoField(headers) }
            guard inVideo == true, !videoComplete else { return }
            foundVideo = true
            pending.writeBuffer(&chunk)
        }
        parser.onPartComplete = { [unowned self] in
            if inVideo ?? Self.isVideoField(headers) {
                foundVideo = true
                videoComplete = true
            }
            headers = []
            inVideo = nil
        }
    }

    /// Feeds one chunk of the body; returns the video bytes it contained (possibly none).
    func consume(_ chunk: ByteBuffer) throws(APIError) -> ByteBuffer {
        let malformed = APIError.badRequest("the multipart/form-data body is malformed", code: "bad_multipart")
        guard headerNames.accepts(chunk) else { throw malformed }
        do { try parser.execute(chunk) } catch { throw malformed }
        defer { pending.clear() }
        return pending
    }

    /// True for the part `Content-Disposition: form-data; name="video"`.
    static func isVideoField(_ headers: [(name: String, value: String)]) -> Bool {
        guard let disposition = headers.first(where: { $0.name.lowercased() == "content-disposition" })?.value else { return false }
        let (kind, parameters) = UploadFormat.parse(disposition)
        return kind == "form-data" && parameters["name"] == "video"
    }

    /// The `video` field of a whole body fed in `chunks`, and whether that field ended, or nil
    /// when the body is malformed: the extractor on its own, for the fuzz target and tests.
    package static func video(in chunks: [ByteBuffer], boundary: String) -> (bytes: ByteBuffer, complete: Bool)? {
        let extractor = MultipartVideoExtractor(boundary: boundary)
        var video = ByteBuffer()
        for chunk in chunks {
            guard var part = try? extractor.consume(chunk) else { return nil }
            video.writeBuffer(&part)
        }
        return extractor.foundVideo ? (video, extractor.videoComplete) : nil
    }
}
