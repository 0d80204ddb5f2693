import Engine
import Testing

/// Elementwise |a − b| ≤ tolerance, reporting the first offending index.
func expectClose(_ actual: [Float], _ expected: [Float], tolerance: Float = 1e-5,
                 sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(actual.count == expected.count, "\(actual.count) values, expected \(expected.count)", sourceLocation: sourceLocation)
    for (i, (a, e)) in zip(actual, expected).enumerated() where !(abs(a - e) <= tolerance) {
        Issue.record("index \(i): \(a) vs expected \(e) (tolerance \(tolerance)); all: \(actual)", sourceLocation: sourceLocation)
        return
    }
}

func expectClose(_ actual: Float, _ expected: Float, tolerance: Float = 1e-5, sourceLocation: SourceLocation = #_sourceLocation) {
    expectClose([actual], [expected], tolerance: tolerance, sourceLocation: sourceLocation)
}

/// Mean and (biased) standard deviation of a tensor's values, in Double.
func moments(_ t: Tensor) -> (mean: Double, std: Double) {
    let v = t.scalars.map(Double.init)
    let mean = v.reduce(0, +) / Double(v.count)
    let variance = v.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(v.count)
    return (mean, variance.squareRoot())
}
