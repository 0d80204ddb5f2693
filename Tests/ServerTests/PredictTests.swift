import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Server
import Testing
import Training
@testable import Inference
import Zoo

/// `POST /v1/predict` in process: answers, model choice, parameters, and every refusal.
@Suite struct PredictTests {
    let server: MotiveServer

    init() throws {
        server = try Fixture.server(Fixture.options { $0.maxUploadBytes = 256 << 10 })
    }

    func post(_ client: some TestClientProtocol, _ query: String = "", type: String? = "video/mp4",
              body: ByteBuffer = Fixture.bytes(Fixture.video()), headers: HTTPFields = [:]) async throws -> TestResponse {
        var fields = headers
        if let type { fields[.contentType] = type }
        return try await client.execute(uri: "/v1/predict" + query, method: .post, headers: fields, body: body)
    }

    @Test func rawVideoGetsLabels() async throws {
        try await server.makeApplication().test(.router) { client in
            let response = try await post(client, "?top_k=2")
            #expect(response.status == .ok)
            let json = response.json
            #expect(json["model"].string == "default")
            #expect(json["views"].string == "1x1")
            #expect(json["labels"].count == 2)
            let names = Set(json["labels"].array.compactMap { $0["label"].string })
            #expect(names == ["translate_left", "translate_right"])
            let scores = json["labels"].array.compactMap { $0["score"].double }
            #expect(abs(scores.reduce(0, +) - 1) < 1e-4 && scores == scores.sorted(by: >))
            #expect(json["request_id"].string == response.headers[HeaderName("X-Request-Id")!])
            for key in ["decode", "infer", "total"] { #expect((json["timing_ms"][key].double ?? -1) >= 0, "timing_ms.\(key)") }
            #expect(json["timeline"].value == nil)
        }
    }

    @Test func multipartVideoFieldGetsLabels() async throws {
        try await server.makeApplication().test(.router) { client in
            let body = Fixture.multipart([("note", "text/plain", ByteBuffer(string: "ignored")),
                                          ("video", "video/mp4", Fixture.bytes(Fixture.video()))])
            let response = try await post(client, "?model=other", type: "multipart/form-data; boundary=\"motive-test-boundary\"", body: body)
            #expect(response.status == .ok)
            #expect(response.json["model"].string == "other")
            #expect(response.json["labels"].count == 2)
        }
    }

    @Test func viewsAndTimeline() async throws {
        try await server.makeApplication().test(.router) { client in
            let response = try await post(client, "?views=2x3&window=0.32s&stride=160ms", type: "application/octet-stream")
            #expect(response.status == .ok)
            #expect(response.json["views"].string == "2x3")
            let timeline = response.json["timeline"].array
            #expect(timeline.count == 3, "0.64 s in windows of 0.32 s every 0.16 s")
            #expect(timeline.first?["start"].double == 0)
            #expect(timeline.allSatisfy { $0["labels"].count == 2 })
            #expect(response.json["timing_ms"]["timeline"].double != nil)
        }
    }

    /// TorchServe's inference API: `POST` or `PUT /predictions/{model}` with the raw video (a
    /// PUT without a content type, as `curl -T` sends it) answers {label: probability}, best
    /// first, with what `/v1/predict` says; `GET /ping` answers {"status": "Healthy"}.
    @Test func torchServeShapes() async throws {
        try await server.makeApplication().test(.router) { client in
            let ours = try await post(client, "?top_k=2").json["labels"].array
            for (method, type) in [(HTTPRequest.Method.post, "video/mp4" as String?), (.put, nil)] {
                var headers: HTTPFields = [:]
                if let type { headers[.contentType] = type }
                let answer = try await client.execute(uri: "/predictions/default?top_k=2", method: method, headers: headers,
                                                      body: Fixture.bytes(Fixture.video()))
                #expect(answer.status == .ok, "\(method): \(answer.text)")
                let object = try #require(try JSONSerialization.jsonObject(with: Data(answer.text.utf8)) as? [String: Double], "\(answer.text)")
                #expect(object.count == 2)
                for label in ours {
                    let name = try #require(label["label"].string)
                    #expect(abs((object[name] ?? -1) - (label["score"].double ?? 0)) < 1e-12, "\(name)")
                }
                // Best first, as the text is written.
                let first = try #require(ours.first?["label"].string)
                #expect(answer.text.hasPrefix("{\"\(first)\""), "\(answer.text)")
            }
            let five = try await client.execute(uri: "/predictions/default", method: .post, headers: [.contentType: "video/mp4"],
                                                body: Fixture.bytes(Fixture.video()))
            #expect((try JSONSerialization.jsonObject(with: Data(five.text.utf8)) as? [String: Double])?.count == 2,
                    "top_k defaults to 5, capped by the 2 classes: \(five.text)")
            let missing = try await client.execute(uri: "/predictions/nope", method: .post, headers: [.contentType: "video/mp4"],
                                                   body: Fixture.bytes(Fixture.video()))
            #expect(missing.status == .notFound && missing.errorCode == "model_not_found")
            let ping = try await client.execute(uri: "/ping", method: .get)
            #expect(ping.status == .ok && ping.json["status"].string == "Healthy")
        }
    }

    @Test func unknownModelIs404() async throws {
        try await server.makeApplication().test(.router) { client in
            let response = try await post(client, "?model=nope")
            #expect(response.status == .notFound && response.errorCode == "model_not_found")
        }
    }

    @Test func badParametersAre400() async throws {
        try await server.makeApplication().test(.router) { client in
            for query in ["?top_k=0", "?top_k=x", "?views=2x2", "?views=11x1", "?window=soon", "?stride=1s", "?window=1s&stride=-1s",
                          "?window=0.01s&stride=1ms"] {
                let response = try await post(client, query)
                #expect(response.status == .badRequest && response.errorCode == "bad_parameter", "\(query)")
            }
        }
    }

