/// Decoded frames: T frames of H×W RGB24 pixels, stored T, H, W, C (C = 3) as bytes.
/// This is what decoders produce and transforms consume; `Clips` turns it into a float C×T×H×W tensor.
public struct FrameStack: Sendable, Equatable {
    public let count: Int
    public let height: Int
    public let width: Int
    /// count · height · width · 3 bytes, frame after frame, row after row, R G B.
    public var pixels: [UInt8]

    public init(count: Int, height: Int, width: Int, pixels: [UInt8]) {
        precondition(count >= 0 && height >= 0 && width >= 0 && pixels.count == count * height * width * 3,
                     "FrameStack: \(pixels.count) bytes do not hold \(count) frames of \(width)×\(height) RGB")
        self.count = count
        self.height = height
        self.width = width
        self.pixels = pixels
    }

    /// Bytes in one frame.
    public var frameBytes: Int { height * width * 3 }

    /// Frame `i` alone.
    public func frame(_ i: Int) -> FrameStack {
        precondition(i >= 0 && i < count, "FrameStack: frame \(i) outside 0..<\(count)")
        return FrameStack(count: 1, height: height, width: width,
                          pixels: Array(pixels[(i * frameBytes)..<((i + 1) * frameBytes)]))
    }

    /// Frames picked by index (repeats allowed), in the order given.
    public func frames(_ indices: [Int]) -> FrameStack {
        var out: [UInt8] = []
        out.reserveCapacity(indices.count * frameBytes)
        for i in indices {
            precondition(i >= 0 && i < count, "FrameStack: frame \(i) outside 0..<\(count)")
            out.append(contentsOf: pixels[(i * frameBytes)..<((i + 1) * frameBytes)])
        }
        return FrameStack(count: indices.count, height: height, width: width, pixels: out)
    }

    /// Joins stacks of the same frame size.
    public static func concat(_ stacks: [FrameStack]) -> FrameStack {
        guard let first = stacks.first else { return FrameStack(count: 0, height: 0, width: 0, pixels: []) }
        precondition(stacks.allSatisfy { $0.height == first.height && $0.width == first.width },
                     "FrameStack.concat: frame sizes differ: \(stacks.map { "\($0.width)×\($0.height)" })")
        return FrameStack(count: stacks.reduce(0) { $0 + $1.count }, height: first.height, width: first.width,
                          pixels: stacks.flatMap(\.pixels))
    }
}
