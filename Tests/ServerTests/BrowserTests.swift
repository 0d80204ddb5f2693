import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Server
import Synth
import Testing

/// The web page (`GET /`): its headers and markup in process, and a user's upload through it in
/// headless Chromium against a daemon listening on a loopback port.
@Suite struct BrowserTests {
    static let elementIDs = ["model", "token", "video", "predict", "status", "labels", "timeline",
                             "stream-source", "stream-start", "stream-stop", "stream-status", "stream-labels", "stream-chart", "streams"]

    /// 200, HTML, a Content-Security-Policy, the ids the script and this test use, nothing
    /// loaded from elsewhere; open even when `--auth all` guards the API.
    @Test func pageIsServedWithItsPolicy() async throws {
        let server = try Fixture.server(Fixture.options { $0.token = "s3cret"; $0.auth = .all })
        try await server.makeApplication().test(.router) { client in
            let response = try await client.execute(uri: "/", method: .get)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "text/html; charset=utf-8")
            let policy = try #require(response.headers[HeaderName("Content-Security-Policy")!])
            for directive in ["default-src 'self'", "script-src 'unsafe-inline' 'self'", "style-src 'unsafe-inline'", "frame-ancestors 'none'"] {
                #expect(policy.contains(directive), "\(directive) in \(policy)")
            }
            let page = response.text
            #expect(page.hasPrefix("<!doctype html>"))
            for id in Self.elementIDs { #expect(page.contains("id=\"\(id)\""), "#\(id)") }
            // The only URL in the page is SVG's namespace: no script, style or font from anywhere.
            let urls = page.matches(of: /https?:\/\/[^"'\s)]+/).map { String($0.output) }
            #expect(urls.allSatisfy { $0 == "http://www.w3.org/2000/svg" }, "\(urls)")
            #expect(!page.contains("<link") && !page.contains("<script src") && !page.contains("@import"))
            let models = try await client.execute(uri: "/v1/models", method: .get)
            #expect(models.status == .unauthorized, "the API stays guarded")
        }
    }

    /// A user picks a video in the page and presses Label; the page shows the labels the API
    /// gives for that video and draws their timeline; a screenshot shows it.
    @Test(.timeLimit(.minutes(2))) func uploadThroughThePage() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Chromium.executable.path),
                     "Chromium is missing (\(Chromium.executable.path)): `make deps` installs it")
        let folder = Fixture.scratch("browser")
        let video = try Self.longVideo(in: folder)
        let bytes = try Data(contentsOf: video)
        let server = try Fixture.server(Fixture.options())
        try await server.makeApplication().test(.live) { client in
            let port = try #require(client.port)
            // What the API answers for the query the page sends.
            let query = "/v1/predict?top_k=5&window=2s&stride=1s&model=default"
            let api = try await client.execute(uri: query, method: .post, headers: .contentType("video/mp4"), body: ByteBuffer(bytes: bytes))
            try #require(api.status == .ok)
            let expectedLabels = api.json["labels"].array.compactMap { $0["label"].string }
            let timelineLabels = Set(api.json["timeline"].array.flatMap { $0["labels"].array.compactMap { $0["label"].string } })
            let windows = api.json["timeline"].count
            #expect(windows >= 3, "a 4 s video in 2 s windows every second")
            #expect(Set(expectedLabels) == ["translate_left", "translate_right"])

            let browser = try await Chromium.launch(in: folder)
            defer { browser.stop() }
            let page = try await browser.openPage()
            defer { page.close() }
            for domain in ["Page", "Runtime", "Log"] { try await page.send("\(domain).enable") }
            let (width, height) = (1000, 1100)
            try await page.send("Emulation.setDeviceMetricsOverride", ["width": width, "height": height, "deviceScaleFactor": 1, "mobile": false])
            try await page.send("Page.navigate", ["url": "http://127.0.0.1:\(port)/"])
            let models = try await poll("the model list") {
                let names = try await page.evaluate("[...document.querySelectorAll('#model option')].map((o) => o.value)").array
                return names.isEmpty ? nil : names.compactMap(\.string)
            }
            #expect(Set(models) == ["default", "other"])

            // As a user would: the file goes into the file input, then Label is pressed.
            let chosen = try await page.evaluate("""
                (() => {
                  const bytes = Uint8Array.from(atob("\(bytes.base64EncodedString())"), (c) => c.charCodeAt(0));
                  const transfer = new DataTransfer();
                  transfer.items.add(new File([bytes], "\(video.lastPathComponent)", { type: "video/mp4" }));
                  const input = document.getElementById("video");
                  input.files = transfer.files;
                  input.dispatchEvent(new Event("change", { bubbles: true }));
                  document.getElementById("model").value = "default";
                  document.getElementById("predict").click();
                  return input.files[0].size;
                })()
                """)
            #expect(chosen.int == bytes.count)

            let shown = try await poll("the labels") {
                let state = try await page.evaluate("""
                    ({ labels: [...document.querySelectorAll('#labels li .name')].map((e) => e.textContent),
                       scores: [...document.querySelectorAll('#labels li .score')].map((e) => e.textContent),
                       polylines: document.querySelectorAll('#timeline svg polyline').length,
                       points: [...document.querySelectorAll('#timeline svg polyline')].map((p) => p.getAttribute('points').split(' ').length),
                       legend: [...document.querySelectorAll('#timeline .legend li')].map((e) => e.textContent),
                       status: document.getElementById('status').textContent,
                       error: document.getElementById('status').classList.contains('error') })
                    """)
                if state["error"].value as? Bool == true { throw DevToolsError(message: "the page shows an error: \(state["status"].string ?? "")") }
                return state["labels"].array.contains { $0.string == "translate_right" } && state["polylines"].int ?? 0 > 0 ? state : nil
            }
            #expect(shown["labels"].array.compactMap(\.string) == expectedLabels, "the page lists the API's labels, best first")
            #expect(shown["scores"].array.allSatisfy { $0.string?.hasSuffix("%") == true })
            #expect(shown["polylines"].int == timelineLabels.count, "one line per label of the timeline")
            #expect(shown["points"].array.allSatisfy { $0.int == windows }, "a point per window: \(shown["points"].array.map(\.value))")
            #expect(Set(shown["legend"].array.compactMap(\.string)) == timelineLabels)
            #expect(shown["status"].string?.contains("labelled by default") == true)

            let screenshot = try await page.send("Page.captureScreenshot", ["format": "png"])
            let png = try #require(screenshot["data"].string.flatMap { Data(base64Encoded: $0) }, "a base64 PNG")
            let file = folder.appendingPathComponent("page.png")
            try png.write(to: file)
            let size = try #require(PNGSize(try Data(contentsOf: file)), "\(file.path) is not a PNG")
            #expect(size.width == width && size.height == height, "\(size) for a \(width)×\(height) viewport")
            #expect(png.count > 10_000 && png.count < 10 << 20, "\(png.count) bytes")
            #expect(page.problems.isEmpty, "the page reported: \(page.problems)")
        }
    }

    /// Calls `attempt` every 100 ms until it gives a value, for at most `timeout`.
    func poll<T>(_ what: String, timeout: Duration = .seconds(30), _ attempt: () async throws -> T?) async throws -> T {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let value = try await attempt() { return value }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw DevToolsError(message: "the page did not show \(what) within \(timeout)")
    }
}

/// The width and height in a PNG's IHDR chunk, or nil if `data` does not start like a PNG.
struct PNGSize: CustomStringConvertible {
    let width: Int, height: Int

    init?(_ data: Data) {
        let bytes = [UInt8](data.prefix(24))
        guard bytes.count == 24, bytes[0..<8] == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A],
              bytes[12..<16] == Array("IHDR".utf8)[...] else { return nil }
        func be32(_ at: Int) -> Int { bytes[at..<at + 4].reduce(0) { $0 << 8 | Int($1) } }
        (width, height) = (be32(16), be32(20))
    }

    var description: String { "\(width)×\(height)" }
}

extension BrowserTests {
    /// A 4 s video of the class translate_right (64², 25 fps), long enough for a timeline of
    /// several windows; the fixture's videos are 0.64 s.
    static func longVideo(in folder: URL) throws -> URL {
        var options = SynthOptions()
        options.classes = 2; options.perClass = 1; options.frames = 100; options.size = 64; options.seed = 11; options.valFraction = 0
        _ = try SynthDataset.generate(into: folder.appendingPathComponent("synth").path, options: options)
        return folder.appendingPathComponent("synth/videos/translate_right/translate_right_0000.mp4")
    }
}
