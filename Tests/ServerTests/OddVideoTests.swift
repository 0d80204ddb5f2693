import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Server
import Testing
import Video

/// Videos that decode but are odd: tiny, single-frame, extreme shapes, rotated. Each gets labels
/// or a 422, never a crash.
@Suite struct OddVideoTests {
    /// Writes a clip of `frames` noise frames of `width`×`height`; nil when the encoder refuses the size.
    static func clip(width: Int, height: Int, frames: Int, rotation: Int = 0, codec: VideoCodec = .h264) -> ByteBuffer? {
        let path = Fixture.scratch("odd").appendingPathComponent("clip.\(codec == .h264 ? "mp4" : "avi")").path
        var rng = SystemRandomNumberGenerator()
        do {
            let writer = try VideoWriter(path: path, width: width, height: height,
                                         options: EncodeOptions(codec: codec, fps: 10, rotation: rotation))
            let pixels = (0..<(frames * width * height * 3)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            try writer.append(FrameStack(count: frames, height: height, width: width, pixels: pixels))
            try writer.finish()
        } catch {
            return nil
        }
        return Fixture.bytes(URL(fileURLWithPath: path))
    }

    @Test(arguments: [(16, 16, 2, 0), (2, 2, 3, 0), (64, 48, 1, 0), (96, 64, 40, 90), (1024, 16, 4, 0), (16, 1024, 4, 0), (80, 60, 5, 270)])
    func oddClipIsLabelledOrRefused(width: Int, height: Int, frames: Int, rotation: Int) async throws {
        guard let body = Self.clip(width: width, height: height, frames: frames, rotation: rotation) else { return }
        let server = try Fixture.server(Fixture.options())
        try await server.makeApplication().test(.router) { client in
            for query in ["", "?views=2x3", "?window=0.2s&stride=0.1s"] {
                let response = try await client.execute(uri: "/v1/predict" + query, method: .post,
                                                        headers: [.contentType: "video/mp4"], body: body)
                #expect(response.status == .ok || response.status == .unprocessableContent, "\(width)×\(height)×\(frames)\(query): \(response.status)")
                if max(width, height) > 16 * min(width, height) {
                    #expect(response.status == .unprocessableContent && response.errorCode == "undecodable_video")
                }
            }
        }
    }
}
