import Engine
import NN

/// TSM for streaming (Lin et al. 2019, online variant): frames arrive one at a time, and every
/// block shifts only from the past. The first 1/8 of a block's input channels are replaced by the
/// same channels of the previous frame, kept in a per-stream cache; the rest pass unchanged.
///
/// Uses the weights of a `tsm_r50`-style `ResNet2D` as they are. One stream per instance.
public final class OnlineTSM {
    public let model: ResNet2D
    public let foldDiv: Int
    private var cache: [Tensor?]

    public init(_ model: ResNet2D, foldDiv: Int = 8) {
        self.model = model
        self.foldDiv = foldDiv
        cache = Array(repeating: nil, count: model.stages.reduce(0) { $0 + $1.blocks.count })
    }

    /// Starts a new stream: the next frame sees zeros as its past.
    public func reset() { cache = cache.map { _ in nil } }

    /// One frame [N, 3, H, W] → its logits [N, classes] (inference only).
    public func step(_ frame: Tensor) -> Tensor {
        ensure(frame.rank == 4 && frame.shape[1] == 3, "OnlineTSM: frame \(frame.shape) should be [N, 3, H, W]")
        return GradMode.noGrad {
            var y = model.bn1(model.conv1(frame)).relu()
            y = maxPool(y, kernel: [3, 3], stride: [2, 2], padding: [1, 1])
            var k = 0
            for stage in model.stages {
                for block in stage.blocks {
                    let c = y.shape[1], fold = c / foldDiv
                    let head = y.sliced(axis: 1, start: 0, end: fold)
                    let past = cache[k] ?? Tensor.zeros(head.shape)
                    cache[k] = head.copy()
                    let shifted = Tensor.concat([past, y.sliced(axis: 1, start: fold, end: c)], axis: 1)
                    y = block.forward(y, branchInput: shifted)
                    k += 1
                }
            }
            return model.head(globalAvgPool(y), training: false)
        }
    }
}
