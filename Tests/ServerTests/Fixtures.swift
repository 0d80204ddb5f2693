import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Server
import Synth
import Testing
import Training
@testable import Inference
import Video

/// Everything the server tests share, made once per test process: a tiny synthetic dataset
/// (2 motion classes × 4 videos of 16 frames at 64², one of each class for validation) as the
/// data root, and a models folder with two untrained mc3_18_tiny checkpoints (`default` and
/// `other`) plus a folder without one.
enum Fixture {
    static let root: URL = {
        FFmpegLogLevel.error.apply()
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("motive-server-\(getpid())")
        let data = root.appendingPathComponent("data")
        var options = SynthOptions()
        options.classes = 2; options.perClass = 4; options.frames = 16; options.size = 64; options.seed = 3; options.valFraction = 0.25
        do {
            _ = try SynthDataset.generate(into: data.path, options: options)
            for (name, file, seed) in [("default", "model.safetensors", 1), ("other", "best.safetensors", 2)] {
                let folder = root.appendingPathComponent("models/\(name)")
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
                var config = try ConfigLoader.parse(jobYAML(epochs: 1, dataRoot: data))
                config.train.seed = UInt64(seed)
                try Trainer(config: config, data: try TrainingData.load(config.data)).save(to: folder.appendingPathComponent(file))
            }
            try FileManager.default.createDirectory(at: root.appendingPathComponent("models/empty"), withIntermediateDirectories: true)
        } catch {
            fatalError("cannot make the server test fixtures: \(error)")
        }
        return root
    }()

    static var dataRoot: URL { root.appendingPathComponent("data") }
    static var modelsDirectory: URL { root.appendingPathComponent("models") }

    /// A video of the dataset (translate_left or translate_right).
    static func video(_ name: String = "translate_left/translate_left_0000.mp4") -> URL {
        dataRoot.appendingPathComponent("videos/\(name)")
    }

    static func bytes(_ url: URL) -> ByteBuffer {
        ByteBuffer(bytes: (try? Data(contentsOf: url)) ?? Data())
    }

    /// A tiny training job on the dataset; paths relative to the data root unless `dataRoot` is given.
    static func jobYAML(epochs: Int = 1, dataRoot: URL? = nil, extra: String = "") -> String {
        let prefix = dataRoot.map { $0.path + "/" } ?? ""
        return """
        model: {preset: mc3_18_tiny}
        data:
          train_list: \(prefix)train.txt
          val_list: \(prefix)val.txt
          batch_size: 4
          workers: 2
          train_pipeline: {transforms: [{resize_short_side: {side: 64}}, {centre_crop: {size: 64}}], normalization: kinetics}
        optimizer: {type: adamw, lr: 0.002, weight_decay: 0}
        schedule: {epochs: \(epochs), policy: constant}
        train: {seed: 5}
        """ + extra
    }

    /// A fresh state folder.
    static func scratch(_ name: String = "state") -> URL {
        let url = root.appendingPathComponent("\(name)-\(UUID().uuidString.prefix(8))")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func options(state: URL? = nil, _ configure: (inout ServerOptions) -> Void = { _ in }) -> ServerOptions {
        var options = ServerOptions(stateDirectory: state ?? scratch(), dataRoot: dataRoot)
        options.modelsDirectory = modelsDirectory
        options.port = 0
        options.inferenceThreads = 1
        if let motive = motiveExecutable { options.jobLauncher = JobLauncher(executable: motive, arguments: ["serve", "run-job"]) }
        configure(&options)
        return options
    }

    static func server(_ options: ServerOptions, logger: Logger = quietLogger) throws -> MotiveServer {
        try MotiveServer(options: options, logger: logger)
    }

    /// The `motive` executable built next to this test bundle (`<products>/motive`), or
    /// `MOTIVE_BINARY`: servers train jobs with it, and the end-to-end test runs it.
    static let motiveExecutable: URL? = {
        if let path = ProcessInfo.processInfo.environment["MOTIVE_BINARY"] { return URL(fileURLWithPath: path) }
        let starts = [URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath(), Bundle.main.bundleURL,
                      URL(fileURLWithPath: CommandLine.arguments[0])]
        for start in starts {
            var folder = start.deletingLastPathComponent()
            for _ in 0..<4 {
                let candidate = folder.appendingPathComponent("motive")
                var isDirectory: ObjCBool = false
                if FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDirectory), !isDirectory.boolValue { return candidate }
                folder.deleteLastPathComponent()
            }
        }
        return nil
    }()

    static let quietLogger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }

    /// 0.1 s of 8 kHz mono PCM in a WAV file: a container with audio and no video.
    static let wav: ByteBuffer = {
        let samples = (0..<800).flatMap { i -> [UInt8] in
            let v = Int16(sin(Double(i) * 0.2) * 8000)
            return [UInt8(truncatingIfNeeded: v), UInt8(truncatingIfNeeded: v >> 8)]
        }
        func le32(_ v: Int) -> [UInt8] { (0..<4).map { UInt8((v >> (8 * $0)) & 0xFF) } }
        func le16(_ v: Int) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }
        let fmt = le16(1) + le16(1) + le32(8000) + le32(16000) + le16(2) + le16(16)
        let wav = Array("RIFF".utf8) + le32(4 + 8 + fmt.count + 8 + samples.count) + Array("WAVE".utf8)
            + Array("fmt ".utf8) + le32(fmt.count) + fmt + Array("data".utf8) + le32(samples.count) + samples
        return ByteBuffer(bytes: wav)
    }()

    /// A multipart/form-data body with `fields` (name, content type, bytes).
    static func multipart(_ fields: [(name: String, type: String, bytes: ByteBuffer)], boundary: String = "motive-test-boundary") -> ByteBuffer {
        var body = ByteBuffer()
        for field in fields {
            body.writeString("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(field.name)\"; filename=\"\(field.name).bin\"\r\n")
            body.writeString("Content-Type: \(field.type)\r\n\r\n")
            var bytes = field.bytes
            body.writeBuffer(&bytes)
            body.writeString("\r\n")
        }
        body.writeString("--\(boundary)--\r\n")
        return body
    }
}

/// A decoded JSON response.
struct JSON {
    let value: Any?

    init(_ response: TestResponse) {
        value = try? JSONSerialization.jsonObject(with: Data(response.body.readableBytesView))
    }

    init(_ value: Any?) { self.value = value }

    subscript(_ key: String) -> JSON { JSON((value as? [String: Any])?[key]) }
    subscript(_ index: Int) -> JSON {
        guard let array = value as? [Any], index < array.count else { return JSON(nil) }
        return JSON(array[index])
    }

    var string: String? { value as? String }
    var int: Int? { value as? Int }
    var double: Double? { value as? Double }
    var array: [JSON] { (value as? [Any])?.map(JSON.init) ?? [] }
    var count: Int { (value as? [Any])?.count ?? 0 }
}

extension TestResponse {
    var json: JSON { JSON(self) }
    var text: String { String(buffer: body) }
    /// The error code of an error envelope.
    var errorCode: String? { json["error"]["code"].string }
}

extension HTTPFields {
    static func contentType(_ value: String) -> HTTPFields { [.contentType: value] }
}

/// A header name, reached through the re-exported `HTTPFields`.
typealias HeaderName = HTTPFields.Element.Name
