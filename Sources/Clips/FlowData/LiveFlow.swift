import Engine
import Flow
import Foundation
import Video

extension SampleRecipe {
    /// The sampled flow frames of a raw video (or of `window` of it), computed as `motive flow`
    /// writes them (quantised with the extraction's bound, without the JPEG's loss): TV-L1 runs
    /// only for the flow frames the sampler picks, flow frame k needing frames k and k + step.
    /// Also returns the sampled flow indices and the decoded frames they came from.
    func liveFlow(_ reader: VideoReader, window: Range<Int>?, options: FlowExtractionOptions, threads: Int,
                  using rng: inout Xoshiro) throws -> (x: FrameStack, y: FrameStack, indices: [Int], frames: [Int: FrameStack]) {
        try options.validate()
        let range = window ?? 0..<reader.frameCount
        let count = range.count - options.step
        guard count >= 1 else { throw FlowExtractionError.tooFewFrames(path: reader.source, frames: range.count, step: options.step) }
        let wanted = sampler.indices(frameCount: count, startIndex: 0, using: &rng).flatMap { $0 }
        let flows = Array(Set(wanted)).sorted()
        let needed = Array(Set(flows.flatMap { [$0, $0 + options.step] })).sorted()
        let size = options.flowSize(native: reader.info.displaySize)
        let decoded = try reader.frames(at: needed.map { $0 + range.lowerBound }, size: size)
        var gray: [Int: GrayImage] = [:], frames: [Int: FrameStack] = [:]
        for (i, k) in needed.enumerated() {
            gray[k] = try FlowExtraction.gray(decoded, i)
            frames[k] = decoded.frame(i)
        }
        let solver = try TVL1(options.parameters, threads: threads)
        var stacks: [Int: (x: FrameStack, y: FrameStack)] = [:]
        for k in flows {
            let flow: FlowField
            do { flow = try solver.flow(from: gray[k]!, to: gray[k + options.step]!) } catch {
                throw FlowExtractionError.flowFailed(path: reader.source, frame: k, reason: "\(error)")
            }
            stacks[k] = FlowExtraction.frames(flow, bound: options.bound)
        }
        return (FrameStack.concat(wanted.map { stacks[$0]!.x }), FrameStack.concat(wanted.map { stacks[$0]!.y }), wanted, frames)
    }

    /// A flow sample computed from a raw video, as `loadFlow` reads one from a flow folder:
    /// (V·N) × 2L × 1 × H × W.
    func liveFlowSample(_ reader: VideoReader, window: Range<Int>? = nil, options: FlowExtractionOptions,
                               threads: Int,
                               using rng: inout Xoshiro) throws -> Tensor {
        let flow = try liveFlow(reader, window: window, options: options, threads: threads, using: &rng)
        return try flowSample(x: flow.x, y: flow.y, using: &rng)
    }

    /// A two-stream sample of a raw video: for each of N segments, the RGB frame in the middle of
    /// its flow stack (normalised by `rgb`) beside the stack itself: (V·N) × (3 + 2L) × 1 × H × W.
    /// Both parts go through the same crops, so they show the same place.
    func twoStreamSample(_ reader: VideoReader, window: Range<Int>? = nil, options: FlowExtractionOptions,
                                rgb: Normalization, threads: Int,
                                using rng: inout Xoshiro) throws -> Tensor {
        let flow = try liveFlow(reader, window: window, options: options, threads: threads, using: &rng)
        let l = sampler.clipLength, segments = flow.indices.count / l
        let middle = (0..<segments).map { flow.frames[flow.indices[$0 * l] + l / 2]! }
        let frames = FrameStack.concat(middle)
        try pipeline.checkCrops(frame: FrameSize(width: frames.width, height: frames.height))
        var colour = pipeline
        colour.normalization = rgb
        colour.flow = nil
        var draw = rng                                              // the same crops for both parts
        let views = colour(frames, using: &draw)                     // M × 3 × N × H × W
        let (m, h, w) = (views.shape[0], views.shape[3], views.shape[4])
        let still = views.permuted([0, 2, 1, 3, 4]).reshaped([m * segments, 3, 1, h, w])
        let motion = try flowSample(x: flow.x, y: flow.y, using: &rng)   // (M·N) × 2L × 1 × H × W
        return Tensor.concat([still, motion], axis: 1)
    }
}
