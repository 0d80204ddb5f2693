import Engine
import Foundation
import Inference
import NN
import Training
import Zoo

/// What `GET /v1/models` says about a model.
public struct ModelSummary: Codable, Sendable, Equatable {
    public var name: String
    public var preset: String
    public var classes: [String]
    public var input: ModelInput
    public var parameters: Int
    /// Per view, one multiply-add counted as one FLOP.
    public var gflops: Double
    /// Test views of a request without `views=`, "CLIPSxCROPS".
    public var views: String
    /// Where it came from: `models` (the --models folder) or `job`.
    public var source: String
    public var job: String?
    public var epoch: Int
    public var loadSeconds: Double

    enum CodingKeys: String, CodingKey {
        case name, preset, classes, input, parameters, gflops, views, source, job, epoch, loadSeconds = "load_seconds"
    }
}

/// A model's input per view, as the API spells it.
public struct ModelInput: Codable, Sendable, Equatable {
    /// Frames per view (segments for TSN/TSM), of `size`² pixels.
    public var frames: Int
    public var size: Int
    public var normalization: String
    public var clipLength: Int
    public var frameInterval: Int
    public var clips: Int

    enum CodingKeys: String, CodingKey {
        case frames, size, normalization, clipLength = "clip_length", frameInterval = "frame_interval", clips
    }

    init(_ spec: InputSpec) {
        (frames, size, normalization) = (spec.frames, spec.size, spec.normalization.rawValue)
        (clipLength, frameInterval, clips) = (spec.clipLength, spec.frameInterval, spec.clips)
    }
}

/// A loaded checkpoint ready to serve: its predictor for the default views and one for every
/// other view plan a request may ask for. They share one model in evaluation mode; all of them
/// are made before the model is published, so no request ever changes the shared model.
public final class ServedModel: Sendable {
    public let summary: ModelSummary
    public let checkpoint: URL
    let predictor: Predictor
    private let predictorsByViews: [String: Predictor]

    /// Clips a request may ask for with `views=`.
    static let clipRange = 1...10

    /// Reads `checkpoint`, builds its model and counts its FLOPs on one view.
    public init(name: String, checkpoint: URL, source: String, job: String? = nil) throws {
        let start = Date()
        let (model, info) = try Checkpoint.loadModel(checkpoint)
        let predictor = Predictor(model: model, info: info)
        let view = Tensor.zeros(info.input.shape)
        let flops = model.flops(input: view).total
        var byViews: [String: Predictor] = [:]
        for clips in Self.clipRange {
            for crops in [1, 3, 10] {
                // The checkpoint's plan with other views, so everything else it says about
                // testing (averaging, normalisation, flow) still holds.
                let plan = predictor.plan.with(clips: clips, crops: crops)
                byViews[plan.views] = predictor.with(plan: plan)
            }
        }
        self.predictor = predictor
        self.predictorsByViews = byViews
        self.checkpoint = checkpoint
        summary = ModelSummary(name: name, preset: info.preset, classes: info.classNames, input: ModelInput(info.input),
                               parameters: model.parameters().reduce(0) { $0 + $1.count }, gflops: Double(flops) / 1e9,
                               views: predictor.plan.views, source: source, job: job,
                               epoch: info.epoch, loadSeconds: Date().timeIntervalSince(start))
    }

    /// The predictor for `views` ("CLIPSxCROPS"), or the default one.
    func predictor(views: String?) throws(APIError) -> Predictor {
        guard let views else { return predictor }
        guard let (clips, crops) = ViewPlan.parseViews(views), Self.clipRange.contains(clips),
              let chosen = predictorsByViews["\(clips)x\(crops)"] else {
            throw .badRequest("views must look like CLIPSxCROPS with clips 1…\(Self.clipRange.upperBound) and crops 1, 3 or 10, got \(views)",
                              code: "bad_parameter")
        }
        return chosen
    }
}
