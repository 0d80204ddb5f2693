/// Width and height of an image, a flow or a pyramid level.
struct Size: Hashable, Sendable, CustomStringConvertible {
    let width: Int
    let height: Int
    var area: Int { width * height }
    var description: String { "\(width)×\(height)" }
}

/// A zero-filled float buffer with a stable address, owned by a workspace and reused across calls.
/// Kernels get its base pointer; a level smaller than the buffer uses the first W·H floats.
final class Plane {
    let base: UnsafeMutablePointer<Float>
    let capacity: Int

    init(_ capacity: Int) {
        self.capacity = capacity
        // 64-byte alignment keeps vector rows from straddling cache lines more than they must.
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(capacity, 1) * 4, alignment: 64)
        base = raw.initializeMemory(as: Float.self, repeating: 0, count: max(capacity, 1))
    }

    deinit { base.deallocate() }

    func fill(_ value: Float, count: Int) { base.update(repeating: value, count: count) }
}
