import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Server
import Testing

/// HTTP on a real socket (`.live`): one answer and a clean close after a refusal, `Expect:
/// 100-continue`, header and body timeouts, malformed and truncated bodies, and uploads that do
/// not hold inference places.
@Suite struct ProtocolTests {
    static let head = "POST /v1/predict HTTP/1.1\r\nHost: localhost\r\nContent-Type: video/mp4\r\n"
    static let video = Array(Fixture.bytes(Fixture.video()).readableBytesView)

    func live(_ configure: @escaping (inout ServerOptions) -> Void = { _ in },
              _ body: @escaping @Sendable (Int) async throws -> Void) async throws {
        let server = try Fixture.server(Fixture.options(configure))
        try await server.makeApplication().test(.live) { client in try await body(try #require(client.port)) }
    }

    /// How many responses a raw answer holds.
    static func statusLines(_ answer: String) -> [Substring] {
        answer.split(separator: "\r\n").filter { $0.hasPrefix("HTTP/1.1 ") }
    }

    /// After an answer that closes the connection, the rest of the body and pipelined requests
    /// get no second answer.
    @Test(arguments: [
        ("oversized", "Content-Length: 999999999999\r\n\r\n" + String(repeating: "x", count: 3000), "413"),
        ("media type", "Content-Type: text/plain\r\nContent-Length: 3000\r\n\r\n" + String(repeating: "x", count: 3000), "415"),
    ])
    func oneAnswerAfterARefusal(name: String, rest: String, status: String) async throws {
        try await live({ $0.maxUploadBytes = 1 << 20 }) { port in
            let answer = try await RawConnection.onThread {
                let connection = try RawConnection(port: port)
                let head = name == "media type" ? "POST /v1/predict HTTP/1.1\r\nHost: localhost\r\n" : Self.head
                connection.send(head + rest + "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
                return connection.readToEnd()
            }
            #expect(answer.hasPrefix("HTTP/1.1 \(status)"), "\(answer)")
            #expect(Self.statusLines(answer).count == 1, "\(answer)")
        }
    }

    /// An unauthorised job body is not read and not answered twice.
    @Test func oneAnswerAfterUnauthorised() async throws {
        try await live({ $0.token = "s3cret" }) { port in
            let answer = try await RawConnection.onThread {
                let connection = try RawConnection(port: port)
                connection.send("POST /v1/jobs HTTP/1.1\r\nHost: localhost\r\nContent-Length: 20\r\n\r\nmodel: {preset: x}\r\n"
                                + "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
                return connection.readToEnd()
            }
            #expect(answer.hasPrefix("HTTP/1.1 401"), "\(answer)")
            #expect(Self.statusLines(answer).count == 1, "\(answer)")
        }
    }

    /// `Expect: 100-continue` gets `100 Continue` once the server reads the body, and then the answer.
    @Test func expectContinueIsAnswered() async throws {
        try await live { port in
            let (interim, final) = try await RawConnection.onThread {
                let connection = try RawConnection(port: port)
                connection.send(Self.head + "Connection: close\r\nExpect: 100-continue\r\nContent-Length: \(Self.video.count)\r\n\r\n")
                let interim = connection.read(until: "\r\n\r\n")
                connection.send(Self.video)
                return (interim, connection.readToEnd())
            }
            #expect(interim.hasPrefix("HTTP/1.1 100"), "\(interim)")
            #expect(final.hasPrefix("HTTP/1.1 200"), "\(final.prefix(300))")
        }
    }

    /// A request refused up front gets its final answer instead of `100 Continue`.
    @Test func expectContinueRefusedEarly() async throws {
        try await live({ $0.maxUploadBytes = 1 << 20 }) { port in
            let answer = try await RawConnection.onThread {
                let connection = try RawConnection(port: port)
                connection.send(Self.head + "Expect: 100-continue\r\nContent-Length: 999999999\r\n\r\n")
                return connection.readToEnd()
            }
            #expect(answer.hasPrefix("HTTP/1.1 413"), "\(answer)")
            #expect(!answer.contains("HTTP/1.1 100"))
        }
    }

    /// Headers sent a byte at a time are cut off after the header timeout.
    @Test func slowHeadersAreClosed() async throws {
        try await live({ $0.headerTimeout = 1 }) { port in
            let (closed, waited) = try await RawConnection.onThread {
                let connection = try RawConnection(port: port)
                let start = Date()
                for byte in Array("GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ".utf8) + Array(repeating: UInt8(ascii: "a"), count: 200) {
                    guard connection.send([byte]) else { return (true, Date().timeIntervalSince(start)) }
                    Thread.sleep(forTimeInterval: 0.05)
                    if Date().timeIntervalSince(start) > 8 { break }
                }
                return (connection.readToEnd().isEmpty, Date().timeIntervalSince(start))
            }
            #expect(closed)
            #expect(waited < 6, "closed after \(waited) s")
        }
    }

    /// An upload that trickles in is refused once it falls below the minimum rate, although it
    /// never stalls for long. At 250 bytes/s the 100 kB body would take 400 s: the cut comes
    /// within seconds (the bound leaves room for a machine whose cores the other suites' training
    /// processes hold).
    @Test func tricklingUploadIsCutOff() async throws {
        try await live({ $0.requestTimeout = 1; $0.minUploadBytesPerSecond = 1024 }) { port in
            let (answer, waited) = try await RawConnection.onThread {
                let connection = try RawConnection(port: port)
                connection.send(Self.head + "Connection: close\r\nContent-Length: 100000\r\n\r\n")
                let start = Date()
                while Date().timeIntervalSince(start) < 30, connection.send(String(repeating: "x", count: 50)) {
                    Thread.sleep(forTimeInterval: 0.2)
                    if connection.hasData { break }
                }
                return (connection.readToEnd(), Date().timeIntervalSince(start))
            }
            #expect(answer.hasPrefix("HTTP/1.1 408"), "\(answer)")
            #expect(waited < 25, "\(waited) s")
        }
    }

    /// A fair-rate upload longer than --request-timeout is not cut off: the deadline grows with
    /// what arrives. (The minimum rate is low so that a server starved of CPU by the suites
    /// running beside it, reading late what was sent on time, still passes.)
    @Test func steadyUploadOutlastsTheTimeout() async throws {
        try await live({ $0.requestTimeout = 1; $0.minUploadBytesPerSecond = 64 }) { port in
            let answer = try await RawConnection.onThread {
                let connection = try RawConnection(port: port)
                connection.send(Self.head + "Connection: close\r\nContent-Length: \(Self.video.count)\r\n\r\n")
                // About 3 s in all (three times the timeout), far above 64 bytes/s.
                let pieces = stride(from: 0, to: Self.video.count, by: max(1, Self.video.count / 15)).map {
                    Array(Self.video[$0..<min(Self.video.count, $0 + max(1, Self.video.count / 15))])
                }
                for piece in pieces {
                    connection.send(piece)
                    Thread.sleep(forTimeInterval: 0.2)
                }
                return connection.readToEnd()
            }
            #expect(answer.hasPrefix("HTTP/1.1 200"), "\(answer.prefix(300))")
        }
    }

    /// A broken chunked body is 400, not 500.
    @Test func malformedChunkedBodyIs400() async throws {
        try await live { port in
            let answer = try await RawConnection.onThread {
                let connection = try RawConnection(port: port)
                connection.send(Self.head + "Transfer-Encoding: chunked\r\n\r\n10\r\n0123456789abcdef\r\nZZZ\r\nxx\r\n")
                return connection.readToEnd()
            }
            #expect(answer.hasPrefix("HTTP/1.1 400"), "\(answer)")
            #expect(answer.contains("malformed_body"), "\(answer)")
        }
    }

    /// A body cut short by the client closing its side is 400, not 500.
    @Test func truncatedUploadIs400() async throws {
        try await live { port in
            let answer = try await RawConnection.onThread {
                let connection = try RawConnection(port: port)
                connection.send(Self.head + "Content-Length: 5000\r\n\r\n" + String(repeating: "x", count: 100))
                connection.shutdownWrite()
                return connection.readToEnd()
            }
            #expect(answer.hasPrefix("HTTP/1.1 400"), "\(answer)")
            #expect(answer.contains("malformed_body"), "\(answer)")
        }
    }

    /// Uploads in progress do not hold inference places: with --max-concurrent 1 and two uploads
    /// stalled mid-body, a whole upload is still labelled.
    @Test func slowUploadsDoNotStarvePredictions() async throws {
        try await live({ $0.maxConcurrentPredictions = 1; $0.maxConcurrentUploads = 4; $0.requestTimeout = 30 }) { port in
            let holders = try (0..<2).map { _ in try RawConnection(port: port) }
            for holder in holders {
                holder.send(Self.head + "Content-Length: \(Self.video.count)\r\n\r\n")
                holder.send(Array(Self.video.prefix(100)))
            }
            try await Task.sleep(for: .milliseconds(300))
            let answer = try await RawConnection.onThread {
                let connection = try RawConnection(port: port)
                connection.send(Self.head + "Connection: close\r\nContent-Length: \(Self.video.count)\r\n\r\n")
                connection.send(Self.video)
                return connection.readToEnd()
            }
            #expect(answer.hasPrefix("HTTP/1.1 200"), "\(answer.prefix(300))")
            _ = holders
        }
    }
}
