import Engine
import Foundation
import Video

/// How one annotated video becomes a sample tensor: sample frame indices, decode them, transform.
public struct SampleRecipe: Sendable {
    public var sampler: FrameSampler
    public var pipeline: ClipPipeline
    /// File names inside a frame folder (rawframe lists), for FFmpeg's image2 demuxer.
    public var frameTemplate: String
    public var readerOptions: ReaderOptions
    /// Set for optical flow: a list entry is a folder of flow frames, and a sample is a stack of
    /// `sampler.clipLength` flow frames per segment (see `loadFlow`); an entry that is a video
    /// file gets its flow computed (`liveFlow`).
    public var flow: FlowFrames?
    /// Set for two-stream models (the RGB part's normalisation): entries are videos, and each
    /// segment is an RGB frame beside its live flow stack (see `twoStreamSample`).
    public var twoStreamRGB: Normalization?
    /// How flow is computed from videos, for flow and two-stream recipes.
    public var liveFlow = FlowExtractionOptions()
    /// TV-L1 threads per sample when loading: 1, because the loader's workers already run in parallel.
    public var flowThreads = 1

    public init(sampler: FrameSampler, pipeline: ClipPipeline, frameTemplate: String = "img_%05d.jpg",
                readerOptions: ReaderOptions = .init(), flow: FlowFrames? = nil) {
        self.sampler = sampler
        self.pipeline = pipeline
        self.frameTemplate = frameTemplate
        self.readerOptions = readerOptions
        self.flow = flow
    }

    /// The sample of one video: V × C × T × H × W with V = crops · clips, crop-major as in
    /// MMAction2 (crop 0 of every clip, then crop 1 …). All clips of a video share one random
    /// draw of each transform, as MMAction2 applies its pipeline to the whole frame list.
    public func load(_ item: Annotation, root: DataRoot, using rng: inout Xoshiro) throws -> Tensor {
        let url = try root.resolve(item.path)
        if let rgb = twoStreamRGB {
            return try twoStreamSample(VideoReader(path: url.path, options: readerOptions), options: liveFlow, rgb: rgb,
                                       threads: flowThreads, using: &rng)
        }
        if let flow {
            var directory: ObjCBool = false
            if FileManager.default.fileExists(atPath: url.path, isDirectory: &directory), !directory.boolValue {
                return try liveFlowSample(VideoReader(path: url.path, options: readerOptions), options: liveFlow,
                                          threads: flowThreads, using: &rng)
            }
            return try loadFlow(item, root: root, layout: flow, using: &rng)
        }
        let isFolder = item.frameCount != nil
        let reader = try isFolder
            ? VideoReader(frameFolder: url.path, template: frameTemplate, options: readerOptions)
            : VideoReader(path: url.path, options: readerOptions)
        guard reader.frameCount > 0 else { throw LoaderError.noFrames(item.path) }
        // Frame folders count from 1 (img_00001.jpg), as their lists do; the reader counts from 0.
        return try sample(reader, startIndex: isFolder ? 1 : 0, using: &rng)
    }

    /// The sample of an open video, or of the frames `window` of it (a timeline's window):
    /// V × C × T × H × W as in `load`.
    public func sample(_ reader: VideoReader, window: Range<Int>? = nil, startIndex start: Int = 0,
                       using rng: inout Xoshiro) throws -> Tensor {
        let frames = window ?? 0..<reader.frameCount
        guard !frames.isEmpty else { throw LoaderError.noFrames(reader.source) }
        let clips = sampler.indices(frameCount: frames.count, startIndex: start, using: &rng)
        let decoded = try reader.frames(at: clips.flatMap { $0 }.map { $0 - start + frames.lowerBound })
        try pipeline.checkCrops(frame: FrameSize(width: decoded.width, height: decoded.height))
        let views = pipeline(decoded, using: &rng)                 // M × C × (N·L) × H × W
        let m = views.shape[0], c = views.shape[1], h = views.shape[3], w = views.shape[4]
        let n = clips.count, l = sampler.clipLength
        return views.reshaped([m, c, n, l, h, w]).permuted([0, 2, 1, 3, 4, 5]).reshaped([m * n, c, l, h, w])
    }
}

public enum LoaderError: Error, CustomStringConvertible, Equatable {
    case noFrames(String)
    case allFailed(batch: Int)
    case notAFlowFolder(String)
    case flowMismatch(String, x: Int, y: Int)

    public var description: String {
        switch self {
        case .noFrames(let path): "\(path): the video has no frames"
        case .allFailed(let b): "every video of batch \(b) failed to load"
        case .notAFlowFolder(let path): "\(path): neither a folder of flow_x_*.jpg and flow_y_*.jpg (`motive flow` writes them) nor a video"
        case .flowMismatch(let path, let x, let y): "\(path): \(x) x-flow frames but \(y) y-flow frames"
        }
    }
}
