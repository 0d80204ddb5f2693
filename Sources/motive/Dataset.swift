import ArgumentParser
import Clips
import Datasets
import Foundation
import Support
import Synth
import Video

struct DatasetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dataset",
        abstract: "Make or import datasets.",
        subcommands: [Synthesize.self, Import.self, DatasetCheckCommand.self, Pack.self])
}

/// `motive dataset synth`: the synthetic motion dataset.
struct Synthesize: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "synth",
        abstract: "Generate labelled videos whose classes differ only by motion (really encoded; no downloads).")

    @Option(help: "Output folder.") var out: String
    @Option(help: "Family: motion (10 camera-motion classes) or playback (forward/reversed × 1×/2×; needs --source).") var family = "motion"
    @Option(help: "Use the first N classes of the family.") var classes: Int?
    @Option(name: .customLong("per-class"), help: "Videos per class.") var perClass = 100
    @Option(help: "Frames per video.") var frames = 32
    @Option(help: "Frame width and height in pixels.") var size = 128
    @Option(help: "Frames per second.") var fps = 25
    @Option(help: "Seed: the same seed gives the same files.") var seed: UInt64 = 0
    @Option(name: .customLong("val-fraction"), help: "Share of each class written to val.txt.") var valFraction = 0.2
    @Option(help: "Codec: h264 (MP4; MPEG-4 Part 2 if no H.264 encoder), hevc, vp9, mpeg4, mjpeg.") var codec = "h264"
    @Option(name: .customLong("source"), parsing: .upToNextOption, help: "Real videos: textures for motion, footage for playback.") var sources: [String] = []

    func run() throws {
        guard let fam = SynthOptions.Family(rawValue: family) else {
            throw CLIError("--family must be one of \(SynthOptions.Family.allCases.map(\.rawValue).joined(separator: ", ")), got \(family)")
        }
        guard let videoCodec = VideoCodec(rawValue: codec) else {
            throw CLIError("--codec must be one of \(VideoCodec.allCases.map(\.rawValue).joined(separator: ", ")), got \(codec)")
        }
        var o = SynthOptions()
        o.family = fam; o.classes = classes; o.perClass = perClass; o.frames = frames; o.size = size
        o.fps = fps; o.seed = seed; o.valFraction = valFraction; o.codec = videoCodec; o.sources = sources
        let start = Date()
        let progress = Progress(label: "synth")
        let summary = try SynthDataset.generate(into: out, options: o) { done, total in progress.update(done, total) }
        progress.finish()
        print("wrote \(summary.train.count) train and \(summary.val.count) val videos of \(summary.classNames.count) classes "
              + "(\(summary.codec.rawValue)) to \(out) in \(String(format: "%.1f", Date().timeIntervalSince(start))) s")
    }
}

/// `motive dataset import …`: official split files → Motive's lists (`train.txt`, `val.txt`, `classes.txt`).
struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Turn a dataset's official split files into train.txt, val.txt and classes.txt.",
        discussion: """
            ucf101:   --splits DIR (classInd.txt, trainlist0N.txt, testlist0N.txt) [--split N]
            hmdb51:   --splits DIR (<class>_test_splitN.txt) [--split N]
            kinetics: --train CSV --val CSV [--class-folders]
            ssv2:     --train JSON --val JSON --labels JSON
            folders:  --root DIR (a folder per class; every video inside, all in train.txt)
            """)

    @Argument(help: "ucf101, hmdb51, kinetics, ssv2 or folders.") var dataset: String
    @Option(help: "Output folder for the lists.") var out: String
    @Option(help: "Folder of split files (ucf101, hmdb51).") var splits: String?
    @Option(help: "Split number (ucf101: 1–3, hmdb51: 1–3).") var split = 1
    @Option(help: "Training annotations (kinetics CSV, ssv2 JSON).") var train: String?
    @Option(help: "Validation annotations (kinetics CSV, ssv2 JSON).") var val: String?
    @Option(help: "ssv2 labels.json.") var labels: String?
    @Option(help: "Data root with a folder per class (folders).") var root: String?
    @Flag(name: .customLong("class-folders"), help: "kinetics: videos sit in <label>/ folders.") var classFolders = false

    func run() throws {
        func required(_ value: String?, _ flag: String) throws -> URL {
            guard let value else { throw CLIError("\(dataset) needs \(flag)") }
            return URL(fileURLWithPath: value)
        }
        let trainList: AnnotationList, valList: AnnotationList
        switch dataset {
        case "ucf101": (trainList, valList) = try UCF101.split(split, in: required(splits, "--splits DIR"))
        case "hmdb51": (trainList, valList) = try HMDB51.split(split, in: required(splits, "--splits DIR"))
        case "kinetics":
            trainList = try Kinetics.annotations(csv: required(train, "--train CSV"), classFolders: classFolders)
            valList = try Kinetics.annotations(csv: required(val, "--val CSV"), classes: trainList.classes, classFolders: classFolders)
        case "ssv2":
            let labelsURL = try required(labels, "--labels JSON")
            trainList = try SomethingSomethingV2.annotations(entries: required(train, "--train JSON"), labels: labelsURL)
            valList = try SomethingSomethingV2.annotations(entries: required(val, "--val JSON"), labels: labelsURL)
        case "folders":
            trainList = try DataRoot(path: required(root, "--root DIR").path).discoverClassFolders()
            valList = AnnotationList(items: [], classes: trainList.classes)
        default:
            throw CLIError("unknown dataset \(dataset): expected ucf101, hmdb51, kinetics, ssv2 or folders")
        }
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        try DatasetLayout.writeLists(train: trainList, val: valList, into: URL(fileURLWithPath: out))
        print("wrote \(trainList.count) train and \(valList.count) val entries of \(trainList.classes.count) classes to \(out)")
    }
}
