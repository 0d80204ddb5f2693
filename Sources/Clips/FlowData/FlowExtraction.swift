import Flow
import Foundation
import Video

/// How a video becomes optical flow: the frame size TV-L1 runs at, the frame step, the solver's
/// settings and the bound that maps each component to a byte (denseflow's conventions).
/// Stored beside extracted datasets (`flow.json`) and in flow checkpoints, so that flow computed
/// at prediction time matches what the model was trained on.
public struct FlowExtractionOptions: Codable, Sendable, Equatable {
    /// Components are clipped to ±bound pixels and mapped linearly to 0–255.
    public var bound: Float = 20
    /// Frames are resized to this size first (denseflow's `--newWidth/--newHeight`)…
    public var size: FrameSize?
    /// …or, when `size` is nil, scaled down so that their short side is at most this (nil: native).
    public var maxShortSide: Int?
    /// Flow frame k runs from frame k to frame k + step.
    public var step = 1
    public var parameters = TVL1Parameters()

    public init(bound: Float = 20, size: FrameSize? = nil, maxShortSide: Int? = nil, step: Int = 1,
                parameters: TVL1Parameters = .init()) {
        (self.bound, self.size, self.maxShortSide, self.step, self.parameters) = (bound, size, maxShortSide, step, parameters)
    }

    public func validate() throws(FlowExtractionError) {
        guard bound > 0, bound.isFinite else { throw .invalidOption("bound must be a positive number, got \(bound)") }
        guard step >= 1 else { throw .invalidOption("step must be at least 1, got \(step)") }
        if let size, size.width < TVL1.minimumSide || size.height < TVL1.minimumSide {
            throw .invalidOption("size must be at least \(TVL1.minimumSide)×\(TVL1.minimumSide), got \(size.width)×\(size.height)")
        }
        if let side = maxShortSide, side < TVL1.minimumSide {
            throw .invalidOption("the short side must be at least \(TVL1.minimumSide), got \(side)")
        }
        do { try parameters.validate() } catch { throw .invalidOption("\(error)") }
    }

    /// The size TV-L1 runs at for frames of `native` size.
    public func flowSize(native: FrameSize) -> FrameSize {
        if let size { return size }
        guard let side = maxShortSide, min(native.width, native.height) > side else { return native }
        return native.width < native.height
            ? FrameSize(width: side, height: Int((Double(native.height) * Double(side) / Double(native.width)).rounded()))
            : FrameSize(width: Int((Double(native.width) * Double(side) / Double(native.height)).rounded()), height: side)
    }
}

public enum FlowExtractionError: Error, CustomStringConvertible, Equatable {
    case invalidOption(String)
    case tooFewFrames(path: String, frames: Int, step: Int)
    case flowFailed(path: String, frame: Int, reason: String)

    public var description: String {
        switch self {
        case .invalidOption(let m): "flow: \(m)"
        case .tooFewFrames(let p, let n, let s): "\(p): \(n) frame\(n == 1 ? "" : "s") give no flow with a step of \(s)"
        case .flowFailed(let p, let k, let reason): "\(p): flow \(k + 1) failed: \(reason)"
        }
    }
}

/// TV-L1 on decoded frames, and flow written the way denseflow writes it for MMAction2.
public enum FlowExtraction {
    /// The file names of flow frame k (counting from 1) in a flow folder.
    public static let layout = FlowFrames()

    /// Frame `i` of an RGB stack as a gray image.
    static func gray(_ frames: FrameStack, _ i: Int) throws(FlowError) -> GrayImage {
        let bytes = frames.width * frames.height * 3
        return try GrayImage(width: frames.width, height: frames.height,
                             rgb24: Array(frames.pixels[(i * bytes)..<((i + 1) * bytes)]))
    }

    /// A quantised flow as two gray frames stored as RGB (x and y), ready for a JPEG writer or a
    /// flow sample.
    static func frames(_ flow: FlowField, bound: Float) -> (x: FrameStack, y: FrameStack) {
        let (x, y) = flow.quantized(bound: bound)
        return (FrameStack.grey(x, width: flow.width, height: flow.height), FrameStack.grey(y, width: flow.width, height: flow.height))
    }

