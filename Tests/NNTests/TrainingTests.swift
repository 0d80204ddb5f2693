import Engine
import Testing
@testable import NN

@Suite struct TrainingTests {
    /// Conv → BatchNorm → ReLU → MaxPool → Linear must memorise 8 random images with 4 labels.
    @Test func smallCNNOverfitsOneBatch() {
        var rng = Xoshiro(seed: 30)
        let net = Sequential(
            Conv(1, 8, kernelSize: [3, 3], padding: [1, 1], using: &rng),  // [8, 1, 8, 8] → [8, 8, 8, 8]
            BatchNorm(8),
            ReLU(),
            MaxPool(kernelSize: [2, 2]),                                     // → [8, 8, 4, 4]
            Flatten(),                                                       // → [8, 128]
            Linear(128, 4, using: &rng)                                      // → [8, 4]
        )
        let images = Tensor.normal([8, 1, 8, 8], using: &rng)
        let labels = [0, 1, 2, 3, 0, 1, 2, 3]
        let opt = AdamW(parameters: net.namedParameters(), learningRate: 0.01, weightDecay: 0)
        var loss: Float = .infinity
        var steps = 0
        while loss >= 0.05 && steps < 300 {
            let l = crossEntropy(net(images), targets: labels)
            loss = l.item
            opt.zeroGrad()
            l.backward()
            opt.step()
            steps += 1
        }
        #expect(loss < 0.05, "loss \(loss) after \(steps) steps")
        #expect(net.stateDict().first { $0.0 == "1.num_batches_tracked" }!.1.item == Float(steps))
    }

    @Test func sgdWithScheduleAndClippingReducesLoss() {
        var rng = Xoshiro(seed: 31)
        let net = Sequential(Linear(4, 16, using: &rng), GELU(), Linear(16, 3, using: &rng))
        let x = Tensor.normal([12, 4], using: &rng)
        let labels = (0..<12).map { $0 % 3 }
        let opt = SGD(parameters: net.namedParameters(), learningRate: 0.1, momentum: 0.9, nesterov: true,
                      weightDecay: 1e-4, decayPolicy: .excludeNormAndBias)
        let schedule = CosineLR(baseLR: 0.1, minLR: 0.01, length: 100).withWarmup(length: 5)
        var first: Float = 0, last: Float = 0
        for step in 0..<100 {
            opt.learningRate = schedule.learningRate(at: Double(step))
            let l = crossEntropy(net(x), targets: labels)
            if step == 0 { first = l.item }
            last = l.item
            opt.zeroGrad()
            l.backward()
            clipGradNorm(net.parameters(), maxNorm: 1)
            opt.step()
        }
        #expect(last < 0.5 * first, "loss went from \(first) to \(last)")
    }
}
