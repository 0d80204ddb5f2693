import Testing
@testable import Flow

@Suite struct TVL1ValidationTests {
    @Test func defaultsAreOpenCVsButEachLevelHalves() {
        let p = TVL1Parameters()
        #expect(p.tau == 0.25 && p.lambda == 0.15 && p.theta == 0.3 && p.scales == 5 && p.warps == 5)
        #expect(p.epsilon == 0.01 && p.innerIterations == 30 && p.outerIterations == 10)
        // OpenCV's DualTVL1OpticalFlow_create() has 0.8 (OpenCV 4 and 5); Motive halves per level.
        #expect(p.scaleStep == 0.8 && p.gamma == 0 && p.medianFiltering == 5 && !p.useInitialFlow)
    }

    @Test(arguments: [
        ("tau", TVL1Parameters(tau: 0)), ("lambda", TVL1Parameters(lambda: -1)),
        ("theta", TVL1Parameters(theta: .nan)), ("epsilon", TVL1Parameters(epsilon: .infinity)),
        ("scales", TVL1Parameters(scales: 0)), ("warps", TVL1Parameters(warps: -2)),
        ("innerIterations", TVL1Parameters(innerIterations: 0)), ("outerIterations", TVL1Parameters(outerIterations: 0)),
        ("scaleStep", TVL1Parameters(scaleStep: 1)), ("scaleStep", TVL1Parameters(scaleStep: 0)),
        ("gamma", TVL1Parameters(gamma: -0.1)), ("medianFiltering", TVL1Parameters(medianFiltering: 4)),
        ("medianFiltering", TVL1Parameters(medianFiltering: 7)),
    ])
    func rejectsBadParameters(_ name: String, _ parameters: TVL1Parameters) {
        do {
            _ = try TVL1(parameters)
            Issue.record("TVL1 accepted a bad \(name)")
        } catch {
            guard case .invalidParameter(let bad, _, _) = error else {
                Issue.record("expected invalidParameter(\(name)), got \(error)")
                return
            }
            #expect(bad == name)
        }
    }

    @Test func acceptsEdgeParameters() throws {
        for p in [TVL1Parameters(medianFiltering: 0), TVL1Parameters(medianFiltering: 1), TVL1Parameters(medianFiltering: 3),
                  TVL1Parameters(scales: 1), TVL1Parameters(gamma: 0.5)] {
            _ = try TVL1(p)
        }
        #expect(throws: FlowError.invalidParameter(name: "threads", value: "0", reason: "must be ≥ 1")) {
            try TVL1(threads: 0)
        }
    }

    @Test func rejectsBadInputs() throws {
        let tvl1 = try TVL1()
        let a = try GrayImage(width: 16, height: 12, gray: .init(repeating: 9, count: 192))
        let b = try GrayImage(width: 12, height: 16, gray: .init(repeating: 9, count: 192))
        #expect(throws: FlowError.sizeMismatch(width: 16, height: 12, otherWidth: 12, otherHeight: 16)) {
            try tvl1.flow(from: a, to: b)
        }
        let tiny = try GrayImage(width: 7, height: 30, gray: .init(repeating: 0, count: 210))
        #expect(throws: FlowError.imageTooSmall(width: 7, height: 30, minimum: 8)) { try tvl1.flow(from: tiny, to: tiny) }
        let withStart = try TVL1(TVL1Parameters(useInitialFlow: true))
        #expect(throws: FlowError.missingInitialFlow) { try withStart.flow(from: a, to: a) }
        let wrong = try FlowField(width: 2, height: 2, u: [0, 0, 0, 0], v: [0, 0, 0, 0])
        #expect(throws: FlowError.sizeMismatch(width: 16, height: 12, otherWidth: 2, otherHeight: 2)) {
            try withStart.flow(from: a, to: a, initial: wrong)
        }
    }

    /// Buffers kept from an earlier call, of the same size or another, do not leak into the next
    /// one, and the row split does not change a single bit.
    @Test func reusedBuffersAndThreadCountsGiveIdenticalFlows() throws {
        let scene = SyntheticScene(seed: 7)
        let (a, b, _) = try scene.pair(width: 160, height: 120, a: (1.01, 0.02, -0.02, 1.01), t: (1.5, 0.7))
        let (c, d, _) = try scene.pair(width: 96, height: 80, a: (1, 0, 0, 1), t: (-2, 1))
        for parameters in [TVL1Parameters(), TVL1Parameters(gamma: 0.2)] {
            let serial = try TVL1(parameters, threads: 1)
            let parallel = try TVL1(parameters, threads: 2)
            let wide = try TVL1(parameters, threads: 8)
            let first = try parallel.flow(from: a, to: b)
            let buffers = try #require(parallel.workspaces.last)
            _ = try parallel.flow(from: c, to: d)   // another size gets its own buffers
            let other = try parallel.flow(from: b, to: a)  // same size, different content
            #expect(parallel.workspaces.count == 2 && parallel.workspaces.last === buffers)
            #expect(try parallel.flow(from: a, to: b) == first)
            #expect(try serial.flow(from: a, to: b) == first)
            #expect(try wide.flow(from: a, to: b) == first)
            #expect(other != first)
        }
    }

    @Test func initialFlowIsUsed() throws {
        let scene = SyntheticScene(seed: 3)
        let (a, b, truth) = try scene.pair(width: 96, height: 72, a: (1, 0, 0, 1), t: (3.2, -2.1))
        let quick = TVL1Parameters(scales: 1, warps: 1, innerIterations: 5, outerIterations: 1)
        let cold = try TVL1(quick).flow(from: a, to: b)
        var warmParameters = quick
        warmParameters.useInitialFlow = true
        let warm = try TVL1(warmParameters).flow(from: a, to: b, initial: truth)
        // A few iterations from zero cannot reach a 3.8 px motion; starting from it they stay close.
        #expect(warm.meanEndPointError(to: truth, margin: 8) < 0.3)
        #expect(cold.meanEndPointError(to: truth, margin: 8) > 1)
    }
}
