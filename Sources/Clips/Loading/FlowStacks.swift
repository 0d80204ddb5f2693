import Engine
import Foundation
import Video

/// Where a video's optical flow lives: a folder of grey JPEGs, one per frame pair and component,
/// in the denseflow / MMAction2 layout (`flow_x_00001.jpg`, `flow_y_00001.jpg`, …), each
/// component clipped to ±bound and mapped linearly to 0–255.
public struct FlowFrames: Codable, Sendable, Equatable {
    public var xTemplate: String
    public var yTemplate: String

    public init(xTemplate: String = "flow_x_%05d.jpg", yTemplate: String = "flow_y_%05d.jpg") {
        (self.xTemplate, self.yTemplate) = (xTemplate, yTemplate)
    }
}

extension SampleRecipe {
    /// The flow sample of one folder: (V·N) × 2L × 1 × H × W for N segments of L flow frames
    /// and V crops, crop-major. Channels interleave x and y (x₁ y₁ x₂ y₂ …), as MMAction2's
    /// `NCHW_Flow` format does.
    func loadFlow(_ item: Annotation, root: DataRoot, layout: FlowFrames, using rng: inout Xoshiro) throws -> Tensor {
        let url = try root.resolve(item.path)
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder), isFolder.boolValue else {
            throw LoaderError.notAFlowFolder(item.path)              // missing: neither a folder nor a video
        }
        let x = try VideoReader(frameFolder: url.path, template: layout.xTemplate, options: readerOptions)
        let y = try VideoReader(frameFolder: url.path, template: layout.yTemplate, options: readerOptions)
        guard x.frameCount > 0 else { throw LoaderError.noFrames(item.path) }
        guard x.frameCount == y.frameCount else {
            throw LoaderError.flowMismatch(item.path, x: x.frameCount, y: y.frameCount)
        }
        // Flow folders count from 1 (flow_x_00001.jpg), as their lists do; the readers count from 0.
        let clips = sampler.indices(frameCount: x.frameCount, startIndex: 1, using: &rng)
        let indices = clips.flatMap { $0 }.map { $0 - 1 }
        return try flowSample(x: x.frames(at: indices), y: y.frames(at: indices), using: &rng)
    }

    /// Flow frames already decoded or computed (grey images as RGB bytes, one per sampled index,
    /// clip after clip) → (V·N) × 2L × 1 × H × W, as `loadFlow`.
    public func flowSample(x: FrameStack, y: FrameStack, using rng: inout Xoshiro) throws -> Tensor {
        precondition(x.count == y.count && x.width == y.width && x.height == y.height, "flowSample: x and y frames differ")
        let packed = FrameStack.packingFlow(x: x, y: y)
        try pipeline.checkCrops(frame: FrameSize(width: packed.width, height: packed.height))
        var flowPipeline = pipeline
        flowPipeline.flow = .channels
        let views = flowPipeline(packed, using: &rng)                // M × 3 × (N·L) × H × W
        let m = views.shape[0], h = views.shape[3], w = views.shape[4]
        let l = sampler.clipLength, n = views.shape[2] / l
        // Keep x (R) and y (G): [M, 2, N, L, H, W] → [M, N, L, 2, H, W] → [M·N, 2L, 1, H, W].
        return views.sliced(axis: 1, start: 0, end: 2).reshaped([m, 2, n, l, h, w])
            .permuted([0, 2, 3, 1, 4, 5]).reshaped([m * n, 2 * l, 1, h, w])
    }
}

extension FrameStack {
    /// Two grey stacks (any channel; R is read) as one stack with x in R, y in G and 128 in B, so
    /// that crops and resizes move both components together (`FlowLayout.channels`).
    public static func packingFlow(x: FrameStack, y: FrameStack) -> FrameStack {
        var pixels = [UInt8](repeating: 128, count: x.pixels.count)
        x.pixels.withUnsafeBufferPointer { xs in
            y.pixels.withUnsafeBufferPointer { ys in
                pixels.withUnsafeMutableBufferPointer { out in
                    for p in stride(from: 0, to: out.count, by: 3) {
                        out[p] = xs[p]
                        out[p + 1] = ys[p]
                    }
                }
            }
        }
        return FrameStack(count: x.count, height: x.height, width: x.width, pixels: pixels)
    }
}
