import Engine
import Foundation
import Video

/// What a sample is made of, by the model's modality.
public enum SampleSource: Sendable {
    /// RGB frames of a video or a frame folder.
    case rgb
    /// Stacks of `sampler.clipLength` flow frames per segment: read from a flow folder (`motive
    /// flow` writes them), or computed from a video (`liveFlow`).
    case flow(FlowFrames)
    /// Each segment's RGB frame (normalised by `rgb`) beside its live flow stack (see `twoStreamSample`).
    case twoStream(rgb: Normalization)
}

/// How one annotated video becomes a sample tensor: sample frame indices, decode them, transform.
public struct SampleRecipe: Sendable {
    public var sampler: FrameSampler
    public var pipeline: ClipPipeline
    public var source: SampleSource
    /// File names inside a frame folder (rawframe lists), for FFmpeg's image2 demuxer.
    public var frameTemplate: String
    public var readerOptions: ReaderOptions
    /// How flow is computed from videos, for flow and two-stream recipes.
    public var liveFlow = FlowExtractionOptions()
    /// TV-L1 threads per sample: 1 by default, because a loader's workers already run in parallel.
    /// Results do not depend on it.
    public var flowThreads = 1

    public init(sampler: FrameSampler, pipeline: ClipPipeline, source: SampleSource = .rgb, frameTemplate: String = "img_%05d.jpg",
                readerOptions: ReaderOptions = .init()) {
        self.sampler = sampler
        self.pipeline = pipeline
        self.source = source
        self.frameTemplate = frameTemplate
        self.readerOptions = readerOptions
    }

    /// The sample of one video: V × C × T × H × W with V = crops · clips, crop-major as in
    /// MMAction2 (crop 0 of every clip, then crop 1 …). All clips of a video share one random
    /// draw of each transform, as MMAction2 applies its pipeline to the whole frame list.
    public func load(_ item: Annotation, root: DataRoot, using rng: inout Xoshiro) throws -> Tensor {
        let url = try root.resolve(item.path)
        var directory: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: url.path, isDirectory: &directory)
        switch source {
        case .flow(let layout) where !exists || directory.boolValue:       // a missing entry is reported as not a flow folder
            return try loadFlow(item, root: root, layout: layout, using: &rng)
        case .rgb where item.frameCount != nil:
            let reader = try VideoReader(frameFolder: url.path, template: frameTemplate, options: readerOptions)
            guard reader.frameCount > 0 else { throw LoaderError.noFrames(item.path) }
            // Frame folders count from 1 (img_00001.jpg), as their lists do; the reader counts from 0.
            return try sample(reader, startIndex: 1, using: &rng)
        default:
            let reader = try VideoReader(path: url.path, options: readerOptions)
            guard reader.frameCount > 0 else { throw LoaderError.noFrames(item.path) }
            return try sample(reader, using: &rng)
        }
    }

    /// The sample of an open video, or of the frames `window` of it (a timeline's window):
    /// V × C × T × H × W as in `load`. The one place that turns a video into a sample by modality.
    public func sample(_ reader: VideoReader, window: Range<Int>? = nil, startIndex start: Int = 0,
                       using rng: inout Xoshiro) throws -> Tensor {
        switch source {
        case .rgb: return try rgbSample(reader, window: window, startIndex: start, using: &rng)
        case .flow: return try liveFlowSample(reader, window: window, options: liveFlow, threads: flowThreads, using: &rng)
        case .twoStream(let rgb): return try twoStreamSample(reader, window: window, options: liveFlow, rgb: rgb, threads: flowThreads, using: &rng)
        }
    }

    /// The sample of frames already decoded (a live stream's window), as `sample` makes it from
    /// a reader whose frames these are. RGB models only: flow needs the video's neighbouring frames.
    public func sample(frames: FrameStack, using rng: inout Xoshiro) throws -> Tensor {
        guard case .rgb = source else { throw LoaderError.rgbOnly }
        guard frames.count > 0 else { throw LoaderError.noFrames("<live frames>") }
        return try rgbSample(count: frames.count, startIndex: 0, using: &rng) { frames.frames($0) }
    }

    /// RGB frames of an open video: V × C × T × H × W as in `load`.
    func rgbSample(_ reader: VideoReader, window: Range<Int>?, startIndex start: Int, using rng: inout Xoshiro) throws -> Tensor {
        let frames = window ?? 0..<reader.frameCount
        guard !frames.isEmpty else { throw LoaderError.noFrames(reader.source) }
        return try rgbSample(count: frames.count, startIndex: start, using: &rng) { try reader.frames(at: $0.map { $0 + frames.lowerBound }) }
    }

    /// Samples clips from `count` frames and decodes them with `decode` (given 0-based positions
    /// among those frames): V × C × T × H × W.
    private func rgbSample(count: Int, startIndex start: Int, using rng: inout Xoshiro,
                           decode: ([Int]) throws -> FrameStack) throws -> Tensor {
        let clips = sampler.indices(frameCount: count, startIndex: start, using: &rng)
        let decoded = try decode(clips.flatMap { $0 }.map { $0 - start })
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
    /// Frames in memory make RGB samples only.
    case rgbOnly

    public var description: String {
        switch self {
        case .noFrames(let path): "\(path): the video has no frames"
        case .allFailed(let b): "every video of batch \(b) failed to load"
        case .notAFlowFolder(let path): "\(path): neither a folder of flow_x_*.jpg and flow_y_*.jpg (`motive flow` writes them) nor a video"
        case .flowMismatch(let path, let x, let y): "\(path): \(x) x-flow frames but \(y) y-flow frames"
        case .rgbOnly: "frames already decoded make RGB samples only; a flow or two-stream model needs a video file"
        }
    }
}