    /// The flow from image `a` to image `b` (any format FFmpeg decodes; converted to gray). Images
    /// of different sizes are refused.
    public static func pair(_ a: String, _ b: String, parameters: TVL1Parameters = .init()) throws -> FlowField {
        let first = try VideoReader(path: a).frames(at: [0]), second = try VideoReader(path: b).frames(at: [0])
        guard first.width == second.width, first.height == second.height else {
            throw FlowExtractionError.invalidOption("\(a) is \(first.width)×\(first.height) but \(b) is \(second.width)×\(second.height)")
        }
        return try TVL1(parameters).flow(from: gray(first, 0), to: gray(second, 0))
    }

    /// Writes `flow_x_00001.jpg`, `flow_y_00001.jpg`, … (frames − step of each) for the video at
    /// `path` into `folder`, decoding `chunk` frames at a time. Returns the number of flow frames.
    @discardableResult
    public static func extract(video path: String, into folder: String, options: FlowExtractionOptions = .init(),
                               threads: Int = ProcessInfo.processInfo.activeProcessorCount, chunk: Int = 32,
                               readerOptions: ReaderOptions = .init(),
                               progress: ((_ done: Int, _ total: Int) -> Void)? = nil) throws -> Int {
        try options.validate()
        let reader = try VideoReader(path: path, options: readerOptions)
        let count = reader.frameCount - options.step
        guard count >= 1 else { throw FlowExtractionError.tooFewFrames(path: path, frames: reader.frameCount, step: options.step) }
        let size = options.flowSize(native: reader.info.displaySize)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let jpeg = EncodeOptions(codec: .mjpeg, quality: 10)
        let xs = try VideoWriter(path: folder + "/" + layout.xTemplate, width: size.width, height: size.height, options: jpeg)
        let ys = try VideoWriter(path: folder + "/" + layout.yTemplate, width: size.width, height: size.height, options: jpeg)
        let solver = try TVL1(options.parameters, threads: threads)
        var grays: [Int: GrayImage] = [:]                    // decoded frames still needed
        var k = 0
        while k < count {
            let end = min(k + max(1, chunk), count)
            let needed = Array(Set((k..<end).flatMap { [$0, $0 + options.step] })).sorted().filter { grays[$0] == nil }
            let decoded = try reader.frames(at: needed, size: size)
            for (i, index) in needed.enumerated() { grays[index] = try gray(decoded, i) }
            var xFrames: [FrameStack] = [], yFrames: [FrameStack] = []
            for j in k..<end {
                let flow: FlowField
                do { flow = try solver.flow(from: grays[j]!, to: grays[j + options.step]!) } catch {
                    throw FlowExtractionError.flowFailed(path: path, frame: j, reason: "\(error)")
                }
                let (x, y) = frames(flow, bound: options.bound)
                xFrames.append(x)
                yFrames.append(y)
                progress?(j + 1, count)
            }
            try xs.append(FrameStack.concat(xFrames))
            try ys.append(FrameStack.concat(yFrames))
            for index in grays.keys where index < end { grays[index] = nil }
            k = end
        }
        try xs.finish()
        try ys.finish()
        return count
    }
}

extension FrameStack {
    /// One gray frame (H × W bytes) as RGB.
    static func grey(_ bytes: [UInt8], width: Int, height: Int) -> FrameStack {
        var pixels = [UInt8](repeating: 0, count: bytes.count * 3)
        bytes.withUnsafeBufferPointer { g in
            pixels.withUnsafeMutableBufferPointer { out in
                for i in 0..<g.count { (out[3 * i], out[3 * i + 1], out[3 * i + 2]) = (g[i], g[i], g[i]) }
            }
        }
        return FrameStack(count: 1, height: height, width: width, pixels: pixels)
    }
}
