import Engine
import Foundation

/// Adam with decoupled weight decay, with PyTorch's update rule (torch.optim.AdamW), at step t:
///
///     p = p·(1 − lr·λ)                    (when the parameter decays)
///     m = β₁·m + (1 − β₁)·g
///     v = β₂·v + (1 − β₂)·g²
///     p = p − (lr / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)
///
/// ε sits outside the square root. State: `<parameter>.step` [] (a Float32 count),
/// `<parameter>.exp_avg` and `<parameter>.exp_avg_sq`, created at a parameter's first update.
public final class AdamW: Optimizer {
    public var learningRate: Float
    /// The betas are Doubles, as PyTorch's are: 1 − 0.999 rounds differently in Float.
    public var beta1: Double
    public var beta2: Double
    public var eps: Float
    public var weightDecay: Float
    public let parameters: [(name: String, tensor: Tensor)]
    private let decays: [Bool]
    private var state: SlotTable

    public init(parameters: [(String, Tensor)], learningRate: Float = 1e-3, beta1: Double = 0.9, beta2: Double = 0.999,
                eps: Float = 1e-8, weightDecay: Float = 1e-2, decayPolicy: DecayPolicy = .all) {
        self.parameters = parameters.map { (name: $0.0, tensor: $0.1) }
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.weightDecay = weightDecay
        decays = parameters.map { decayPolicy.decays($0.1) }
        state = SlotTable(parameterNames: parameters.map { $0.0 }, slotNames: ["step", "exp_avg", "exp_avg_sq"])
    }

    public func step() {
        Profiler.span(.optimizer) {
            GradMode.noGrad {
                for (i, (_, p)) in parameters.enumerated() {
                    guard let g = p.grad else { continue }
                    if state.slots[i] == nil {
                        state.slots[i] = [Tensor.zeros([]), Tensor.zeros(p.shape), Tensor.zeros(p.shape)]
                    }
                    let slots = state.slots[i]!
                    slots[0].data[0] += 1
                    // Scalars in Double, then rounded once, as PyTorch computes them in Python floats.
                    let t = Double(slots[0].data[0]), lr = Double(learningRate)
                    let stepSize = Float(lr / (1 - Foundation.pow(beta1, t)))
                    let correction2 = Float((1 - Foundation.pow(beta2, t)).squareRoot())
                    let shrink = decays[i] ? Float(1 - lr * Double(weightDecay)) : 1
                    let b2 = Float(beta2), c1 = Float(1 - beta1), c2 = Float(1 - beta2), eps = eps
                    let pp = p.data, pg = UnsafePointer(g.data), pm = slots[1].data, pv = slots[2].data
                    Parallel.forRanges(p.count, grain: updateGrain) { r in
                        for j in r {
                            let gj = pg[j]
                            let m = pm[j] + c1 * (gj - pm[j])
                            let v = b2 * pv[j] + c2 * gj * gj
                            pm[j] = m
                            pv[j] = v
                            pp[j] = pp[j] * shrink - stepSize * (m / (v.squareRoot() / correction2 + eps))
                        }
                    }
                }
            }
        }
    }

    public func stateDict() -> [(String, Tensor)] { state.stateDict() }

    public func loadStateDict(_ dict: [String: Tensor]) throws(StateDictError) {
        try state.load(dict, shapes: parameters.map { [[], $0.tensor.shape, $0.tensor.shape] })
    }
}
