import Engine
import Testing
@testable import NN

/// Runs `steps` updates of `p` = [1, −2] with the constant gradient g = [0.5, 1] and lr 0.1,
/// returning the parameter after each step.
private func sgdTrajectory(steps: Int, momentum: Float = 0, dampening: Float = 0, nesterov: Bool = false,
                           weightDecay: Float = 0) -> [[Float]] {
    let p = Tensor([1, -2], shape: [2], requiresGrad: true)
    let opt = SGD(parameters: [("p", p)], learningRate: 0.1, momentum: momentum, dampening: dampening,
                  nesterov: nesterov, weightDecay: weightDecay)
    return (0..<steps).map { _ in
        p.grad = Tensor([0.5, 1], shape: [2])
        opt.step()
        return p.scalars
    }
}

@Suite struct SGDTests {
    @Test func plain() {
        let t = sgdTrajectory(steps: 2)
        expectClose(t[0], [0.95, -2.1])
        expectClose(t[1], [0.9, -2.2])
    }

    @Test func weightDecayAddsToTheGradient() {
        // d = g + 0.1·p: step 1 d = [0.6, 0.8]; step 2 d = [0.594, 0.792].
        let t = sgdTrajectory(steps: 2, weightDecay: 0.1)
        expectClose(t[0], [0.94, -2.08])
        expectClose(t[1], [0.8806, -2.1592])
    }

    @Test func momentumStartsFromTheFirstGradient() {
        // b = g, then 0.9·b + g: [0.95, 1.9], then [1.355, 2.71].
        let t = sgdTrajectory(steps: 3, momentum: 0.9)
        expectClose(t[0], [0.95, -2.1])
        expectClose(t[1], [0.855, -2.29])
        expectClose(t[2], [0.7195, -2.561])
    }

    @Test func dampeningScalesOnlyLaterGradients() {
        // b = g, then 0.9·g + 0.5·g = 1.4·g.
        let t = sgdTrajectory(steps: 2, momentum: 0.9, dampening: 0.5)
        expectClose(t[0], [0.95, -2.1])
        expectClose(t[1], [0.88, -2.24])
    }

    @Test func nesterovLooksAhead() {
        // d = g + 0.9·b: step 1 b = g, d = 1.9·g; step 2 b = 1.9·g, d = 2.71·g.
        let t = sgdTrajectory(steps: 2, momentum: 0.9, nesterov: true)
        expectClose(t[0], [0.905, -2.19])
        expectClose(t[1], [0.7695, -2.461])
    }

    @Test func noDecayForNormAndBiasParameters() {
        for (policy, expectedBias) in [(DecayPolicy.all, Float(0.95)), (.excludeNormAndBias, 1)] {
            let w = Tensor([1], shape: [1, 1], requiresGrad: true), b = Tensor([1], shape: [1], requiresGrad: true)
            let opt = SGD(parameters: [("w", w), ("b", b)], learningRate: 0.1, weightDecay: 0.5, decayPolicy: policy)
            w.grad = Tensor.zeros([1, 1])
            b.grad = Tensor.zeros([1])
            opt.step()
            expectClose(w.item, 0.95)
            expectClose(b.item, expectedBias)
        }
    }

    @Test func skipsParametersWithoutGradientAndZeroGradClears() {
        let a = Tensor([1], shape: [1], requiresGrad: true), b = Tensor([1], shape: [1], requiresGrad: true)
        let opt = SGD(parameters: [("a", a), ("b", b)], learningRate: 1, momentum: 0.9)
        a.grad = Tensor([1], shape: [1])
        opt.step()
        #expect(a.item == 0 && b.item == 1)
        #expect(opt.stateDict().map(\.0) == ["a.momentum_buffer"])
        opt.zeroGrad()
        #expect(a.grad == nil)
    }

    @Test func stateDictResumesTheTrajectory() throws {
        let p = Tensor([1, -2], shape: [2], requiresGrad: true)
        let opt = SGD(parameters: [("p", p)], learningRate: 0.1, momentum: 0.9)
        p.grad = Tensor([0.5, 1], shape: [2])
        opt.step()
        let saved = opt.stateDict()
        let resumed = SGD(parameters: [("p", p)], learningRate: 0.1, momentum: 0.9)
        try resumed.loadStateDict(saved)
        resumed.step()
        expectClose(p.scalars, [0.855, -2.29])
        #expect(throws: StateDictError.unexpectedKey("q.momentum_buffer")) {
            try resumed.loadStateDict(["q.momentum_buffer": Tensor.zeros([2])])
        }
        #expect(throws: StateDictError.shapeMismatch(key: "p.momentum_buffer", expected: [2], found: [3])) {
            try resumed.loadStateDict(["p.momentum_buffer": Tensor.zeros([3])])
        }
    }

    @Test func learningRateIsSettable() {
        let p = Tensor([1], shape: [1], requiresGrad: true)
        let opt = SGD(parameters: [("p", p)], learningRate: 0.1)
        opt.learningRate = 0.5
        p.grad = Tensor([1], shape: [1])
        opt.step()
        expectClose(p.item, 0.5)
    }
}

