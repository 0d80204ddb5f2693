import Engine
import Video

/// Frames → normalised clip tensors: spatial and colour steps on bytes, then one normalisation.
///
/// A clip is one `FrameStack` (T frames). Multi-crop steps turn it into M views, so a test-time
/// video of N sampled clips becomes N·M rows, clip-major (clip 0's M views, then clip 1's…).
/// MMAction2's FormatShape orders them crop-major; test scores are averaged over all rows, so the
/// order matters only when comparing tensors with it.
public struct ClipPipeline: Codable, Sendable, Equatable {
    public var transforms: [ClipTransform]
    public var normalization: Normalization
    /// Set when the frames hold optical flow: mirrors then invert its x component. The sample
    /// recipe sets it from the data's modality; configs do not.
    public var flow: FlowLayout?

    enum CodingKeys: String, CodingKey { case transforms, normalization }

    public init(_ transforms: [ClipTransform], normalization: Normalization, flow: FlowLayout? = nil) {
        (self.transforms, self.normalization, self.flow) = (transforms, normalization, flow)
    }

    /// The views of one clip after every step, as bytes.
    public func views(_ clip: FrameStack, using rng: inout Xoshiro) -> [FrameStack] {
        transforms.reduce([clip]) { $1.apply($0, flow: flow, using: &rng) }
    }

    /// One clip: M × C × T × H × W.
    public func callAsFunction(_ clip: FrameStack, using rng: inout Xoshiro) -> Tensor {
        ClipBatch.stack(views(clip, using: &rng), normalization)
    }

    /// Several clips of one video (or of a batch): (N·M) × C × T × H × W, clip-major.
    public func callAsFunction(_ clips: [FrameStack], using rng: inout Xoshiro) -> Tensor {
        ClipBatch.stack(clips.flatMap { views($0, using: &rng) }, normalization)
    }
}
