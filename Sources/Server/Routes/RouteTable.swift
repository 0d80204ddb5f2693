import Hummingbird

/// One registered route, as the OpenAPI document lists it (`GET /v1/jobs/{id}`).
public struct RouteDescription: Hashable, Sendable, CustomStringConvertible {
    public var method: String
    public var path: String
    public var description: String { "\(method) \(path)" }
}

/// Registers routes on a router and remembers them, so the OpenAPI document can be checked
/// against what is really served.
final class RouteTable {
    let router: Router<ServerContext>
    private(set) var routes: [RouteDescription] = []

    init(router: Router<ServerContext>) {
        self.router = router
    }

    func on(_ method: HTTPRequest.Method, _ path: String,
            _ handler: @escaping @Sendable (Request, ServerContext) async throws -> Response) {
        router.on(RouterPath(path), method: method, use: handler)
        routes.append(RouteDescription(method: method.rawValue, path: path))
    }
}
