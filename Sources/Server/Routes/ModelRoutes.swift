import Hummingbird

/// `GET /v1/models` and `GET /v1/models/{name}`.
struct ModelRoutes: Sendable {
    let models: ModelRegistry

    func register(on table: RouteTable) {
        table.on(.get, "/v1/models") { _, _ in
            struct List: Encodable { let models: [ModelSummary] }
            return try .json(List(models: models.all.map(\.summary)))
        }
        table.on(.get, "/v1/models/{name}") { _, context in
            let name = try context.parameters.require("name")
            guard let model = models.model(named: name) else {
                throw APIError.notFound("no model named \(name); GET /v1/models lists them", code: "model_not_found")
            }
            return try .json(model.summary)
        }
    }
}
