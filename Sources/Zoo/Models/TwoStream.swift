import Engine
import NN

/// The two-stream network (Simonyan and Zisserman 2014, in TSN's form, Wang et al. 2016): a
/// spatial TSN on one RGB frame per segment and a temporal TSN on a stack of L optical-flow
/// frames per segment, fused late by a weighted sum of their class scores.
///
/// Input [N, 3 + 2L, K, H, W]: channels 0–2 are each segment's RGB frame, the next 2L its flow
/// stack (x and y interleaved). The streams' keys are their TSN keys under `rgb.` and `flow.`, so
/// checkpoints of the two separately trained streams make one two-stream checkpoint.
public final class TwoStream: VideoModel {
    /// How the streams' scores are combined.
    public struct Fusion: Codable, Sendable, Equatable {
        public var rgbWeight: Float
        public var flowWeight: Float
        /// Softmax each stream's logits before the weighted sum; TSN's own evaluation fuses raw scores.
        public var softmax: Bool

        /// RGB : flow = 1 : 1.5 on raw scores, as TSN.
        public init(rgbWeight: Float = 1, flowWeight: Float = 1.5, softmax: Bool = false) {
            (self.rgbWeight, self.flowWeight, self.softmax) = (rgbWeight, flowWeight, softmax)
        }
    }

    public let rgb: ResNet2D
    public let flow: ResNet2D
    public var fusion: Fusion

    public init(rgb: ResNet2D, flow: ResNet2D, fusion: Fusion = .init()) {
        precondition(rgb.config.inputChannels == 3 && flow.config.inputChannels % 2 == 0 && flow.config.inputChannels > 0,
                     "TwoStream: an RGB stream and a flow stream")
        precondition(rgb.config.segments == flow.config.segments && rgb.config.classes == flow.config.classes,
                     "TwoStream: the streams must agree on segments and classes")
        (self.rgb, self.flow, self.fusion) = (rgb, flow, fusion)
        super.init()
        registerModule("rgb", rgb)
        registerModule("flow", flow)
        heads = rgb.heads + flow.heads
    }

    /// Channels per segment: 3 + 2L.
    public override var inputChannels: Int { 3 + flow.config.inputChannels }

    /// The fused scores, and the `rgb` and `flow` streams' logits.
    public override func outputs(_ x: Tensor) -> ModelOutputs {
        let (a, b) = streams(x)
        return ModelOutputs(main: fuse(rgb: a, flow: b), streams: [("rgb", a), ("flow", b)])
    }

    public override func configure(fusion: Fusion) { self.fusion = fusion }

    /// [N, 3 + 2L, K, H, W] → the RGB part [N, 3, K, H, W] and the flow part [N, 2L, K, H, W].
    public func split(_ x: Tensor) -> (rgb: Tensor, flow: Tensor) {
        ensure(x.rank == 5 && x.shape[1] == inputChannels,
               "TwoStream: input \(x.shape) should be [N, \(inputChannels) = 3 + \(flow.config.inputChannels), K, H, W]")
        return (x.sliced(axis: 1, start: 0, end: 3), x.sliced(axis: 1, start: 3, end: inputChannels))
    }

    /// Each stream's logits [N, classes].
    public func streams(_ x: Tensor) -> (rgb: Tensor, flow: Tensor) {
        let (a, b) = split(x)
        return (rgb(a), flow(b))
    }

    /// The fused scores of the two streams' logits.
    public func fuse(rgb a: Tensor, flow b: Tensor) -> Tensor {
        let (s, t) = fusion.softmax ? (a.softmax(axis: 1), b.softmax(axis: 1)) : (a, b)
        return s * fusion.rgbWeight + t * fusion.flowWeight
    }

    /// [N, 3 + 2L, K, H, W] → [N, F_rgb + F_flow], both streams' consensus features side by side.
    public override func features(_ x: Tensor) -> Tensor {
        let (a, b) = split(x)
        return Tensor.concat([rgb.features(a), flow.features(b)], axis: 1)
    }

    /// [N, 3 + 2L, K, H, W] → fused class scores [N, classes].
    public override func forward(_ x: Tensor) -> Tensor {
        let (a, b) = streams(x)
        return fuse(rgb: a, flow: b)
    }

    public override func inputProblem(_ x: Tensor) -> String? {
        x.shape[2] == rgb.config.segments ? nil : "[N, \(inputChannels), \(rgb.config.segments) segments, H, W]"
    }
}
