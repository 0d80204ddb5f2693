import Engine
import Flow
import Foundation
import Video

extension SampleRecipe {
    /// A flow sample computed from a raw video, as `loadFlow` reads one from a flow folder:
    /// (V·N) × 2L × 1 × H × W. TV-L1 runs only for the sampled flow frames (flow frame k needs
    /// frames k and k + step of the video, or of `window`), and each flow is quantised with the
    /// extraction's bound, as `motive flow` writes it (without the JPEG's loss).
    public func liveFlowSample(_ reader: VideoReader, window: Range<Int>? = nil, options: FlowExtractionOptions,
                               threads: Int = ProcessInfo.processInfo.activeProcessorCount,
                               using rng: inout Xoshiro) throws -> Tensor {
        try options.validate()
        let frames = window ?? 0..<reader.frameCount
        let count = frames.count - options.step
        guard count >= 1 else { throw FlowExtractionError.tooFewFrames(path: reader.source, frames: frames.count, step: options.step) }
        let wanted = sampler.indices(frameCount: count, startIndex: 0, using: &rng).flatMap { $0 }
        let flows = Array(Set(wanted)).sorted()
        let needed = Array(Set(flows.flatMap { [$0, $0 + options.step] })).sorted()
        let size = options.flowSize(native: reader.info.displaySize)
        let decoded = try reader.frames(at: needed.map { $0 + frames.lowerBound }, size: size)
        var gray: [Int: GrayImage] = [:]
        for (i, k) in needed.enumerated() { gray[k] = try FlowExtraction.gray(decoded, i) }
        let solver = try TVL1(options.parameters, threads: threads)
        var stacks: [Int: (x: FrameStack, y: FrameStack)] = [:]
        for k in flows {
            let flow: FlowField
            do { flow = try solver.flow(from: gray[k]!, to: gray[k + options.step]!) } catch {
                throw FlowExtractionError.flowFailed(path: reader.source, frame: k, reason: "\(error)")
            }
            stacks[k] = FlowExtraction.frames(flow, bound: options.bound)
        }
        return try flowSample(x: FrameStack.concat(wanted.map { stacks[$0]!.x }),
                              y: FrameStack.concat(wanted.map { stacks[$0]!.y }), using: &rng)
    }
}
