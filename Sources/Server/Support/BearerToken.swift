import Hummingbird

/// The shared secret that guards job submission and cancellation.
struct BearerToken: Sendable {
    private let expected: [UInt8]

    /// nil when no token is configured (then nothing is guarded).
    init?(_ token: String?) {
        guard let token, !token.isEmpty else { return nil }
        expected = Array(token.utf8)
    }

    /// 401 unless the request carries `Authorization: Bearer <token>`.
    func authorize(_ request: Request) throws(APIError) {
        guard let header = request.headers[.authorization], header.count > 7,
              header.prefix(7).lowercased() == "bearer " else { throw .unauthorized() }
        guard matches(Array(header.dropFirst(7).utf8)) else { throw .unauthorized() }
    }

    /// Compares in time that depends only on the expected token's length, never on where the
    /// first differing byte is.
    func matches(_ given: [UInt8]) -> Bool {
        var difference: UInt8 = given.count == expected.count ? 0 : 1
        for i in expected.indices {
            difference |= expected[i] ^ (i < given.count ? given[i] : 0)
        }
        return difference == 0
    }
}
