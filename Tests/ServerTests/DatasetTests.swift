import Datasets
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Server
import Synth
import Testing

/// `/v1/datasets`: a user with HTTP alone uploads a dataset, trains on it and predicts; hostile
/// archives are refused with nothing left behind.
@Suite(.serialized) struct DatasetTests {
    /// A packed synthetic dataset (2 classes × 4 videos, lists included) and its source folder.
    static let packed: (archive: URL, source: URL) = {
        let folder = Fixture.scratch("dataset-source")
        let source = folder.appendingPathComponent("tiny")
        var options = SynthOptions()
        options.classes = 2; options.perClass = 4; options.frames = 16; options.size = 64; options.seed = 11; options.valFraction = 0.25
        do {
            _ = try SynthDataset.generate(into: source.path, options: options)
            let archive = folder.appendingPathComponent("tiny.tar.gz")
            _ = try ArchivePacker.pack(source, to: archive)
            return (archive, source)
        } catch {
            fatalError("cannot pack the dataset fixture: \(error)")
        }
    }()

    /// Options with a data root of its own, so that no other test's server sees its datasets.
    static func options(launcher: Bool = true, _ configure: (inout ServerOptions) -> Void = { _ in }) -> ServerOptions {
        Fixture.options { options in
            options.dataRoot = Fixture.scratch("dataset-root")
            if !launcher { options.jobLauncher = nil }
            configure(&options)
        }
    }

