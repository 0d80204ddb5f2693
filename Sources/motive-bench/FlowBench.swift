import ArgumentParser
import Flow
import Foundation

/// `motive-bench flow DIR`: TV-L1 frame pairs per second on the PGM pairs `bench/tvl1_opencv.py`
/// wrote (`pair_NN_0.pgm`, `pair_NN_1.pgm`), with the parameters in `DIR/parameters.json`. Writes
/// each flow to `DIR/motive_NN.flo` so the script can compare it with OpenCV's.
struct FlowBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "flow", abstract: "TV-L1 throughput (see bench/tvl1.sh).")

    @Argument(help: "Folder with pair_NN_0.pgm, pair_NN_1.pgm and parameters.json.") var folder: String
    @Option(help: "Timed passes over the pairs (the median is reported).") var repeats = 3
    @Option(help: "TV-L1 threads.") var threads = ProcessInfo.processInfo.activeProcessorCount

    struct Parameters: Decodable {
        let tau, lambda_, theta, epsilon, scaleStep, gamma: Double
        let nscales, warps, innerIterations, outerIterations, medianFiltering: Int
    }

    func run() throws {
        let dir = URL(fileURLWithPath: folder)
        let p = try JSONDecoder().decode(Parameters.self, from: Data(contentsOf: dir.appendingPathComponent("parameters.json")))
        let parameters = TVL1Parameters(tau: p.tau, lambda: p.lambda_, theta: p.theta, scales: p.nscales, warps: p.warps,
                                        epsilon: p.epsilon, innerIterations: p.innerIterations, outerIterations: p.outerIterations,
                                        scaleStep: p.scaleStep, gamma: p.gamma, medianFiltering: p.medianFiltering)
        var pairs: [(GrayImage, GrayImage)] = []
        while true {
            let stem = dir.appendingPathComponent(String(format: "pair_%02d", pairs.count)).path
            guard FileManager.default.fileExists(atPath: stem + "_0.pgm") else { break }
            pairs.append((try PGM.read(URL(fileURLWithPath: stem + "_0.pgm")), try PGM.read(URL(fileURLWithPath: stem + "_1.pgm"))))
        }
        guard !pairs.isEmpty else { throw ValidationError("no pair_00_0.pgm in \(folder)") }
        let solver = try TVL1(parameters, threads: threads)
        var flows: [FlowField] = []
        let seconds = medianSeconds(repeats: repeats) {
            flows = pairs.map { try! solver.flow(from: $0.0, to: $0.1) }
        }
        for (i, flow) in flows.enumerated() {
            try FloFile.write(flow, to: dir.appendingPathComponent(String(format: "motive_%02d.flo", i)))
        }
        emit([("bench", "tvl1"), ("size", "\(pairs[0].0.width)x\(pairs[0].0.height)"), ("pairs", pairs.count),
              ("threads", threads), ("pairs_per_s", Double(pairs.count) / seconds)])
    }
}
