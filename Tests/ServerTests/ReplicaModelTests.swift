import Foundation
import Hummingbird
import HummingbirdTesting
@testable import Server
import Testing

/// Replicas sharing a models folder: a model that appears in the folder is served on the first
/// request that names it or after `POST /v1/models/rescan`, a folder that fails to load is tried
/// again once its checkpoint changes, and the job replica (`--publish-models`) writes the model
/// of a finished job into the folder, where another replica finds it.
@Suite(.serialized) struct ReplicaModelTests {
    /// A models folder holding a copy of the fixtures' `default`.
    static func sharedFolder() throws -> URL {
        let folder = Fixture.scratch("shared-models")
        try FileManager.default.copyItem(at: Fixture.modelsDirectory.appendingPathComponent("default"),
                                         to: folder.appendingPathComponent("default"))
        return folder
    }

    /// Copies the fixtures' `other` checkpoint into `folder/name`, as a user or another replica would.
    static func addModel(_ name: String, to folder: URL) throws {
        let target = folder.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
        try? FileManager.default.removeItem(at: target.appendingPathComponent("model.safetensors"))
        try FileManager.default.copyItem(at: Fixture.modelsDirectory.appendingPathComponent("other/best.safetensors"),
                                         to: target.appendingPathComponent("model.safetensors"))
    }

    static func predict(_ client: some TestClientProtocol, model: String) async throws -> TestResponse {
        try await client.execute(uri: "/v1/predict?model=\(model)", method: .post, headers: .contentType("video/mp4"),
                                 body: Fixture.bytes(Fixture.video()))
    }

    @Test func aRequestNamingANewModelLoadsIt() async throws {
        let folder = try Self.sharedFolder()
        let server = try Fixture.server(Fixture.options { $0.modelsDirectory = folder })
        try await server.makeApplication().test(.router) { client in
            #expect(try await Self.predict(client, model: "late").status == .notFound)
            try Self.addModel("late", to: folder)
            let predicted = try await Self.predict(client, model: "late")
            #expect(predicted.status == .ok && predicted.json["model"].string == "late")
            try Self.addModel("described", to: folder)
            let described = try await client.execute(uri: "/v1/models/described", method: .get)
            #expect(described.status == .ok && described.json["source"].string == "models")
            let names = try await client.execute(uri: "/v1/models", method: .get).json["models"].array.compactMap { $0["name"].string }
            #expect(names == ["default", "described", "late"])
        }
    }

    /// A checkpoint that does not load (here: half a file, as a copy in progress leaves it) is
    /// 404 and is not loaded again until it changes; once whole, it is served.
    @Test func aBrokenFolderIsTriedAgainOnceItChanges() async throws {
        let folder = try Self.sharedFolder()
        let server = try Fixture.server(Fixture.options { $0.modelsDirectory = folder })
        let whole = try Data(contentsOf: Fixture.modelsDirectory.appendingPathComponent("other/best.safetensors"))
        let partial = folder.appendingPathComponent("copying/model.safetensors")
        try FileManager.default.createDirectory(at: partial.deletingLastPathComponent(), withIntermediateDirectories: true)
        try whole.prefix(whole.count / 2).write(to: partial)
        try await server.makeApplication().test(.router) { client in
            #expect(try await Self.predict(client, model: "copying").status == .notFound)
            #expect(server.models.rescan().isEmpty, "the same broken file is loaded again")
            try whole.write(to: partial)
            #expect(try await Self.predict(client, model: "copying").status == .ok)
        }
    }

    @Test func rescanLoadsNewModelsOnly() async throws {
        let folder = try Self.sharedFolder()
        let server = try Fixture.server(Fixture.options { $0.modelsDirectory = folder; $0.token = "s3cret" })
        try await server.makeApplication().test(.router) { client in
            let token: HTTPFields = [.authorization: "Bearer s3cret"]
            #expect(try await client.execute(uri: "/v1/models/rescan", method: .post).status == .unauthorized)
            let none = try await client.execute(uri: "/v1/models/rescan", method: .post, headers: token)
            #expect(none.status == .ok && none.json["added"].array.isEmpty)
            try Self.addModel("fresh", to: folder)
            let once = try await client.execute(uri: "/v1/models/rescan", method: .post, headers: token).json
            #expect(once["added"].array.compactMap(\.string) == ["fresh"])
            #expect(once["models"].array.compactMap(\.string) == ["default", "fresh"])
            let twice = try await client.execute(uri: "/v1/models/rescan", method: .post, headers: token).json
            #expect(twice["added"].array.isEmpty)
        }
    }

    /// A job trained on the job replica is served by the other one, which has never heard of it,
    /// as soon as the job is seen to succeed.
    @Test func aJobModelReachesTheOtherReplica() async throws {
        let folder = try Self.sharedFolder()
        let jobs = try Fixture.server(Fixture.options { $0.modelsDirectory = folder; $0.publishJobModels = true })
        let other = try Fixture.server(Fixture.options { $0.modelsDirectory = folder })
        try await jobs.makeApplication().test(.router) { jobClient in
            try await other.makeApplication().test(.router) { otherClient in
                let id = try #require(try await jobClient.submitJob(Fixture.jobYAML(epochs: 1)).json["id"].string)
                let job = try await jobClient.waitForJob(id, in: ["succeeded", "failed"])
                #expect(job["state"].string == "succeeded", "\(job["error"].string ?? "")")
                let predicted = try await Self.predict(otherClient, model: "job-\(id)")
                #expect(predicted.status == .ok && predicted.json["model"].string == "job-\(id)")
                let model = try await otherClient.execute(uri: "/v1/models/job-\(id)", method: .get).json
                #expect(model["source"].string == "models" && model["epoch"].int == 1)
            }
        }
        let published = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        #expect(published == ["default", "job-1"], "hidden staging folders are left behind")
        #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("job-1/model.safetensors").path))
    }
}
