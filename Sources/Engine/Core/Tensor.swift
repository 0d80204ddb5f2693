/// An N-dimensional Float32 array: contiguous, row-major, with a shape.
///
/// A tensor that takes part in a graph also records the op that made it (`node`), so that
/// `backward()` can send gradients to the leaves. Video activations are laid out N, C, T, H, W.
public final class Tensor: @unchecked Sendable {
    public let shape: [Int]
    public internal(set) var storage: Storage
    /// Whether gradients flow to (leaf) or through (op result) this tensor.
    public var requiresGrad: Bool
    /// The accumulated gradient of a leaf after `backward()`.
    public var grad: Tensor?
    var node: Node?
    var graphReleased = false

    public var count: Int { storage.count }
    public var rank: Int { shape.count }
    /// The first element. The pointer does not keep the tensor alive: hold the tensor in a
    /// variable for as long as the pointer is used (not `make().data[i]`).
    public var data: UnsafeMutablePointer<Float> { storage.pointer }

    /// Wraps existing storage; `shape` must account for every element.
    public init(shape: [Int], storage: Storage, requiresGrad: Bool = false) {
        ensure(shape.allSatisfy { $0 >= 0 }, "Tensor: negative dimension in shape \(shape)")
        ensure(Shape.count(shape) == storage.count,
                     "Tensor: shape \(shape) holds \(Shape.count(shape)) elements, storage has \(storage.count)")
        self.shape = shape
        self.storage = storage
        self.requiresGrad = requiresGrad
    }

    public convenience init(_ values: [Float], shape: [Int], requiresGrad: Bool = false) {
        ensure(values.count == Shape.count(shape),
                     "Tensor: \(values.count) values do not fill shape \(shape)")
        let s = Storage(uninitializedCount: values.count)
        values.withUnsafeBufferPointer { s.pointer.update(from: $0.baseAddress!, count: values.count) }
        self.init(shape: shape, storage: s, requiresGrad: requiresGrad)
    }

    /// A rank-0 tensor.
    public convenience init(scalar: Float) {
        self.init([scalar], shape: [])
    }

    public static func zeros(_ shape: [Int], requiresGrad: Bool = false) -> Tensor {
        Tensor(shape: shape, storage: Storage(repeating: 0, count: Shape.count(shape)), requiresGrad: requiresGrad)
    }

    public static func ones(_ shape: [Int], requiresGrad: Bool = false) -> Tensor {
        full(shape, 1, requiresGrad: requiresGrad)
    }

    public static func full(_ shape: [Int], _ value: Float, requiresGrad: Bool = false) -> Tensor {
        Tensor(shape: shape, storage: Storage(repeating: value, count: Shape.count(shape)), requiresGrad: requiresGrad)
    }

    /// 0, 1, …, n−1.
    public static func arange(_ n: Int) -> Tensor {
        let t = Tensor(shape: [n], storage: Storage(uninitializedCount: n))
        for i in 0..<n { t.data[i] = Float(i) }
        return t
    }

    /// An uninitialised tensor for kernels that write every element.
    static func empty(_ shape: [Int]) -> Tensor {
        Tensor(shape: shape, storage: Storage(uninitializedCount: Shape.count(shape)))
    }

    /// The elements in row-major order.
    public var scalars: [Float] { Array(UnsafeBufferPointer(start: data, count: count)) }

    /// The single value of a one-element tensor.
    public var item: Float {
        ensure(count == 1, "item: tensor of shape \(shape) has \(count) elements, not 1")
        return data[0]
    }

    public func size(_ axis: Int) -> Int { shape[Shape.axis(axis, rank: rank, op: "size")] }

    /// A copy with its own storage and no graph.
    public func copy() -> Tensor {
        Profiler.span(.copy) {
            let t = Tensor.empty(shape)
            t.data.update(from: data, count: count)
            return t
        }
    }

    /// The same values, cut from the graph.
    public func detached() -> Tensor { Tensor(shape: shape, storage: storage) }

    /// Copies `other`'s values into this tensor's storage (shapes must match); no graph is recorded.
    public func assign(_ other: Tensor) {
        ensure(other.shape == shape, "assign: shape \(other.shape) into \(shape)")
        data.update(from: other.data, count: count)
    }

    public func fill(_ value: Float) { data.update(repeating: value, count: count) }

    public func zeroGrad() { grad = nil }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let shown = scalars.prefix(8).map { String($0) }.joined(separator: ", ")
        return "Tensor(shape: \(shape), [\(shown)\(count > 8 ? ", …" : "")])"
    }
}

/// Shape arithmetic shared by the ops.
public enum Shape {
    public static func count(_ shape: [Int]) -> Int { shape.reduce(1, *) }

    /// Row-major strides.
    public static func strides(_ shape: [Int]) -> [Int] {
        var s = [Int](repeating: 1, count: shape.count)
        var acc = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) {
            s[i] = acc
            acc *= shape[i]
        }
        return s
    }

    /// Resolves a possibly negative axis, naming the op on failure.
    public static func axis(_ axis: Int, rank: Int, op: String) -> Int {
        let a = axis < 0 ? axis + rank : axis
        ensure(a >= 0 && a < max(rank, 1), "\(op): axis \(axis) out of range for rank \(rank)")
        return a
    }

    public static func axes(_ axes: [Int], rank: Int, op: String) -> [Int] {
        let resolved = axes.map { axis($0, rank: rank, op: op) }
        ensure(Set(resolved).count == resolved.count, "\(op): repeated axis in \(axes)")
        return resolved.sorted()
    }

    /// NumPy broadcasting of two shapes.
    public static func broadcast(_ a: [Int], _ b: [Int], op: String) -> [Int] {
        let r = max(a.count, b.count)
        var out = [Int](repeating: 1, count: r)
        for i in 0..<r {
            let da = i < r - a.count ? 1 : a[i - (r - a.count)]
            let db = i < r - b.count ? 1 : b[i - (r - b.count)]
            ensure(da == db || da == 1 || db == 1,
                         "\(op): shapes \(a) and \(b) do not broadcast")
            out[i] = da == 1 ? db : da
        }
        return out
    }
}

/// Stops the program with `message` when `condition` is false. Unlike `precondition`, the message
/// survives optimised builds, so a bad shape always names the op and the shapes.
@inline(__always)
public func ensure(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
                   file: StaticString = #fileID, line: UInt = #line) {
    if !condition() { fatalError(message(), file: file, line: line) }
}
