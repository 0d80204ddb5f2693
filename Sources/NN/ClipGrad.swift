import Engine

/// Scales all gradients together so that their global L2 norm is at most `maxNorm`
/// (torch.nn.utils.clip_grad_norm_): with total = ‖all gradients‖₂, each gradient is multiplied by
/// maxNorm / (total + 1e-6) when that is below 1. Returns the total norm before clipping.
/// Parameters without a gradient are ignored.
@discardableResult
public func clipGradNorm(_ parameters: [Tensor], maxNorm: Float) -> Float {
    let grads = parameters.compactMap(\.grad)
    var sumSquares: Double = 0
    for g in grads {
        let p = g.data
        for i in 0..<g.count { let v = Double(p[i]); sumSquares += v * v }
    }
    let total = Float(sumSquares.squareRoot())
    let scale = maxNorm / (total + 1e-6)
    if scale < 1 {
        for g in grads {
            let p = g.data
            for i in 0..<g.count { p[i] *= scale }
        }
    }
    return total
}

@discardableResult
public func clipGradNorm(_ parameters: [(String, Tensor)], maxNorm: Float) -> Float {
    clipGradNorm(parameters.map { $0.1 }, maxNorm: maxNorm)
}
