import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Server
import Testing
import Training
@testable import Inference
import Video
import Zoo

/// The one predict path: the same video and checkpoint through `motive predict`'s entry
/// (`Predictor.load` + `predict`), `POST /v1/predict` in process and `motive eval`'s entry
/// (`Evaluator.run`) give identical scores, for an RGB model, a flow model (live TV-L1) and a
/// two-stream model, with several views and a timeline. "Identical" is to within 1e-6: the
/// engine's parallel kernels may sum in another order from one forward pass to the next.
@Suite struct OnePathTests {
    static let models: URL = {
        let folder = Fixture.scratch("one-path-models")
        do {
            try FileManager.default.createDirectory(at: folder.appendingPathComponent("rgb"), withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: Fixture.modelsDirectory.appendingPathComponent("default/model.safetensors"),
                                             to: folder.appendingPathComponent("rgb/model.safetensors"))
            for (name, preset) in [("flow", "tsn_r18_flow_tiny"), ("two-stream", "two_stream_tsn_tiny")] {
                let p = try ModelZoo.preset(named: preset)
                try FileManager.default.createDirectory(at: folder.appendingPathComponent(name), withIntermediateDirectories: true)
                try Checkpoint.save(model: p.build(classes: 2, seed: 5),
                                    info: CheckpointInfo(preset: p.name, classNames: ["translate_left", "translate_right"], input: p.input),
                                    to: folder.appendingPathComponent("\(name)/model.safetensors"))
            }
        } catch {
            fatalError("cannot make the one-path models: \(error)")
        }
        return folder
    }()

    @Test(arguments: ["rgb", "flow", "two-stream"])
    func predictServeAndEvalAgree(model name: String) async throws {
        let folder = Self.models.appendingPathComponent(name).path
        let video = Fixture.video()
        // motive predict --model FOLDER --views 2x3 --window 0.32s --stride 160ms --top-k 2
        let (predictor, _) = try Predictor.load(.checkpoint(folder), ViewOverrides(views: (clips: 2, crops: 3)))
        let cli = try predictor.predict(file: video.path, PredictionRequest(topK: 2, timeline: (0.32, 0.16)))
        #expect(cli.views == "2x3" && cli.labels.count == 2)
        let timeline = try #require(cli.timeline)
        #expect(!timeline.isEmpty)

        // POST /v1/predict?model=NAME&views=2x3&window=0.32s&stride=160ms&top_k=2
        let server = try Fixture.server(Fixture.options { $0.modelsDirectory = Self.models })
        try await server.makeApplication().test(.router) { client in
            let response = try await client.execute(uri: "/v1/predict?model=\(name)&views=2x3&window=0.32s&stride=160ms&top_k=2",
                                                    method: .post, headers: [.contentType: "video/mp4"], body: Fixture.bytes(video))
            #expect(response.status == .ok)
            let json = response.json
            let served = json["labels"].array.map { ($0["index"].int ?? -1, $0["score"].double ?? -1) }
            #expect(served.map(\.0) == cli.labels.map(\.index))
            #expect(Self.same(served.map(\.1), cli.labels.map(\.score)), "\(name): served \(served), predicted \(cli.labels)")
            let windows = json["timeline"].array
            #expect(windows.count == timeline.count)
            for (w, entry) in zip(windows, timeline) {
                #expect(w["start"].double == entry.start && w["end"].double == entry.end)
                #expect(Self.same(w["labels"].array.map { $0["score"].double ?? -1 }, entry.labels.map(\.score)))
            }
        }

        // motive eval FOLDER --data LIST --views 2x3
        let list = Fixture.scratch("one-path-\(name)").appendingPathComponent("val.txt")
        try FileManager.default.createDirectory(at: list.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data("translate_left/translate_left_0000.mp4 0\n".utf8).write(to: list)
        // Five views per forward pass: the evaluator's chunking is part of what is compared.
        let result = try Evaluator.run(predictor, listPath: list.path, root: Fixture.dataRoot.appendingPathComponent("videos").path, batchSize: 5)
        #expect(result.failed.isEmpty, "\(result.failed)")
        try #require(result.videos.count == 1)
        #expect(result.videos[0].labels.map(\.index) == cli.labels.map(\.index))
        #expect(Self.same(result.videos[0].labels.map(\.score), cli.labels.map(\.score)), "\(result.videos[0].labels) vs \(cli.labels)")
        if name == "two-stream" { #expect(Set(result.streams.keys) == ["rgb", "flow"]) }
    }

    /// The same scores, up to the order of a parallel sum.
    static func same(_ a: [Double], _ b: [Double]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= 1e-6 }
    }
}
