import Hummingbird
import Logging
import NIOCore
import NIOHTTPTypes

/// The per-request context: Hummingbird's core storage plus the request id, which every log
/// line of the request carries (`request_id`) and every response returns (`X-Request-Id`).
public struct ServerContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var requestID: String
    /// The connection, for the interim `100 Continue`.
    let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
        requestID = source.logger[metadataKey: "hb.request.id"].map { "\($0)" } ?? RequestIdentifier.make()
        logger[metadataKey: "hb.request.id"] = nil
        logger[metadataKey: "request_id"] = .string(requestID)
    }

    /// Answers `Expect: 100-continue` with `100 Continue`: called by a route just before it reads
    /// the body, so a request refused earlier (401, 413) gets its final answer instead and the
    /// client never sends the body.
    func continueIfExpected(_ request: Request) {
        guard request.headers[.expect]?.lowercased() == "100-continue" else { return }
        channel.writeAndFlush(HTTPResponsePart.head(HTTPResponse(status: .continue)), promise: nil)
    }

    /// Adopts an id sent by the client or a proxy (`X-Request-Id`), when it is a plain token.
    mutating func adopt(requestID id: String) {
        requestID = id
        logger[metadataKey: "request_id"] = .string(id)
    }
}

/// A header name (`HTTPField.Name`, reached through Hummingbird's re-exported `HTTPFields`).
typealias HeaderName = HTTPFields.Element.Name

enum RequestIdentifier {
    static let header = HeaderName("X-Request-Id")!

    /// 16 random hex digits.
    static func make() -> String {
        let n = UInt64.random(in: .min ... .max)
        let hex = String(n, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// Ids from clients are echoed into logs and headers, so only short plain tokens are kept.
    static func isAcceptable(_ id: String) -> Bool {
        (1...64).contains(id.utf8.count) && id.utf8.allSatisfy { c in
            (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 45 || c == 95 || c == 46
        }
    }
}
