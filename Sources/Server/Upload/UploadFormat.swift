import Foundation

/// How a prediction request carries its video, read from its `Content-Type`.
enum UploadFormat: Equatable {
    /// The body is the video (`video/*`, `application/octet-stream`).
    case raw
    /// `multipart/form-data`: the video is the part named `video`.
    case multipart(boundary: String)

    /// The format of `contentType`; 415 for anything else, 400 for a multipart type without a boundary.
    static func of(contentType: String?) throws(APIError) -> UploadFormat {
        guard let contentType else { throw .unsupportedMediaType(nil) }
        let (mime, parameters) = parse(contentType)
        if mime.hasPrefix("video/") || mime == "application/octet-stream" { return .raw }
        guard mime == "multipart/form-data" else { throw .unsupportedMediaType(contentType) }
        guard let boundary = parameters["boundary"], (1...70).contains(boundary.utf8.count) else {
            throw .badRequest("multipart/form-data needs a boundary parameter of 1 to 70 characters", code: "bad_multipart")
        }
        return .multipart(boundary: boundary)
    }

    /// `type/subtype; key=value; key="quoted value"` → the lowercased type and the parameters
    /// (keys lowercased, values as sent).
    static func parse(_ header: String) -> (mime: String, parameters: [String: String]) {
        let fields = header.split(separator: ";", omittingEmptySubsequences: false)
        let mime = fields.first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        var parameters: [String: String] = [:]
        for field in fields.dropFirst() {
            guard let eq = field.firstIndex(of: "=") else { continue }
            let key = field[..<eq].trimmingCharacters(in: .whitespaces).lowercased()
            var value = field[field.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") { value = String(value.dropFirst().dropLast()) }
            parameters[key] = value
        }
        return (mime, parameters)
    }
}
