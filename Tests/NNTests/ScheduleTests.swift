import Foundation
import Testing
@testable import NN

@Suite struct ScheduleTests {
    @Test func stepDecay() {
        let s = StepLR(baseLR: 0.1, stepSize: 30, gamma: 0.1)
        expectClose(s.learningRate(at: 0), 0.1, tolerance: 1e-7)
        expectClose(s.learningRate(at: 29.9), 0.1, tolerance: 1e-7)
        expectClose(s.learningRate(at: 30), 0.01, tolerance: 1e-7)
        expectClose(s.learningRate(at: 65), 0.001, tolerance: 1e-8)
    }

    @Test func multiStepDecay() {
        let s = MultiStepLR(baseLR: 0.1, milestones: [10, 20], gamma: 0.5)
        expectClose(s.learningRate(at: 9.99), 0.1, tolerance: 1e-7)
        expectClose(s.learningRate(at: 10), 0.05, tolerance: 1e-7)
        expectClose(s.learningRate(at: 25), 0.025, tolerance: 1e-7)
    }

    @Test func cosineToAMinimum() {
        let s = CosineLR(baseLR: 1, minLR: 0.1, length: 10)
        expectClose(s.learningRate(at: 0), 1)
        expectClose(s.learningRate(at: 2.5), 0.1 + 0.9 * Float((1 + cos(Double.pi / 4)) / 2))
        expectClose(s.learningRate(at: 5), 0.55)
        expectClose(s.learningRate(at: 10), 0.1)
        expectClose(s.learningRate(at: 12), 0.1)
    }

    @Test func linearWarmupScalesTheWrappedSchedule() {
        let cosine = CosineLR(baseLR: 1, minLR: 0.1, length: 10)
        let s = cosine.withWarmup(length: 2)
        expectClose(s.learningRate(at: 0), 0)
        expectClose(s.learningRate(at: 1), 0.5 * cosine.learningRate(at: 1))
        expectClose(s.learningRate(at: 1), 0.5 * (0.1 + 0.9 * Float((1 + cos(Double.pi / 10)) / 2)))
        expectClose(s.learningRate(at: 2), cosine.learningRate(at: 2))
        let steps = LinearWarmup(MultiStepLR(baseLR: 0.4, milestones: [5]), length: 4, startFactor: 0.25)
        expectClose(steps.learningRate(at: 0), 0.1)
        expectClose(steps.learningRate(at: 2), 0.25)
        expectClose(steps.learningRate(at: 6), 0.04)
    }

    @Test func schedulesAreCodable() throws {
        let s = StepLR(baseLR: 0.1, stepSize: 3).withWarmup(length: 1)
        let decoded = try JSONDecoder().decode(LinearWarmup<StepLR>.self, from: JSONEncoder().encode(s))
        #expect(decoded == s)
    }
}
