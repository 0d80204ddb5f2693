import Benchmark
import Foundation
import Inference
import Training
import Zoo

/// Checks a submitted job before it is queued. A training config gets the trainer's own validation, then every
/// path confined (data lists, data root and starting weights to the data root; an absolute
/// output folder to the state folder, where the server puts every run anyway), then the lists
/// read once. Any failure is a 400 whose message names the key or the path.
struct JobSubmission: Sendable {
    let data: PathSandbox
    let state: PathSandbox
    /// The uploaded datasets that `data.dataset` names.
    var datasets: DatasetStore? = nil

    /// The job to queue, its paths made absolute and real: a training config, or (`kind:
    /// bench`) a bench spec. `servedCheckpoint` gives the checkpoint of a served model's name.
    func check(_ yaml: String, servedCheckpoint: (String) -> URL? = { _ in nil }) throws(APIError) -> JobWork {
        let kind: String
        do { kind = try ConfigLoader.kind(of: yaml, file: "the job") } catch { throw .badRequest("\(error)", code: "invalid_config") }
        switch kind {
        case JobKind.train.rawValue: return .train(try checkTraining(yaml))
        case JobKind.bench.rawValue: return .bench(try checkBench(yaml, servedCheckpoint: servedCheckpoint))
        case JobKind.check.rawValue:
            throw .badRequest("kind: check jobs start when a dataset is uploaded (PUT /v1/datasets/NAME)", code: "invalid_config")
        default:
            throw .badRequest("kind: \(kind) is not a kind of job; use train or bench",
                              code: "invalid_config")
        }
    }

    /// A bench: its models are presets, served models (by name) or checkpoints and run folders
    /// inside the data root; its list and root are inside the data root, and so is every video
    /// it reads.
    func checkBench(_ yaml: String, servedCheckpoint: (String) -> URL?) throws(APIError) -> BenchSpec {
        var spec: BenchSpec
        do {
            spec = try ConfigLoader.parse(BenchSpec.self, yaml: yaml, file: "the job", keys: BenchSpec.keys)
        } catch {
            throw .badRequest("\(error)", code: "invalid_config")
        }
        spec.models = try spec.models.map { entry throws(APIError) in
            let (given, target) = BenchModel.split(entry)
            var label = given
            let resolved: String
            if (try? ModelZoo.preset(named: target)) != nil {
                resolved = target
            } else if let checkpoint = servedCheckpoint(target) {
                resolved = checkpoint.path
                label = label ?? target
            } else {
                let real = try data.resolveAnywhere(target, key: "models")
                guard FileManager.default.fileExists(atPath: real) else {
                    if target.contains("/") || target.hasSuffix(".safetensors") {
                        throw .badRequest("models: \(target) does not exist (relative paths are read from the data root)", code: "bad_path")
                    }
                    let suggestion = nearestMatch(target, among: ModelZoo.presets.map(\.name))
                    throw .badRequest("models: \(target) is not a preset, a served model or a path in the data root"
                                      + (suggestion.map { " (did you mean \"\($0)\"?)" } ?? ""), code: "invalid_config")
                }
                resolved = real
                label = label ?? URL(fileURLWithPath: target).lastPathComponent
            }
            return label.map { "\($0)=\(resolved)" } ?? resolved
        }
        spec.data = try spec.data.map { path throws(APIError) in try data.resolveExisting(path, key: "data") }
        spec.root = try spec.root.map { path throws(APIError) in try data.resolveExisting(path, key: "root") }
        spec.confinement = data.confinement
        do { try Bench.check(spec) } catch { throw .badRequest("\(error)", code: "invalid_config") }
        return spec
    }

    /// A training config.
    func checkTraining(_ yaml: String) throws(APIError) -> JobConfig {
        var config: JobConfig
        do {
            config = try ConfigLoader.parse(yaml, file: "the job")
        } catch .unknownKey(path: "_base_", _) {
            throw .badRequest("_base_ is not read by the server: send the resolved job (`motive config JOB.yaml` prints it)",
                              code: "invalid_config")
        } catch {
            throw .badRequest("\(error)", code: "invalid_config")
        }
        if let name = config.data.dataset {
            guard let datasets else { throw .badRequest("data.dataset: this server keeps no datasets", code: "invalid_config") }
            let lists = try datasets.listsForTraining(name)
            (config.data.trainList, config.data.valList, config.data.root) = (lists.train.path, lists.val?.path, lists.root.path)
        }
        config.data.trainList = try data.resolveExisting(config.data.trainList ?? "", key: "data.train_list")
        config.data.valList = try config.data.valList.map { path throws(APIError) in try data.resolveExisting(path, key: "data.val_list") }
        config.data.root = try config.data.root.map { path throws(APIError) in try data.resolveExisting(path, key: "data.root") }
        config.model.pretrained = try config.model.pretrained.map { path throws(APIError) in try data.resolveExisting(path, key: "model.pretrained") }
        config.model.inflateFrom = try config.model.inflateFrom.map { path throws(APIError) in try data.resolveExisting(path, key: "model.inflate_from") }
        if config.output.dir.hasPrefix("/") { _ = try state.resolveAnywhere(config.output.dir, key: "output.dir") }
        config.distributed.hostfile = try config.distributed.hostfile.map { path throws(APIError) in
            try data.resolveExisting(path, key: "distributed.hostfile")
        }
        if let processes = config.distributed.processes, processes > 1, MPIRunCommand.locate() == nil {
            throw .badRequest("distributed.processes: \(processes) needs Open MPI's mpirun on the server, and it has none (make deps installs openmpi-bin)",
                              code: "invalid_config")
        }
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
