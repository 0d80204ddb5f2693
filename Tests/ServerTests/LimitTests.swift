import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Server
import Testing

/// Limits on a real socket (in-process server, `.live`): uploads refused early (413) without
/// reading the rest, slow clients (408) and the admission limit (503).
@Suite struct LimitTests {
    static let request = "POST /v1/predict HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: video/mp4\r\n"

    func server(_ configure: @escaping (inout ServerOptions) -> Void) throws -> MotiveServer {
        try Fixture.server(Fixture.options(configure))
    }

    /// A Content-Length over the limit is refused at once: the server answers and closes
    /// although the body was never sent.
    @Test func announcedOversizeIsRefusedUpFront() async throws {
        try await server { $0.maxUploadBytes = 64 << 10 }.makeApplication().test(.live) { client in
            let port = try #require(client.port)
            let answer = try await RawConnection.onThread {
                let connection = try RawConnection(port: port)
                connection.send(Self.request + "Content-Length: 10000000000\r\n\r\n")
                return connection.readToEnd()
            }
            #expect(answer.hasPrefix("HTTP/1.1 413"), "\(answer)")
            #expect(answer.contains("payload_too_large") && answer.lowercased().contains("connection: close"))
        }
    }

    /// A chunked body without a length is counted as it arrives, and cut off past the limit.
    @Test func streamedOversizeIsCutOff() async throws {
        try await server { $0.maxUploadBytes = 64 << 10 }.makeApplication().test(.live) { client in
            let port = try #require(client.port)
            let answer = try await RawConnection.onThread {
                let connection = try RawConnection(port: port)
                connection.send(Self.request + "Transfer-Encoding: chunked\r\n\r\n")
                let chunk = String(repeating: "x", count: 8192)
                for _ in 0..<9 { connection.send(String(8192, radix: 16) + "\r\n" + chunk + "\r\n") }
                return connection.readToEnd()                  // never sends the last chunk
            }
            #expect(answer.hasPrefix("HTTP/1.1 413"), "\(answer)")
        }
    }

    /// A client that stops sending its body mid-way gets 408 after the request timeout.
    @Test func slowClientTimesOut() async throws {
        try await server { $0.requestTimeout = 1 }.makeApplication().test(.live) { client in
            let port = try #require(client.port)
            let (answer, waited) = try await RawConnection.onThread {
                let connection = try RawConnection(port: port)
                connection.send(Self.request + "Content-Length: 5000\r\n\r\n" + String(repeating: "x", count: 100))
                let sent = Date()
                return (connection.readToEnd(), Date().timeIntervalSince(sent))
            }
            // The body names our timeout, not the connection's idle timeout (request timeout +
            // 15 s), which would close without an answer. The bound is loose because `make test`
            // runs every suite at once on two cores; it only has to stay below the idle timeout.
            #expect(answer.hasPrefix("HTTP/1.1 408"), "\(answer)")
            #expect(answer.contains("request_timeout"))
            #expect(waited < 15, "waited \(waited) s")
        }
    }

    /// Past --max-uploads uploads in progress, 503 with Retry-After; the refused request does
    /// not disturb the admitted one.
    @Test func uploadsPastTheLimitAre503() async throws {
        try await server { $0.maxConcurrentUploads = 1; $0.requestTimeout = 30 }.makeApplication().test(.live) { client in
            let port = try #require(client.port)
            let video = Array(Fixture.bytes(Fixture.video()).readableBytesView)
            let holder = try RawConnection(port: port)
            let release = DispatchSemaphore(value: 0)
            let held = Task {
                try await RawConnection.onThread {
                    holder.send(Self.request + "Content-Length: \(video.count)\r\n\r\n")
                    holder.send(Array(video.prefix(100)))
                    release.wait()                             // holds its place, mid-upload, until the 503 is seen
                    holder.send(Array(video.dropFirst(100)))
                    return holder.readToEnd()
                }
            }
            defer { release.signal() }                         // never leave the holder waiting
            var admitted = false
            for _ in 0..<500 where !admitted {
                let metrics = try await client.execute(uri: "/metrics", method: .get).text
                admitted = metrics.contains("motive_uploads_in_progress 1.0")
                if !admitted { try await Task.sleep(for: .milliseconds(20)) }
            }
            #expect(admitted)
            let refused = try await client.execute(uri: "/v1/predict", method: .post, headers: .contentType("video/mp4"),
                                                   body: ByteBuffer(bytes: video))
            #expect(refused.status == .serviceUnavailable && refused.errorCode == "too_many_uploads")
            #expect(refused.headers[.retryAfter] == "1")
            release.signal()
            let first = try await held.value
            #expect(first.hasPrefix("HTTP/1.1 200"), "\(first.prefix(200))")
        }
    }
}
