import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Server
import Synth
import Testing

/// The web page (`GET /`): its headers and markup in process; then, in headless Chromium against
/// a daemon listening on a loopback port, a user's upload and a live stream through it.
// One test at a time: each runs Chromium and a daemon beside the other suites, on two cores.
@Suite(.serialized) struct BrowserTests {
    static let elementIDs = ["model", "token", "video", "predict", "status", "labels", "timeline",
                             "stream-source", "stream-start", "stream-stop", "stream-status", "stream-labels", "stream-chart", "streams"]
    static let viewport = (width: 1000, height: 1100)

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
    /// gives for that video and draws their timeline. Starting a stream on a daemon without a
    /// token shows the refusal.
    @Test(.timeLimit(.minutes(2))) func uploadThroughThePage() async throws {
        let folder = Fixture.scratch("browser")
        let video = try Self.longVideo(in: folder)
        let bytes = try Data(contentsOf: video)
        try await withPage(Fixture.options(), folder: folder) { page, client in
            // What the API answers for the query the page sends.
            let api = try await client.execute(uri: "/v1/predict?top_k=5&window=2s&stride=1s&model=default", method: .post,
                                               headers: .contentType("video/mp4"), body: ByteBuffer(bytes: bytes))
            try #require(api.status == .ok)
            let expectedLabels = api.json["labels"].array.compactMap { $0["label"].string }
            let timelineLabels = Set(api.json["timeline"].array.flatMap { $0["labels"].array.compactMap { $0["label"].string } })
            let windows = api.json["timeline"].count
            #expect(Set(expectedLabels) == ["translate_left", "translate_right"])
            #expect(windows >= 3, "a 4 s video in 2 s windows every second")

            let models = try await poll("the model list", on: page) {
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

            let shown = try await poll("the labels", on: page) {
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
            try await screenshot(page, to: folder.appendingPathComponent("page.png"))

            // No token on this daemon: starting a stream is refused, and the page says why.
            try await page.evaluate("""
                document.getElementById("stream-source").value = "videos/translate_left/translate_left_0000.mp4";
                document.getElementById("stream-start").click();
                """)
            let refusal = try await poll("the refused stream", on: page) {
                let status = try await page.evaluate("document.getElementById('stream-status').textContent").string ?? ""
                return status.hasPrefix("Cannot start") ? status : nil
            }
            #expect(refusal.contains("403 token_required"), "\(refusal)")
        }
    }

    /// With the token typed in, a user starts a stream of a 4 s file under the data root and
    /// watches it to its end; a second one is stopped with the Stop button.
    @Test(.timeLimit(.minutes(2))) func streamThroughThePage() async throws {
        let folder = Fixture.scratch("browser")
        let video = try Self.longVideo(in: folder)
        let source = String(video.path.dropFirst(folder.path.count + 1))
        let options = Fixture.options { $0.token = "s3cret"; $0.auth = .all; $0.dataRoot = folder }
        try await withPage(options, folder: folder) { page, _ in
            // Under --auth all the model list needs the token; typing it in brings the list.
            try await page.evaluate("""
                (() => {
                  const token = document.getElementById("token");
                  token.value = "s3cret";
                  token.dispatchEvent(new Event("change", { bubbles: true }));
                })()
                """)
            _ = try await poll("the model list after the token", on: page) {
                try await page.evaluate("document.querySelectorAll('#model option').length").int ?? 0 > 0 ? true : nil
            }
            #expect(try await page.evaluate("localStorage.getItem('motive-token')").string == "s3cret")

            let start = """
                document.getElementById("stream-source").value = "\(source)";
                document.getElementById("stream-start").click();
                """
            let state = """
                ({ status: document.getElementById('stream-status').textContent,
                   error: document.getElementById('stream-status').classList.contains('error'),
                   labels: [...document.querySelectorAll('#stream-labels li .name')].map((e) => e.textContent),
                   points: [...document.querySelectorAll('#stream-chart svg polyline')].map((p) => p.getAttribute('points').split(' ').length),
                   rows: [...document.querySelectorAll('#streams tr')].map((row) => row.textContent) })
                """
            try await page.evaluate(start)
            let ended = try await poll("the stream's end", on: page) {
                let shown = try await page.evaluate(state)
                if shown["error"].value as? Bool == true { throw DevToolsError(message: "the page shows an error: \(shown["status"].string ?? "")") }
                return shown["status"].string?.hasSuffix(" ended.") == true ? shown : nil
            }
            #expect(Set(ended["labels"].array.compactMap(\.string)).isSubset(of: ["translate_left", "translate_right"]))
            #expect(ended["labels"].count == 2, "top 3 of two classes")
            #expect(!ended["points"].array.isEmpty && ended["points"].array.allSatisfy { $0.int ?? 0 >= 3 },
                    "a line per label, a point per decision: \(ended["points"].array.map(\.value))")
            try await screenshot(page, to: folder.appendingPathComponent("stream.png"))
            _ = try await poll("the ended stream in the list", on: page) {
                try await page.evaluate(state)["rows"].array.contains { $0.string?.contains("ended") == true } ? true : nil
            }

            // A second stream, stopped at its first decision.
            try await page.evaluate(start)
            _ = try await poll("the second stream's first decision", on: page) {
                try await page.evaluate(state)["status"].string?.contains("latency") == true ? true : nil
            }
            try await page.evaluate("document.getElementById('stream-stop').click()")
            let stopped = try await poll("the stopped stream", on: page) {
                let status = try await page.evaluate(state)["status"].string ?? ""
                return status.hasSuffix(" stopped.") ? status : nil
            }
            #expect(try await page.evaluate("document.getElementById('stream-stop').disabled").value as? Bool == true, "\(stopped)")
        }
    }

    /// A daemon on 127.0.0.1 with port 0, Chromium, and a page session showing the daemon's `/`;
    /// `body` drives the page. Chromium is stopped and its profile removed however `body` ends.
    func withPage(_ options: ServerOptions, folder: URL,
                  _ body: @Sendable (DevToolsSession, any TestClientProtocol) async throws -> Void) async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Chromium.executable.path),
                     "Chromium is missing (\(Chromium.executable.path)): `make deps` installs it")
        let server = try Fixture.server(options)
        try await server.makeApplication().test(.live) { client in
            let port = try #require(client.port)
            let browser = try await Chromium.launch(in: folder)
            defer { browser.stopInBackground() }             // when `body` throws; else stopped below
            let page = try await browser.openPage()
            defer { page.close() }
            for domain in ["Page", "Runtime", "Log"] { try await page.send("\(domain).enable") }
            try await page.send("Emulation.setDeviceMetricsOverride",
                                ["width": Self.viewport.width, "height": Self.viewport.height, "deviceScaleFactor": 1, "mobile": false])
            try await page.send("Page.navigate", ["url": "http://127.0.0.1:\(port)/"])
            _ = try await poll("the page", on: page) {
                try await page.evaluate("location.port === '\(port)' && document.readyState === 'complete'").value as? Bool == true ? true : nil
            }
            try await body(page, client)
            #expect(page.problems.isEmpty, "the page reported: \(page.problems)")
            page.close()
            await browser.stop()
            #expect(browser.processes.isEmpty, "Chromium processes left running: \(browser.processes)")
        }
    }

    /// Saves a screenshot of the viewport as `file` and checks that it reads as a PNG of the viewport's size.
    func screenshot(_ page: DevToolsSession, to file: URL) async throws {
        let screenshot = try await page.send("Page.captureScreenshot", ["format": "png"])
        let png = try #require(screenshot["data"].string.flatMap { Data(base64Encoded: $0) }, "a base64 PNG")
        try png.write(to: file)
        let size = try #require(PNGSize(try Data(contentsOf: file)), "\(file.path) is not a PNG")
        #expect(size.width == Self.viewport.width && size.height == Self.viewport.height, "\(size) for the viewport \(Self.viewport)")
        #expect(png.count > 10_000 && png.count < 10 << 20, "\(png.count) bytes")
    }

    /// Calls `attempt` every 100 ms until it gives a value, for at most `timeout`; the failure says
    /// what the page reported (exceptions, a refused policy) and what its status lines show.
    func poll<T>(_ what: String, on page: DevToolsSession, timeout: Duration = .seconds(30), _ attempt: () async throws -> T?) async throws -> T {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let value = try await attempt() { return value }
            try await Task.sleep(for: .milliseconds(100))
        }
        let status = try? await page.evaluate("[...document.querySelectorAll('.status')].map((e) => e.textContent).filter((t) => t)")
        throw DevToolsError(message: "the page did not show \(what) within \(timeout); its status lines: "
                            + "\(status?.array.compactMap(\.string) ?? []); it reported: \(page.problems)")
    }

    /// A 4 s video of the class translate_right (64², 25 fps), long enough for a timeline of
    /// several windows; the fixture's videos are 0.64 s.
    static func longVideo(in folder: URL) throws -> URL {
        var options = SynthOptions()
        options.classes = 2; options.perClass = 1; options.frames = 100; options.size = 64; options.seed = 11; options.valFraction = 0
        _ = try SynthDataset.generate(into: folder.appendingPathComponent("synth").path, options: options)
        return folder.appendingPathComponent("synth/videos/translate_right/translate_right_0000.mp4")
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