    static func datasetFolder(_ options: ServerOptions) -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: options.dataRoot.appendingPathComponent("datasets").path)) ?? []
    }

    func upload(_ client: some TestClientProtocol, _ name: String, _ body: ByteBuffer, query: String = "",
                token: String? = nil) async throws -> TestResponse {
        var headers: HTTPFields = [.contentType: "application/gzip"]
        if let token { headers[.authorization] = "Bearer \(token)" }
        return try await client.execute(uri: "/v1/datasets/\(name)\(query)", method: .put, headers: headers, body: body)
    }

    func waitForDataset(_ client: some TestClientProtocol, _ name: String, timeout: Double = 90) async throws -> JSON {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let view = try await client.execute(uri: "/v1/datasets/\(name)", method: .get).json
            if let state = view["state"].string, state != "checking" { return view }
            if Date() > deadline {
                Issue.record("dataset \(name) still checking after \(timeout) s")
                return view
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// The whole loop over HTTP: upload, check, train on `dataset: NAME`, predict with the model.
    @Test func uploadCheckTrainPredict() async throws {
        let options = Self.options()
        let server = try Fixture.server(options)
        try await server.makeApplication().test(.router) { client in
            let accepted = try await upload(client, "tiny", Fixture.bytes(Self.packed.archive))
            #expect(accepted.status == .accepted, "\(accepted.text)")
            #expect(accepted.json["name"].string == "tiny" && accepted.json["state"].string == "checking")
            #expect(accepted.json["check_job"].string != nil)

            let dataset = try await waitForDataset(client, "tiny")
            #expect(dataset["state"].string == "ready", "\(dataset)")
            let report = dataset["report"]
            #expect(report["classes"].count == 2 && report["videos"].int == 8 && report["readable"].int == 8)
            #expect((report["total_seconds"].double ?? 0) > 0 && report["unreadable"].count == 0)
            let listed = try await client.execute(uri: "/v1/datasets", method: .get).json["datasets"]
            #expect(listed.array.map { $0["name"].string } == ["tiny"])

            let yaml = """
            model: {preset: mc3_18_tiny}
            data:
              dataset: tiny
              batch_size: 4
              workers: 2
              train_pipeline: {transforms: [{resize_short_side: {side: 64}}, {centre_crop: {size: 64}}], normalization: kinetics}
            optimizer: {type: adamw, lr: 0.002, weight_decay: 0}
            schedule: {epochs: 1, policy: constant}
            output: {model_name: from-upload}
            """
            let created = try await client.submitJob(yaml)
            #expect(created.status == .created, "\(created.text)")
            let id = try #require(created.json["id"].string)
            // The dataset is in use while the job is queued or running.
            let busy = try await client.execute(uri: "/v1/datasets/tiny", method: .delete)
            let job = try await client.waitForJob(id, in: ["succeeded", "failed"])
            #expect(job["state"].string == "succeeded", "\(job["error"].string ?? "")")
            #expect(job["dataset"].string == "tiny")
            if job["state"].string == "succeeded", busy.status != .conflict {
                Issue.record("DELETE during the job answered \(busy.status), not 409 (the job may have finished first)")
            }

            let video = Self.packed.source.appendingPathComponent("videos/translate_left/translate_left_0000.mp4")
            let predicted = try await client.execute(uri: "/v1/predict?model=from-upload", method: .post,
                                                     headers: .contentType("video/mp4"), body: Fixture.bytes(video))
            #expect(predicted.status == .ok && predicted.json["model"].string == "from-upload", "\(predicted.text)")

            let deleted = try await client.execute(uri: "/v1/datasets/tiny", method: .delete)
            #expect(deleted.status == .ok)
            let r1 = try await client.execute(uri: "/v1/datasets/tiny", method: .get)
            #expect(r1.status == .notFound)
            #expect(Self.datasetFolder(options).isEmpty, "\(Self.datasetFolder(options))")
        }
    }

    /// Unreadable videos are listed and the dataset is still ready, with a warning.
    @Test func unreadableVideosAreListed() async throws {
        let folder = Fixture.scratch("dataset-broken")
        let source = folder.appendingPathComponent("broken")
        try FileManager.default.copyItem(at: Self.packed.source, to: source)
        try Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 31) }).write(to: source.appendingPathComponent("videos/junk.mp4"))
        let train = try String(contentsOf: source.appendingPathComponent("train.txt"), encoding: .utf8)
        try (train + "videos/junk.mp4 0\n").write(to: source.appendingPathComponent("train.txt"), atomically: true, encoding: .utf8)
        let archive = folder.appendingPathComponent("broken.tar.gz")
        _ = try ArchivePacker.pack(source, to: archive)

        let server = try Fixture.server(Self.options())
        try await server.makeApplication().test(.router) { client in
            let r2 = try await upload(client, "broken", Fixture.bytes(archive))
            #expect(r2.status == .accepted)
            let dataset = try await waitForDataset(client, "broken")
            #expect(dataset["state"].string == "ready")
            #expect(dataset["report"]["unreadable"].array.map { $0["path"].string } == ["videos/junk.mp4"])
            #expect(!dataset["report"]["warnings"].array.isEmpty)
        }
    }

    /// Each hostile archive is a 4xx naming the reason, and nothing of it stays in the data root.
    @Test func hostileArchivesAreRefused() async throws {
        let options = Self.options { $0.maxDatasetBytes = 4 << 20; $0.maxDatasetFiles = 50 }
        let server = try Fixture.server(options)
        let valid = try Data(contentsOf: Self.packed.archive)
        let bomb = Tar.gzip(Tar.member("train.txt", data: Data("x.mp4 0\n".utf8)) + Tar.member("x.mp4", data: Data(count: 16 << 20)) + Tar.end)
        let many = Tar.gzip((0..<200).map { Tar.member("f\($0).txt", data: Data()) }.reduce(Data(), +) + Tar.end)
        let cases: [(String, Data, HTTPResponse.Status, String)] = [
            ("zip-slip", Tar.member("../../x.mp4", data: Data("x".utf8)) + Tar.end, .badRequest, "unsafe_path"),
            ("absolute", Tar.member("/etc/x", data: Data("x".utf8)) + Tar.end, .badRequest, "unsafe_path"),
            ("symlink", Tar.member("etc", type: "2", link: "/etc") + Tar.end, .badRequest, "link_in_archive"),
            ("hardlink", Tar.member("a", data: Data("a".utf8)) + Tar.member("b", type: "1", link: "a") + Tar.end, .badRequest, "link_in_archive"),
            ("bomb", bomb, .contentTooLarge, "too_large"),
            ("many", many, .contentTooLarge, "too_many_files"),
            ("truncated", valid.prefix(valid.count / 2), .badRequest, "malformed_archive"),
            ("not-an-archive", Data("just text, no archive here".utf8), .badRequest, "unknown_format"),
            ("no-lists", Tar.member("videos/a.mp4", data: Data("a".utf8)) + Tar.end, .unprocessableContent, "missing_train_list"),
        ]
        try await server.makeApplication().test(.router) { client in
            for (name, body, status, code) in cases {
                let response = try await upload(client, name, ByteBuffer(bytes: body))
                #expect(response.status == status && response.errorCode == code, "\(name): \(response.status) \(response.text)")
                #expect(Self.datasetFolder(options).isEmpty, "\(name) left \(Self.datasetFolder(options))")
            }
            let r3 = try await client.execute(uri: "/v1/datasets", method: .get)
            #expect(r3.json["datasets"].count == 0)
            let badName = try await upload(client, "Bad.Name", Fixture.bytes(Self.packed.archive))
            #expect(badName.status == .badRequest && badName.errorCode == "invalid_name")
            let badFormat = try await upload(client, "x", Fixture.bytes(Self.packed.archive), query: "?format=imagenet")
            #expect(badFormat.status == .badRequest && badFormat.errorCode == "bad_parameter")
        }
    }

    /// Two uploads to one name: the second is 409. A job on a dataset that is not ready is 409;
    /// on one that does not exist, 400. A queued check keeps the dataset from being deleted.
    @Test func conflicts() async throws {
        // No launcher: the check job is never run, so the dataset stays checking, then (once the
        // worker finds no way to run it) invalid.
        let server = try Fixture.server(Self.options(launcher: false))
        try await server.makeApplication().test(.router) { client in
            let body = Fixture.bytes(Self.packed.archive)
            async let first = upload(client, "same", body)
            async let second = upload(client, "same", body)
            let statuses = [try await first.status, try await second.status].map(\.code).sorted()
            #expect(statuses == [202, 409], "\(statuses)")
            let r4 = try await upload(client, "same", body)
            #expect(r4.errorCode == "dataset_exists")

            let dataset = try await waitForDataset(client, "same")
            #expect(dataset["state"].string == "invalid" && dataset["error"].string != nil)
            let job = try await client.submitJob(Fixture.jobYAML().replacingOccurrences(of: "  train_list: train.txt\n  val_list: val.txt\n",
                                                                                         with: "  dataset: same\n"))
            #expect(job.status == .conflict && job.errorCode == "dataset_not_ready", "\(job.text)")
            let unknown = try await client.submitJob(Fixture.jobYAML().replacingOccurrences(of: "  train_list: train.txt\n  val_list: val.txt\n",
                                                                                             with: "  dataset: nothing\n"))
            #expect(unknown.status == .badRequest && unknown.errorCode == "dataset_not_found", "\(unknown.text)")
            let both = try await client.submitJob(Fixture.jobYAML().replacingOccurrences(of: "  val_list: val.txt\n", with: "  dataset: same\n"))
            #expect(both.status == .badRequest)
            let r5 = try await client.execute(uri: "/v1/datasets/same", method: .delete)
            #expect(r5.status == .ok)
        }
    }

    /// An upload cut short (the client sends half the announced body, then stops) is refused,
    /// leaves nothing in the data root, and frees its name for the next upload.
    @Test func truncatedUploadLeavesNothing() async throws {
        let options = Self.options(launcher: false)
        let server = try Fixture.server(options)
        let archive = Array(try Data(contentsOf: Self.packed.archive))
        try await server.makeApplication().test(.live) { client in
            let port = try #require(client.port)
            let answer = try await RawConnection.onThread {
                let connection = try RawConnection(port: port)
                _ = connection.send("PUT /v1/datasets/cut HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/gzip\r\n"
                                    + "Content-Length: \(archive.count)\r\n\r\n")
                _ = connection.send(Array(archive.prefix(archive.count / 2)))
                connection.shutdownWrite()
                return connection.readToEnd()
            }
            #expect(!answer.hasPrefix("HTTP/1.1 202"), "\(answer)")
            #expect(Self.datasetFolder(options).isEmpty, "\(Self.datasetFolder(options))")
            let retried = try await client.execute(uri: "/v1/datasets/cut", method: .put, headers: [.contentType: "application/gzip"],
                                                   body: ByteBuffer(bytes: archive))
            #expect(retried.status == .accepted, "\(retried.status) \(String(buffer: retried.body))")
        }
    }

    /// The token guards every dataset route.
    @Test func tokenGuardsDatasets() async throws {
        let server = try Fixture.server(Self.options(launcher: false) { $0.token = "secret" })
        try await server.makeApplication().test(.router) { client in
            let r6 = try await client.execute(uri: "/v1/datasets", method: .get)
            #expect(r6.status == .unauthorized)
            let r7 = try await client.execute(uri: "/v1/datasets/x", method: .get)
            #expect(r7.status == .unauthorized)
            let r8 = try await client.execute(uri: "/v1/datasets/x", method: .delete)
            #expect(r8.status == .unauthorized)
            let r9 = try await upload(client, "x", Fixture.bytes(Self.packed.archive))
            #expect(r9.status == .unauthorized)
            let r10 = try await upload(client, "x", Fixture.bytes(Self.packed.archive), token: "secret")
            #expect(r10.status == .accepted)
        }
    }
}

