// The streaming multipart/form-data extractor of the daemon's uploads. The first byte sets the
// chunk size the body arrives in (1 to 256 bytes), so that part boundaries fall across chunks.
import FuzzDriver
import NIOCore
import Server

runFuzzer { input in
    guard let (selector, body) = input.selector else { return }
    let size = Int(selector) + 1
    let chunks = stride(from: 0, to: body.count, by: size).map { start in
        ByteBuffer(bytes: body[start..<min(start + size, body.count)])
    }
    _ = MultipartVideoExtractor.video(in: chunks, boundary: "motive")
}