@Suite struct AdamWTests {
    /// Reference values from PyTorch's AdamW rule in Double (lr 0.1, betas 0.9/0.999, eps 1e-8,
    /// weight decay 0.01), as computed by:
    ///     p *= 1 - lr*wd; m += (1-b1)*(g-m); v = b2*v + (1-b2)*g*g
    ///     p -= lr/(1-b1**t) * m / (sqrt(v)/sqrt(1-b2**t) + eps)
    @Test func threeStepsMatchTheReference() {
        let p = Tensor([1, -0.5], shape: [2], requiresGrad: true)
        let opt = AdamW(parameters: [("p", p)], learningRate: 0.1)
        let grads: [[Float]] = [[0.5, 0.2], [-1, 0.2], [0.25, -0.3]]
        let expected: [[Float]] = [[0.8990000, -0.5995000], [0.9347114, -0.6989005], [0.9474457, -0.7047112]]
        for (g, e) in zip(grads, expected) {
            p.grad = Tensor(g, shape: [2])
            opt.step()
            expectClose(p.scalars, e, tolerance: 2e-6)
        }
        let state = opt.stateDict()
        #expect(state.map(\.0) == ["p.step", "p.exp_avg", "p.exp_avg_sq"])
        #expect(state[0].1.shape == [] && state[0].1.item == 3)
        expectClose(state[1].1.scalars, [-0.0245, 0.0042])
        expectClose(state[2].1.scalars, [0.00131100025, 0.00016988004], tolerance: 1e-8)
    }

    @Test func decayIsDecoupledAndSkippableForBiases() {
        // A zero gradient leaves the Adam step at 0/(0+ε) = 0, so only the decay moves p.
        let w = Tensor([2], shape: [1, 1], requiresGrad: true), b = Tensor([2], shape: [1], requiresGrad: true)
        let opt = AdamW(parameters: [("w", w), ("b", b)], learningRate: 0.1, weightDecay: 0.5, decayPolicy: .excludeNormAndBias)
        w.grad = Tensor.zeros([1, 1])
        b.grad = Tensor.zeros([1])
        opt.step()
        expectClose(w.item, 2 * 0.95)
        expectClose(b.item, 2)
    }

    @Test func stateDictRoundTrip() throws {
        let p = Tensor([1, -0.5], shape: [2], requiresGrad: true)
        let opt = AdamW(parameters: [("p", p)], learningRate: 0.1)
        p.grad = Tensor([0.5, 0.2], shape: [2])
        opt.step()
        let resumed = AdamW(parameters: [("p", p)], learningRate: 0.1)
        try resumed.loadStateDict(Dictionary(uniqueKeysWithValues: opt.stateDict()))
        p.grad = Tensor([-1, 0.2], shape: [2])
        resumed.step()
        expectClose(p.scalars, [0.9347114, -0.6989005], tolerance: 2e-6)
        #expect(throws: StateDictError.missingKey("p.exp_avg_sq")) {
            try resumed.loadStateDict(["p.step": Tensor.zeros([]), "p.exp_avg": Tensor.zeros([2])])
        }
    }
}

@Suite struct ClipGradNormTests {
    @Test func scalesAllGradientsTogether() {
        let a = Tensor.zeros([2], requiresGrad: true), b = Tensor.zeros([1], requiresGrad: true)
        let untouched = Tensor.zeros([1], requiresGrad: true)
        a.grad = Tensor([3, 4], shape: [2])
        b.grad = Tensor([12], shape: [1])
        // Total norm √(9 + 16 + 144) = 13.
        #expect(clipGradNorm([a, b, untouched], maxNorm: 20) == 13)
        #expect(a.grad!.scalars == [3, 4])
        let total = clipGradNorm([("a", a), ("b", b)], maxNorm: 6.5)
        expectClose(total, 13)
        let scale: Float = 6.5 / (13 + 1e-6)
        expectClose(a.grad!.scalars, [3 * scale, 4 * scale])
        expectClose(b.grad!.scalars, [12 * scale])
        #expect(untouched.grad == nil)
    }
}
