import Hummingbird

/// Asks for the bearer token on the routes the scope guards (`--auth`). Decides on the matched
/// route's pattern, so spellings of a path that reach the same route (`/v1//jobs`) are guarded
/// alike. An unauthorised body is not read: the answer closes the connection.
struct TokenGuard: RouterMiddleware {
    typealias Context = ServerContext
    let token: BearerToken
    let scope: AuthScope

    func handle(_ request: Request, context: ServerContext, next: (Request, ServerContext) async throws -> Response) async throws -> Response {
        let route = context.endpointPath.flatMap { $0 == "NotFound" ? nil : $0 }
        if let route, scope.guards(path: route) {
            do { try token.authorize(request) } catch var error {
                error.closesConnection = request.hasBody
                throw error
            }
        }
        return try await next(request, context)
    }
}
