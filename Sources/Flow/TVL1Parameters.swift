/// Settings of the duality-based TV-L1 solver, named and defaulted as OpenCV's
/// `cv::optflow::DualTVL1OpticalFlow::create()` (and the denseflow tool that MMAction2's flow
/// datasets come from), so flow from Motive mixes with flow extracted there. `scaleStep: 0.5`
/// halves each pyramid level instead: five levels then reach 1/16 of the frame, for large
/// motions, at about half the cost.
///
/// `lambda` weighs the data term against smoothness (smaller is smoother); `theta` couples the
/// two half-problems; `tau` is the dual step (stable for ≤ 0.25). Each pyramid scale is warped
/// `warps` times; each warp runs at most `outerIterations` × `innerIterations` iterations and
/// stops early once the summed squared change of the flow falls below `epsilon² · pixels`.
/// `gamma` > 0 adds an illumination-change field to the model (OpenCV's third flow component).
public struct TVL1Parameters: Sendable, Equatable, Codable {
    public var tau: Double
    public var lambda: Double
    public var theta: Double
    /// Pyramid levels including the full-size one; fewer are used when a level would be under 16 px.
    public var scales: Int
    public var warps: Int
    public var epsilon: Double
    public var innerIterations: Int
    public var outerIterations: Int
    /// Size ratio between consecutive pyramid levels, in (0, 1); 0.8 as OpenCV.
    public var scaleStep: Double
    public var gamma: Double
    /// Odd median kernel applied to the flow before each outer iteration; 1 (or 0) disables it.
    /// OpenCV accepts only 3 and 5 on float flow.
    public var medianFiltering: Int
    /// Starts from the flow passed to `TVL1.flow(from:to:initial:)` instead of zero.
    public var useInitialFlow: Bool

    public init(tau: Double = 0.25, lambda: Double = 0.15, theta: Double = 0.3, scales: Int = 5, warps: Int = 5,
                epsilon: Double = 0.01, innerIterations: Int = 30, outerIterations: Int = 10,
                scaleStep: Double = 0.8, gamma: Double = 0, medianFiltering: Int = 5, useInitialFlow: Bool = false) {
        self.tau = tau
        self.lambda = lambda
        self.theta = theta
        self.scales = scales
        self.warps = warps
        self.epsilon = epsilon
        self.innerIterations = innerIterations
        self.outerIterations = outerIterations
        self.scaleStep = scaleStep
        self.gamma = gamma
        self.medianFiltering = medianFiltering
        self.useInitialFlow = useInitialFlow
    }

    /// Throws `FlowError.invalidParameter` naming the first setting the solver cannot run with.
    public func validate() throws(FlowError) {
        try positive("tau", tau)
        try positive("lambda", lambda)
        try positive("theta", theta)
        try positive("epsilon", epsilon)
        try atLeastOne("scales", scales)
        try atLeastOne("warps", warps)
        try atLeastOne("innerIterations", innerIterations)
        try atLeastOne("outerIterations", outerIterations)
        guard scaleStep.isFinite, scaleStep > 0, scaleStep < 1 else {
            throw .invalidParameter(name: "scaleStep", value: "\(scaleStep)", reason: "must lie in (0, 1)")
        }
        guard gamma.isFinite, gamma >= 0 else {
            throw .invalidParameter(name: "gamma", value: "\(gamma)", reason: "must be finite and ≥ 0")
        }
        guard medianFiltering == 0 || medianFiltering == 1 || medianFiltering == 3 || medianFiltering == 5 else {
            throw .invalidParameter(name: "medianFiltering", value: "\(medianFiltering)",
                                    reason: "must be 0 or 1 (off), 3 or 5")
        }
    }

    private func positive(_ name: String, _ value: Double) throws(FlowError) {
        guard value.isFinite, value > 0 else {
            throw .invalidParameter(name: name, value: "\(value)", reason: "must be finite and > 0")
        }
    }

    private func atLeastOne(_ name: String, _ value: Int) throws(FlowError) {
        guard value >= 1 else { throw .invalidParameter(name: name, value: "\(value)", reason: "must be ≥ 1") }
    }
}