/// Hand-made tar members, for archives no packer would write.
enum Tar {
    static func member(_ name: String, type: Character = "0", link: String = "", data: Data = Data()) -> Data {
        var header = [UInt8](repeating: 0, count: 512)
        func put(_ text: String, at offset: Int, width: Int) {
            for (i, b) in text.utf8.prefix(width).enumerated() { header[offset + i] = b }
        }
        func octal(_ value: Int, width: Int) -> String {
            let digits = String(value, radix: 8)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        func octal(_ value: Int, at offset: Int, width: Int) { put(octal(value, width: width - 1), at: offset, width: width - 1) }
        put(name, at: 0, width: 100)
        octal(0o644, at: 100, width: 8)
        octal(0, at: 108, width: 8)
        octal(0, at: 116, width: 8)
        octal(data.count, at: 124, width: 12)
        octal(0, at: 136, width: 12)
        put("        ", at: 148, width: 8)
        header[156] = type.asciiValue ?? 0x30
        put(link, at: 157, width: 100)
        put("ustar", at: 257, width: 6)
        put("00", at: 263, width: 2)
        let sum = header.reduce(0) { $0 + Int($1) }
        put(octal(sum, width: 6), at: 148, width: 6)
        header[154] = 0
        header[155] = 0x20
        let padding = (512 - data.count % 512) % 512
        return Data(header) + data + Data(count: padding)
    }

    static let end = Data(count: 1024)

    /// `data` compressed by gzip(1), which every Debian system has.
    static func gzip(_ data: Data) -> Data {
        let folder = Fixture.scratch("gzip")
        let input = folder.appendingPathComponent("in.tar"), output = folder.appendingPathComponent("in.tar.gz")
        try? data.write(to: input)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/gzip")
        process.arguments = ["-k", "-f", input.path]
        try? process.run()
        process.waitUntilExit()
        return (try? Data(contentsOf: output)) ?? Data()
    }
}
