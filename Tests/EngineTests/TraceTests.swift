import Testing
@testable import Engine

@Suite struct TraceTests {
    /// conv → eval batch norm → ReLU → pooled → linear: one entry per op, each reading the entry before.
    @Test func recordsOpsWithTheirSettingsAndOperands() {
        let x = randomTensor([2, 3, 4, 8, 8], seed: 1)
        let w = randomTensor([5, 3, 3, 3, 3], seed: 2)
        let mean = randomTensor([5], seed: 3), variance = randomTensor([5], seed: 4, low: 0.5, high: 1.5)
        let fc = randomTensor([7, 5], seed: 5), bias = randomTensor([7], seed: 6)
        func forward() -> Tensor {
            let y = conv(x, weight: w, stride: [1, 2, 2], padding: [1])
            let z = batchNorm(y, runningMean: mean, runningVar: variance, weight: nil, bias: nil, training: false).relu()
            return linear(adaptiveAvgPool(z, outputSize: [1, 1, 1]).flattened(from: 1), weight: fc, bias: bias)
        }
        let plain = GradMode.noGrad { forward() }
        let (traced, trace) = GradMode.noGrad { Trace.record { forward() } }
        #expect(traced.scalars == plain.scalars, "tracing changes no value")
        #expect(trace.entries.map(\.op) == [
            .conv(stride: [1, 2, 2], padding: [1, 1, 1], dilation: [1, 1, 1], groups: 1),
            .batchNorm(eps: 1e-5, hasWeight: false, hasBias: false),
            .unary(.relu),
            .adaptiveAvgPool(outputSize: [1, 1, 1]),
            .reshape,
            .linear(gelu: false),
        ])
        // Each op reads the one before it; linear records itself alone, not its product and add.
        for (before, entry) in zip(trace.entries, trace.entries.dropFirst()) { #expect(entry.inputs.first === before.output) }
        #expect(trace.entries[0].inputs.count == 2 && trace.entries[0].inputs[1] === w)
        #expect(trace.entries.last?.inputs.count == 3)
        #expect(trace.entries.last?.output === traced)
    }

    @Test func opsWithoutATracedFormAreNamed() {
        let x = randomTensor([4, 6], seed: 7)
        let (out, trace) = Trace.record { batchNorm(x, runningMean: nil, runningVar: nil, weight: nil, bias: nil, training: true) }
        #expect(trace.entries.map(\.op) == [.unsupported("batchNorm with batch statistics")])
        #expect(trace.entries.first?.output === out)
        let (dropped, second) = Trace.record { x.dropout(p: 0.5, training: true) }
        #expect(second.entries.isEmpty)
        #expect(second.untracedOp(of: dropped) == "dropout")
        #expect(second.untracedOp(of: x) == nil)
    }

    @Test func nothingIsRecordedOutsideATrace() {
        let x = randomTensor([3, 3], seed: 8)
        #expect(!Trace.isRecording)
        let (_, trace) = Trace.record { #expect(Trace.isRecording); return x + x }
        _ = x * x
        #expect(trace.entries.map(\.op) == [.binary(.add)])
    }
}
