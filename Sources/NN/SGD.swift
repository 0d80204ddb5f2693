import Engine

/// Stochastic gradient descent with PyTorch's update rule (torch.optim.SGD):
///
///     d = g + λ·p                         (weight decay λ, when the parameter decays)
///     b = d on the first step, else μ·b + (1 − dampening)·d      (when μ ≠ 0)
///     d = d + μ·b with Nesterov, else b
///     p = p − lr·d
///
/// State: `<parameter>.momentum_buffer` once a parameter has momentum.
public final class SGD: Optimizer {
    public var learningRate: Float
    public var momentum: Float
    public var dampening: Float
    public var nesterov: Bool
    public var weightDecay: Float
    public let parameters: [(name: String, tensor: Tensor)]
    private let decays: [Bool]
    private var state: SlotTable

    public init(parameters: [(String, Tensor)], learningRate: Float, momentum: Float = 0, dampening: Float = 0,
                nesterov: Bool = false, weightDecay: Float = 0, decayPolicy: DecayPolicy = .all) {
        ensure(!nesterov || (momentum > 0 && dampening == 0), "SGD: Nesterov needs momentum > 0 and no dampening")
        self.parameters = parameters.map { (name: $0.0, tensor: $0.1) }
        self.learningRate = learningRate
        self.momentum = momentum
        self.dampening = dampening
        self.nesterov = nesterov
        self.weightDecay = weightDecay
        decays = parameters.map { decayPolicy.decays($0.1) }
        state = SlotTable(parameterNames: parameters.map { $0.0 }, slotNames: ["momentum_buffer"])
    }

    public func step() {
        Profiler.span(.optimizer) {
            GradMode.noGrad {
                for (i, (_, p)) in parameters.enumerated() {
                    guard let g = p.grad else { continue }
                    let lr = learningRate, mu = momentum, keep = 1 - dampening, nesterov = nesterov
                    let wd = decays[i] ? weightDecay : 0
                    let pp = p.data, pg = UnsafePointer(g.data)
                    if mu == 0 {
                        Parallel.forRanges(p.count, grain: updateGrain) { r in
                            for j in r { pp[j] -= lr * (pg[j] + wd * pp[j]) }
                        }
                        continue
                    }
                    let first = state.slots[i] == nil
                    if first { state.slots[i] = [Tensor.zeros(p.shape)] }
                    let pb = state.slots[i]![0].data
                    Parallel.forRanges(p.count, grain: updateGrain) { r in
                        for j in r {
                            let d = pg[j] + wd * pp[j]
                            let b = first ? d : mu * pb[j] + keep * d
                            pb[j] = b
                            pp[j] -= lr * (nesterov ? d + mu * b : b)
                        }
                    }
                }
            }
        }
    }

    public func stateDict() -> [(String, Tensor)] { state.stateDict() }

    public func loadStateDict(_ dict: [String: Tensor]) throws(StateDictError) {
        try state.load(dict, shapes: parameters.map { [$0.tensor.shape] })
    }
}
