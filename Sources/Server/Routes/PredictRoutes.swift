import Foundation
import Hummingbird
import NIOCore
import Inference
import Training

/// `POST /v1/predict`, and TorchServe's inference API over the same path: `POST` (or `PUT`)
/// `/predictions/{model}` with the video as the body answers `{label: probability}` for the top
/// k, best first, as TorchServe's default classification handler does.
struct PredictRoutes: Sendable {
    let models: ModelRegistry
    let pool: InferencePool
    /// Uploads being received (`--max-uploads`).
    let uploads: AdmissionGate
    /// Predictions waiting for or running inference, their uploads complete (`--max-concurrent`).
    let gate: AdmissionGate
    let spool: UploadSpool
    let receiver: UploadReceiver
    let metrics: ServerMetrics
    let retryAfter: Int

    func register(on table: RouteTable) {
        table.on(.post, "/v1/predict") { request, context in try await predict(request, context: context) }
        // `curl -T video.mp4` (TorchServe's own example) sends a PUT with no content type.
        for method in [HTTPRequest.Method.post, .put] {
            table.on(method, "/predictions/{model}") { request, context in
                let name = try context.parameters.require("model")
                let (_, labels) = try await label(request, context: context, model: name, rawWhenUntyped: true)
                return Self.torchServeAnswer(labels.labels)
            }
        }
    }

    /// `{"zoom_in": 0.99, "static": 0.0002, …}` in the order given: a JSON object, best label first.
    static func torchServeAnswer(_ labels: [LabelScore]) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        let fields = labels.compactMap { label -> String? in
            guard let key = try? encoder.encode(label.label), let value = try? encoder.encode(label.score) else { return nil }
            return String(decoding: key, as: UTF8.self) + ": " + String(decoding: value, as: UTF8.self)
        }
        return Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
                        body: .init(byteBuffer: ByteBuffer(string: "{" + fields.joined(separator: ", ") + "}")))
    }

    struct Answer: Encodable {
        struct Timing: Encodable {
            var decode: Double
            var infer: Double
            var timeline: Double?
            var total: Double
        }
        let requestID: String
        let model: String
        let labels: [LabelScore]
        let views: String
        let timingMs: Timing
        let timeline: [TimelineEntry]?

        enum CodingKeys: String, CodingKey {
            case requestID = "request_id", model, labels, views, timingMs = "timing_ms", timeline
        }
    }

    func predict(_ request: Request, context: ServerContext) async throws -> Response {
        let start = ContinuousClock.now
        let query = request.uri.queryParameters
        let (model, result) = try await label(request, context: context, model: query["model"].map(String.init), rawWhenUntyped: false)
        let total = ContinuousClock.now - start
        let timing = Answer.Timing(decode: Self.ms(result.decodeSeconds), infer: Self.ms(result.inferSeconds),
                                   timeline: result.timelineSeconds.map(Self.ms),
                                   total: Self.ms(Double(total.components.seconds) + Double(total.components.attoseconds) / 1e18))
        return try .json(Answer(requestID: context.requestID, model: model.summary.name, labels: result.labels,
                                views: result.views, timingMs: timing, timeline: result.timeline))
    }

    /// Receives the upload and labels it through the one predict path, with the query's
    /// `views`, `top_k`, `window` and `stride`. `rawWhenUntyped`: a body without a content type
    /// is the video itself.
    func label(_ request: Request, context: ServerContext, model name: String?, rawWhenUntyped: Bool) async throws -> (ServedModel, Prediction) {
        var bodyRead = false
        do {
            let query = request.uri.queryParameters
            let model = try await models.resolve(name)
            let predictor = try model.predictor(views: query["views"].map(String.init))
            let labelRequest = try Self.labelRequest(query["top_k"].map(String.init), window: query["window"].map(String.init),
                                                     stride: query["stride"].map(String.init))
            let contentType = request.headers[.contentType]
            let format = try contentType == nil && rawWhenUntyped ? .raw : UploadFormat.of(contentType: contentType)
            // An upload holds only an upload place while it arrives; it joins inference once complete,
            // so slow senders cannot keep predictions out.
            let received = try await uploads.withAdmission {
                try await spool.withUploadPath { path in
                    let bytes = try await receiver.receive(request, format: format, to: path, context: context)
                    bodyRead = true
                    context.logger.debug("upload received", metadata: ["bytes": .stringConvertible(bytes)])
                    return try await gate.withAdmission {
                        try await pool.run { try VideoLabeler.label(file: path, with: predictor, labelRequest) }
                    }
                }
            }
            guard let admitted = received else { throw APIError.tooManyUploads(limit: uploads.limit, retryAfter: retryAfter) }
            guard let result = admitted else { throw APIError.overloaded(limit: gate.limit, retryAfter: retryAfter) }
            metrics.recordPredictionStage("decode", duration: .seconds(result.decodeSeconds))
            metrics.recordPredictionStage("infer", duration: .seconds(result.inferSeconds))
            if let t = result.timelineSeconds { metrics.recordPredictionStage("timeline", duration: .seconds(t)) }
            return (model, result)
        } catch var error as APIError where !bodyRead && request.hasBody {
            // Refused before reading the upload: do not read the rest of it either.
            error.closesConnection = true
            throw error
        }
    }

    static func ms(_ seconds: Double) -> Double { (seconds * 1e4).rounded() / 10 }

    /// `top_k` (1…1000, default 5), `window` and `stride` ("2s", "500ms"; stride defaults to the window).
    static func labelRequest(_ topK: String?, window: String?, stride: String?) throws(APIError) -> PredictionRequest {
        var request = PredictionRequest()
        if let topK {
            guard let k = Int(topK), (1...1000).contains(k) else { throw .badRequest("top_k must be an integer 1…1000, got \(topK)", code: "bad_parameter") }
            request.topK = k
        }
        if stride != nil, window == nil { throw .badRequest("stride needs window", code: "bad_parameter") }
        if let window {
            guard let w = parseDuration(window) else { throw .badRequest("window must look like 2s or 500ms, got \(window)", code: "bad_parameter") }
            let s = try stride.map { text throws(APIError) in
                guard let s = parseDuration(text) else { throw .badRequest("stride must look like 1s or 500ms, got \(text)", code: "bad_parameter") }
                return s
            } ?? w
            request.timeline = (w, s)
        }
        return request
    }
}