    @Test func unsupportedMediaTypeIs415() async throws {
        try await server.makeApplication().test(.router) { client in
            for type in ["text/plain", "application/json", "image/png", nil] as [String?] {
                let response = try await post(client, type: type)
                #expect(response.status == .unsupportedMediaType && response.errorCode == "unsupported_media_type", "\(type ?? "none")")
            }
        }
    }

    @Test func badMultipartIs400() async throws {
        try await server.makeApplication().test(.router) { client in
            let noBoundary = try await post(client, type: "multipart/form-data")
            #expect(noBoundary.status == .badRequest && noBoundary.errorCode == "bad_multipart")
            let noVideo = try await post(client, type: "multipart/form-data; boundary=motive-test-boundary",
                                         body: Fixture.multipart([("file", "video/mp4", Fixture.bytes(Fixture.video()))]))
            #expect(noVideo.status == .badRequest && noVideo.errorCode == "missing_video_field")
            let garbled = try await post(client, type: "multipart/form-data; boundary=motive-test-boundary",
                                         body: ByteBuffer(string: "--motive-test-boundary\r\nbad header line\r\n\r\nx"))
            #expect(garbled.status == .badRequest && garbled.errorCode == "bad_multipart")
        }
    }

    /// Garbage, a truncated file, an empty body and an audio-only file: 422 with the decoder's reason.
    @Test func undecodableBytesAre422() async throws {
        let video = Fixture.bytes(Fixture.video())
        // Noise; FFmpeg's reason varies with what its probes make of the bytes, so any reason will do.
        var state: UInt32 = 12345
        let garbage = ByteBuffer(bytes: (0..<4000).map { _ -> UInt8 in
            state = state &* 1_664_525 &+ 1_013_904_223
            return UInt8(truncatingIfNeeded: state >> 24)
        })
        let cases: [(String, ByteBuffer, String)] = [
            ("garbage", garbage, "upload: "),
            ("truncated", video.getSlice(at: 0, length: video.readableBytes / 2) ?? ByteBuffer(), "truncated"),
            ("empty", ByteBuffer(), "empty input"),
            ("audio only", Fixture.wav, "no video stream"),
        ]
        try await server.makeApplication().test(.router) { client in
            for (name, body, reason) in cases {
                let response = try await post(client, body: body)
                #expect(response.status == .unprocessableContent && response.errorCode == "undecodable_video", "\(name)")
                let message = response.json["error"]["message"].string ?? ""
                #expect(message.contains(reason), "\(name): \(message)")
                #expect(!message.contains(".upload"), "the spool path stays private: \(message)")
            }
        }
    }

    @Test func oversizedUploadIs413() async throws {
        try await server.makeApplication().test(.router) { client in
            let response = try await post(client, body: ByteBuffer(repeating: 0, count: 300 << 10))
            #expect(response.status == .contentTooLarge && response.errorCode == "payload_too_large")
            #expect(response.headers[.connection] == "close")
        }
    }

    /// Every upload is removed, whether it was labelled or refused.
    @Test func uploadsAreRemoved() async throws {
        let options = Fixture.options()
        let server = try Fixture.server(options)
        try await server.makeApplication().test(.router) { client in
            _ = try await post(client)
            _ = try await post(client, body: Fixture.wav)
            _ = try await post(client, body: ByteBuffer(string: "not a video"))
        }
        let spool = options.stateDirectory.appendingPathComponent("uploads")
        #expect(try FileManager.default.contentsOfDirectory(atPath: spool.path).isEmpty)
    }

    /// Requests at once get the same labels as one at a time (shared model, separate uploads).
    @Test func concurrentRequestsAgree() async throws {
        try await server.makeApplication().test(.router) { client in
            let alone = try await post(client).json["labels"][0]["score"].double
            let scores = try await withThrowingTaskGroup(of: Double?.self) { group in
                for _ in 0..<6 { group.addTask { try await post(client).json["labels"][0]["score"].double } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(scores.count == 6 && scores.allSatisfy { $0 == alone })
        }
    }
}

/// A two-stream checkpoint served like any model: the server computes the flow it needs.
@Suite struct TwoStreamServingTests {
    @Test func aTwoStreamModelLabelsUploads() async throws {
        let models = Fixture.scratch("two-stream-models")
        let preset = try ModelZoo.preset(named: "two_stream_tsn_tiny")
        var info = CheckpointInfo(preset: preset.name, classNames: ["translate_left", "translate_right"], input: preset.input)
        info.fusion = TwoStream.Fusion(rgbWeight: 1, flowWeight: 1.5, softmax: true)
        try FileManager.default.createDirectory(at: models.appendingPathComponent("both"), withIntermediateDirectories: true)
        try Checkpoint.save(model: preset.build(classes: 2, seed: 4), info: info,
                            to: models.appendingPathComponent("both/model.safetensors"))
        let server = try Fixture.server(Fixture.options { $0.modelsDirectory = models })
        try await server.makeApplication().test(.router) { client in
            let response = try await client.execute(uri: "/v1/predict?model=both&top_k=2", method: .post,
                                                    headers: [.contentType: "video/mp4"], body: Fixture.bytes(Fixture.video()))
            #expect(response.status == .ok)
            #expect(response.json["model"].string == "both")
            let scores = response.json["labels"].array.compactMap { $0["score"].double }
            #expect(scores.count == 2 && abs(scores.reduce(0, +) - 1) < 1e-4)
        }
    }
}
