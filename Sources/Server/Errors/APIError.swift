import HTTPTypes

/// Every way a request can fail, with its HTTP status and a stable machine-readable code. The
/// error middleware turns one into `{"error": {"code", "message", "request_id"}}`.
public struct APIError: Error, Sendable, Equatable, CustomStringConvertible {
    public var status: HTTPResponse.Status
    /// Stable snake_case code, e.g. `model_not_found`.
    public var code: String
    public var message: String
    /// Seconds a client should wait before retrying (sent as `Retry-After`).
    public var retryAfter: Int?
    /// Close the connection after answering, so the rest of an unwanted body is not read.
    public var closesConnection = false

    public init(_ status: HTTPResponse.Status, code: String, _ message: String, retryAfter: Int? = nil, closesConnection: Bool = false) {
        self.status = status
        self.code = code
        self.message = message
        self.retryAfter = retryAfter
        self.closesConnection = closesConnection
    }

    public var description: String { "\(status.code) \(code): \(message)" }
}

extension APIError {
    static func badRequest(_ message: String, code: String = "bad_request") -> APIError {
        APIError(.badRequest, code: code, message)
    }

    static func unauthorized() -> APIError {
        APIError(.unauthorized, code: "unauthorized", "this endpoint needs the header Authorization: Bearer <token>")
    }

    static func notFound(_ what: String, code: String) -> APIError {
        APIError(.notFound, code: code, what)
    }

    static func conflict(_ message: String) -> APIError {
        APIError(.conflict, code: "conflict", message)
    }

    static func payloadTooLarge(limit: Int) -> APIError {
        APIError(.contentTooLarge, code: "payload_too_large",
                 "the upload exceeds the limit of \(formatBytes(limit)) (--max-upload-mb)", closesConnection: true)
    }

    static func unsupportedMediaType(_ got: String?) -> APIError {
        APIError(.unsupportedMediaType, code: "unsupported_media_type",
                 "send the video as the raw body (Content-Type video/* or application/octet-stream) or as the field `video` "
                 + "of a multipart/form-data body; got \(got.map { "Content-Type \($0)" } ?? "no Content-Type")")
    }

    static func undecodableVideo(_ reason: String) -> APIError {
        APIError(.unprocessableContent, code: "undecodable_video", reason)
    }

    static func requestTimeout(seconds: Double, minRate: Int) -> APIError {
        APIError(.requestTimeout, code: "request_timeout",
                 "the request body arrived too slowly: it may take \(formatSeconds(seconds)) (--request-timeout) plus one second "
                 + "per \(minRate >> 10) KB received (--min-upload-rate)", closesConnection: true)
    }

    static func malformedBody(_ reason: String) -> APIError {
        APIError(.badRequest, code: "malformed_body", "the request body ended early or is malformed (\(reason))", closesConnection: true)
    }

    static func overloaded(limit: Int, retryAfter: Int) -> APIError {
        APIError(.serviceUnavailable, code: "overloaded",
                 "\(limit) predictions are already waiting or running (--max-concurrent); retry after \(retryAfter) s", retryAfter: retryAfter)
    }

    static func tooManyUploads(limit: Int, retryAfter: Int) -> APIError {
        APIError(.serviceUnavailable, code: "too_many_uploads",
                 "\(limit) uploads are already being received (--max-uploads); retry after \(retryAfter) s", retryAfter: retryAfter,
                 closesConnection: true)
    }

    static func routeNotFound(_ method: HTTPRequest.Method, _ path: String) -> APIError {
        APIError(.notFound, code: "route_not_found", "no route \(method.rawValue) \(path); GET /openapi.yaml lists them")
    }

    static func internalError(_ message: String) -> APIError {
        APIError(.internalServerError, code: "internal", message)
    }
}

/// "200 MB" or "1234 bytes", for error messages.
func formatBytes(_ bytes: Int) -> String {
    bytes >= 1 << 20 && bytes % (1 << 20) == 0 ? "\(bytes >> 20) MB" : "\(bytes) bytes"
}

/// "30 s" or "0.5 s".
func formatSeconds(_ s: Double) -> String {
    s == s.rounded() ? "\(Int(s)) s" : "\(s) s"
}
