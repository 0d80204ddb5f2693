import Testing
@testable import Engine

/// Asserts two float sequences agree within abs + rel·|expected|.
func expectClose(_ actual: [Float], _ expected: [Float], abs: Float = 1e-5, rel: Float = 1e-4,
                 _ what: String = "", sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(actual.count == expected.count, "\(what): \(actual.count) values, expected \(expected.count)", sourceLocation: sourceLocation)
    var worst: (Int, Float, Float)? = nil
    for (i, (a, e)) in zip(actual, expected).enumerated() {
        let ok = Swift.abs(a - e) <= abs + rel * Swift.abs(e) || (a.isNaN && e.isNaN) || (a == e)
        if !ok && worst == nil { worst = (i, a, e) }
    }
    if let (i, a, e) = worst {
        Issue.record("\(what): element \(i) is \(a), expected \(e)", sourceLocation: sourceLocation)
    }
}

/// A reproducible tensor with values in [low, high).
func randomTensor(_ shape: [Int], seed: UInt64, low: Float = -1, high: Float = 1, requiresGrad: Bool = false) -> Tensor {
    var rng = Xoshiro(seed: seed)
    return Tensor.uniform(shape, low: low, high: high, using: &rng, requiresGrad: requiresGrad)
}

/// Central-difference gradient check. The scalar loss is Σ f(inputs)·r for a fixed random r, so
/// every output element contributes. At most `samples` elements of each input are perturbed.
func gradCheck(_ inputs: [Tensor], eps: Float = 1e-2, tolerance: Float = 2e-2, samples: Int = 24,
               _ what: String = "", sourceLocation: SourceLocation = #_sourceLocation,
               _ f: ([Tensor]) -> Tensor) {
    for t in inputs { t.requiresGrad = true; t.grad = nil }
    let probe = f(inputs)
    let r = randomTensor(probe.shape, seed: 99)
    (probe * r).sum().backward()
    func loss() -> Double {
        GradMode.noGrad {
            let y = f(inputs)
            var acc = 0.0
            for i in 0..<y.count { acc += Double(y.data[i]) * Double(r.data[i]) }
            return acc
        }
    }
    var rng = Xoshiro(seed: 7)
    for (k, t) in inputs.enumerated() {
        guard let grad = t.grad else {
            Issue.record("\(what): input \(k) got no gradient", sourceLocation: sourceLocation)
            continue
        }
        #expect(grad.shape == t.shape, sourceLocation: sourceLocation)
        let picks = t.count <= samples ? Array(0..<t.count) : (0..<samples).map { _ in Int(rng.next() % UInt64(t.count)) }
        for i in picks {
            let saved = t.data[i]
            t.data[i] = saved + eps
            let up = loss()
            t.data[i] = saved - eps
            let down = loss()
            t.data[i] = saved
            let numeric = Float((up - down) / Double(2 * eps))
            let analytic = grad.data[i]
            if Swift.abs(numeric - analytic) > tolerance * (1 + Swift.abs(numeric)) {
                Issue.record("\(what): input \(k) element \(i): analytic \(analytic), numeric \(numeric)", sourceLocation: sourceLocation)
                return
            }
        }
    }
}

/// Values bounded away from zero (for ops with a kink at 0).
func awayFromZero(_ shape: [Int], seed: UInt64) -> Tensor {
    let t = randomTensor(shape, seed: seed, low: 0.2, high: 1.5)
    var rng = Xoshiro(seed: seed &+ 1)
    for i in 0..<t.count where rng.next() % 2 == 0 { t.data[i] = -t.data[i] }
    return t
}
