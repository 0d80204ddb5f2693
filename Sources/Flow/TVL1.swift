import Foundation

/// Dense optical flow by the duality-based TV-L1 method of Zach, Pock and Bischof (2007), in the
/// formulation of Sánchez, Meinhardt-Llopis and Facciolo (IPOL 2013), following OpenCV's
/// `cv::optflow::DualTVL1OpticalFlow` step for step so its flows can stand in for OpenCV's:
///
///   1. Both frames are converted to float (0–255) and resized into a pyramid (bilinear,
///      OpenCV's sizes and sample positions).
///   2. From the coarsest level, with u = 0: per warp, I1 and ∇I1 are sampled at x + u (bicubic,
///      zero outside) and the data term is linearised; then up to `outerIterations` times the flow
///      is median filtered and `innerIterations` primal–dual steps run, all stopping once an
///      iteration changes the flow by less than ε² · pixels in summed squares.
///   3. The flow is upsampled bilinearly to the next level and multiplied by 1 / scaleStep.
///
/// Not thread-safe: use one instance per worker. Buffers are kept between calls, one set for
/// each of the last few frame sizes.
public final class TVL1 {
    public let parameters: TVL1Parameters
    /// Most cores a call uses; 1 runs everything on the calling thread. The result does not depend on it.
    public let threads: Int
    /// Frames must be at least this wide and high.
    public static let minimumSide = 8

    private let median: MedianFilter?
    /// Buffers by frame size, most recently used last.
    private(set) var workspaces: [Workspace] = []
    private static let keptSizes = 4

    public init(_ parameters: TVL1Parameters = .init(),
                threads: Int = ProcessInfo.processInfo.activeProcessorCount) throws(FlowError) {
        try parameters.validate()
        guard threads >= 1 else {
            throw .invalidParameter(name: "threads", value: "\(threads)", reason: "must be ≥ 1")
        }
        self.parameters = parameters
        self.threads = threads
        median = parameters.medianFiltering > 1 ? MedianFilter(kernel: parameters.medianFiltering) : nil
    }

    /// The flow that carries frame `a` onto frame `b`: a(x, y) ≈ b(x + u, y + v).
    /// `initial` is required when `parameters.useInitialFlow` is set, and ignored otherwise.
    public func flow(from a: GrayImage, to b: GrayImage, initial: FlowField? = nil) throws(FlowError) -> FlowField {
        guard a.width == b.width, a.height == b.height else {
            throw .sizeMismatch(width: a.width, height: a.height, otherWidth: b.width, otherHeight: b.height)
        }
        guard a.width >= Self.minimumSide, a.height >= Self.minimumSide else {
            throw .imageTooSmall(width: a.width, height: a.height, minimum: Self.minimumSide)
        }
        let size = Size(width: a.width, height: a.height)
        var start: FlowField?
        if parameters.useInitialFlow {
            guard let initial else { throw .missingInitialFlow }
            guard initial.width == a.width, initial.height == a.height else {
                throw .sizeMismatch(width: a.width, height: a.height, otherWidth: initial.width,
                                    otherHeight: initial.height)
            }
            start = initial
        }
        return Solver(workspace: workspace(for: size), parameters: parameters, median: median, threads: threads)
            .run(a, b, initial: start)
    }

    private func workspace(for size: Size) -> Workspace {
        let ws: Workspace
        if let i = workspaces.firstIndex(where: { $0.size == size }) {
            ws = workspaces.remove(at: i)
        } else {
            ws = Workspace(size: size, parameters: parameters, threads: threads)
            if workspaces.count == Self.keptSizes { workspaces.removeFirst() }
        }
        workspaces.append(ws)
        return ws
    }
}
