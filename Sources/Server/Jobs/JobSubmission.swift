import Foundation
import Inference
import Training
import Zoo

/// Checks a submitted job config before it is queued: the trainer's own validation, then every
/// path confined (data lists, data root and starting weights to the data root; an absolute
/// output folder to the state folder, where the server puts every run anyway), then the lists
/// read once. Any failure is a 400 whose message names the key or the path.
struct JobSubmission: Sendable {
    let data: PathSandbox
    let state: PathSandbox

    /// The config to queue, its paths made absolute and real.
    func check(_ yaml: String) throws(APIError) -> JobConfig {
        var config: JobConfig
        do {
            config = try ConfigLoader.parse(yaml, file: "the job")
        } catch .unknownKey(path: "_base_", _) {
            throw .badRequest("_base_ is not read by the server: send the resolved job (`motive config JOB.yaml` prints it)",
                              code: "invalid_config")
        } catch {
            throw .badRequest("\(error)", code: "invalid_config")
        }
        config.data.trainList = try data.resolveExisting(config.data.trainList, key: "data.train_list")
        config.data.valList = try config.data.valList.map { path throws(APIError) in try data.resolveExisting(path, key: "data.val_list") }
        config.data.root = try config.data.root.map { path throws(APIError) in try data.resolveExisting(path, key: "data.root") }
        config.model.pretrained = try config.model.pretrained.map { path throws(APIError) in try data.resolveExisting(path, key: "model.pretrained") }
        config.model.inflateFrom = try config.model.inflateFrom.map { path throws(APIError) in try data.resolveExisting(path, key: "model.inflate_from") }
        if config.output.dir.hasPrefix("/") { _ = try state.resolveAnywhere(config.output.dir, key: "output.dir") }
        config.data.confinement = data.confinement
        do {
            let lists = try TrainingData.load(config.data)
            try ModelPreset.checkClasses(config.model.classes ?? lists.classNames.count)
            if let classes = config.model.classes, let label = (lists.train.items.map(\.label) + (lists.val?.items.map(\.label) ?? [])).max(),
               label >= classes {
                throw TrainingError.labelOutOfRange(label: label, classes: classes)
            }
        } catch {
            throw .badRequest("\(error)", code: "invalid_data")
        }
        return config
    }
}
