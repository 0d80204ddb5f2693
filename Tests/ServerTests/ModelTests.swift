import Foundation
import Hummingbird
import HummingbirdTesting
@testable import Server
import Testing
import Training

/// `GET /v1/models` and `/v1/models/{name}`, and which model answers without `model=`.
@Suite struct ModelTests {
    /// A checkpoint whose weights hold a NaN is not served: its folder is skipped at start, and
    /// loading it names the tensor, instead of every prediction failing with 500 later.
    @Test func checkpointsWithNonFiniteWeightsAreNotServed() async throws {
        let models = Fixture.scratch("models")
        let folder = models.appendingPathComponent("poisoned")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let config = try ConfigLoader.parse(Fixture.jobYAML(epochs: 1, dataRoot: Fixture.dataRoot))
        let trainer = try Trainer(config: config, data: try TrainingData.load(config.data))
        let (key, tensor) = trainer.model.stateDict()[5]
        tensor.data[tensor.count - 1] = .nan
        let checkpoint = folder.appendingPathComponent("model.safetensors")
        try trainer.save(to: checkpoint)
        #expect {
            _ = try ServedModel(name: "poisoned", checkpoint: checkpoint, source: "models")
        } throws: { error in
            "\(error)".contains("\"\(key)\" holds nan at element \(tensor.count - 1)")
        }
        let server = try Fixture.server(Fixture.options { $0.modelsDirectory = models })
        #expect(server.models.all.isEmpty)
    }

    @Test func listsTheModelsFolder() async throws {
        let server = try Fixture.server(Fixture.options())
        try await server.makeApplication().test(.router) { client in
            let list = try await client.execute(uri: "/v1/models", method: .get)
            #expect(list.status == .ok)
            let models = list.json["models"].array
            #expect(models.compactMap { $0["name"].string } == ["default", "other"], "the folder without a checkpoint is skipped")
            let first = models[0]
            #expect(first["preset"].string == "mc3_18_tiny")
            #expect(first["classes"].array.compactMap(\.string) == ["translate_left", "translate_right"])
            #expect(first["input"]["frames"].int == 8 && first["input"]["size"].int == 64 && first["input"]["clip_length"].int == 8)
            #expect((first["parameters"].int ?? 0) > 100_000)
            #expect((first["gflops"].double ?? 0) > 0.1)
            #expect(first["source"].string == "models")

            let one = try await client.execute(uri: "/v1/models/other", method: .get)
            #expect(one.status == .ok && one.json["name"].string == "other")
            let missing = try await client.execute(uri: "/v1/models/nope", method: .get)
            #expect(missing.status == .notFound && missing.errorCode == "model_not_found")
        }
    }

    /// Without `model=`: the only model when there is one; with several and none named
    /// `default`, a 404 that lists them.
    @Test func defaultModelChoice() async throws {
        let folder = Fixture.scratch("solo")
        let only = folder.appendingPathComponent("only")
        try FileManager.default.createDirectory(at: only, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: Fixture.modelsDirectory.appendingPathComponent("other/best.safetensors"),
                                         to: only.appendingPathComponent("weights.safetensors"))
        let solo = try Fixture.server(Fixture.options { $0.modelsDirectory = folder })
        try await solo.makeApplication().test(.router) { client in
            let response = try await client.execute(uri: "/v1/predict", method: .post, headers: .contentType("video/mp4"),
                                                    body: Fixture.bytes(Fixture.video()))
            #expect(response.status == .ok && response.json["model"].string == "only")
        }

        let pair = Fixture.scratch("pair")
        for name in ["a", "b"] {
            try FileManager.default.createDirectory(at: pair.appendingPathComponent(name), withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: only.appendingPathComponent("weights.safetensors"),
                                             to: pair.appendingPathComponent("\(name)/last.safetensors"))
        }
        let two = try Fixture.server(Fixture.options { $0.modelsDirectory = pair })
        try await two.makeApplication().test(.router) { client in
            let response = try await client.execute(uri: "/v1/predict", method: .post, headers: .contentType("video/mp4"),
                                                    body: Fixture.bytes(Fixture.video()))
            #expect(response.status == .notFound && response.errorCode == "model_not_found")
            #expect(response.json["error"]["message"].string?.contains("a, b") == true)
        }
    }
}
