import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1

/// Names each request (`X-Request-Id`, adopted from the client when it sends a plain one) and
/// turns every error into the JSON envelope `{"error": {"code", "message", "request_id"}}`.
struct RequestIDMiddleware: RouterMiddleware {
    typealias Context = ServerContext

    func handle(_ request: Request, context: ServerContext, next: (Request, ServerContext) async throws -> Response) async throws -> Response {
        var context = context
        if let incoming = request.headers[RequestIdentifier.header], RequestIdentifier.isAcceptable(incoming) {
            context.adopt(requestID: incoming)
        }
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            let apiError = ErrorEnvelope.apiError(for: error, request: request, context: context)
            if apiError.status == .internalServerError {
                context.logger.error("request failed", metadata: ["error": "\(error)"])
            }
            // A response that says `Connection: close` ends the connection (`ConnectionGuard`).
            response = ErrorEnvelope.response(apiError, requestID: context.requestID)
        }
        response.headers[RequestIdentifier.header] = context.requestID
        return response
    }
}

/// The JSON body of every error response.
enum ErrorEnvelope {
    struct Body: Encodable {
        struct Detail: Encodable {
            let code: String
            let message: String
            let requestID: String
            enum CodingKeys: String, CodingKey { case code, message, requestID = "request_id" }
        }
        let error: Detail
    }

    /// Any error as an `APIError`: Hummingbird's own errors keep their status.
    static func apiError(for error: any Error, request: Request, context: ServerContext) -> APIError {
        switch error {
        case let error as APIError:
            return error
        case let error as HTTPError where error.status == .notFound && context.endpointPath == "NotFound":
            return .routeNotFound(request.method, request.uri.path)
        case let error as HTTPError:
            return APIError(error.status, code: code(for: error.status), error.body ?? error.status.reasonPhrase)
        case let error as HTTPParserError:
            return .malformedBody("\(error)")
        case is NIOTooManyBytesError:
            return APIError(.contentTooLarge, code: "payload_too_large", "the request body is too large", closesConnection: true)
        default:
            return .internalError("\(error)")
        }
    }

    static func code(for status: HTTPResponse.Status) -> String {
        status.reasonPhrase.lowercased().split(separator: " ").joined(separator: "_")
    }

    static func response(_ error: APIError, requestID: String) -> Response {
        let body = Body(error: .init(code: error.code, message: error.message, requestID: requestID))
        let data = (try? JSONEncoder.api.encode(body)) ?? Data(#"{"error":{"code":"internal","message":"","request_id":""}}"#.utf8)
        var headers: HTTPFields = [.contentType: "application/json; charset=utf-8"]
        if let retryAfter = error.retryAfter { headers[.retryAfter] = String(retryAfter) }
        if error.closesConnection { headers[.connection] = "close" }
        return Response(status: error.status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
