import Hummingbird

extension Request {
    /// Whether a body follows the head (a length above zero, or chunks).
    var hasBody: Bool {
        headers[.transferEncoding] != nil || (headers[.contentLength].flatMap { Int($0) } ?? 0) > 0
    }
}
