import Hummingbird
import NIOCore

/// `GET /`: the web page (`WebPage.html`), which labels an uploaded video and follows live
/// streams through the API with the user's token. Open under every `--auth` scope: the page
/// holds no data, and each API call it makes carries the token.
struct PageRoutes: Sendable {
    /// The page's inline script and style are its only code, and it talks to this origin alone.
    /// No text from a request or the API ever goes into its markup (the script writes it with
    /// `textContent`), which is what makes 'unsafe-inline' acceptable here.
    static let contentSecurityPolicy = "default-src 'self'; script-src 'unsafe-inline' 'self'; style-src 'unsafe-inline'; "
        + "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

    private static let body = ByteBuffer(string: WebPage.html)

    func register(on table: RouteTable) {
        table.on(.get, "/") { _, _ in
            var headers: HTTPFields = [.contentType: "text/html; charset=utf-8", .cacheControl: "no-cache"]
            headers[HeaderName("Content-Security-Policy")!] = Self.contentSecurityPolicy
            headers[HeaderName("X-Content-Type-Options")!] = "nosniff"
            headers[HeaderName("Referrer-Policy")!] = "no-referrer"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: Self.body))
        }
    }
}
