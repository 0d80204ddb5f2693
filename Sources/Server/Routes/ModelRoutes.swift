import Hummingbird

/// `GET /v1/models`, `GET /v1/models/{name}` and `POST /v1/models/rescan`.
struct ModelRoutes: Sendable {
    let models: ModelRegistry

    func register(on table: RouteTable) {
        table.on(.get, "/v1/models") { _, _ in
            struct List: Encodable { let models: [ModelSummary] }
            return try .json(List(models: models.all.map(\.summary)))
        }
        table.on(.get, "/v1/models/{name}") { _, context in
            let name = try context.parameters.require("name")
            guard let model = await models.find(name) else {
                throw APIError.notFound("no model named \(name); GET /v1/models lists them", code: "model_not_found")
            }
            return try .json(model.summary)
        }
        // Loads the models folder's new models now, rather than when a request first names one.
        table.on(.post, "/v1/models/rescan") { _, _ in
            struct Rescan: Encodable { let added: [String], models: [String] }
            let added = await onOwnThread(named: "motive-model-scan") { models.rescan() }
            return try .json(Rescan(added: added, models: models.all.map(\.summary.name)))
        }
    }
}
