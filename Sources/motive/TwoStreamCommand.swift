import ArgumentParser
import Foundation
import Inference
import Training
import Zoo

/// `motive two-stream RGB FLOW --out FILE`: one checkpoint of two trained streams.
struct TwoStreamCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "two-stream",
        abstract: "Join a trained RGB TSN and a trained flow TSN into one two-stream checkpoint (late fusion).",
        discussion: """
        motive two-stream runs/tsn_r18_tiny runs/tsn_r18_flow_tiny --out Models/two-stream/model.safetensors
        The result labels raw videos (flow is computed on the fly) with `motive predict`, `motive eval` and the server.
        """)

    @Argument(help: "The RGB stream: a run directory or checkpoint of tsn_r50 or tsn_r18_tiny.") var rgb: String
    @Argument(help: "The flow stream: a run directory or checkpoint of tsn_r50_flow or tsn_r18_flow_tiny.") var flow: String
    @Option(help: "Where to write the two-stream checkpoint (.safetensors).") var out: String
    @OptionGroup var fusion: FusionOptions

    func run() throws {
        let info = try TwoStreamJoin.write(rgb: CheckpointLocator.resolve(rgb), flow: CheckpointLocator.resolve(flow),
                                           fusion: fusion.value, to: URL(fileURLWithPath: out))
        print("wrote \(info.preset) (\(info.classNames.count) classes, RGB : flow = \(fusion.rgbWeight) : \(fusion.flowWeight)"
              + (fusion.softmax ? " on softmax scores" : " on raw scores") + ") to \(out)")
    }
}

/// How two streams' scores are fused (`two-stream`, `eval --flow`).
struct FusionOptions: ParsableArguments {
    @Option(name: .customLong("rgb-weight"), help: "Weight of the RGB stream's scores.") var rgbWeight: Float = 1
    @Option(name: .customLong("flow-weight"), help: "Weight of the flow stream's scores (TSN: 1.5).") var flowWeight: Float = 1.5
    @Flag(help: "Softmax each stream's scores before fusing (TSN fuses raw scores).") var softmax = false

    func validate() throws {
        guard rgbWeight >= 0, flowWeight >= 0, rgbWeight + flowWeight > 0, rgbWeight.isFinite, flowWeight.isFinite else {
            throw ValidationError("--rgb-weight and --flow-weight must be ≥ 0 and not both 0")
        }
    }

    var value: TwoStream.Fusion { TwoStream.Fusion(rgbWeight: rgbWeight, flowWeight: flowWeight, softmax: softmax) }
}
