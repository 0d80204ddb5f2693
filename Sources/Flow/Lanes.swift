/// Eight neighbouring pixels of one row, the unit the hot loops work in. Loads and stores are
/// unaligned; the `count:` forms handle a row's last few pixels.
typealias Lanes = SIMD8<Float>

/// How a kernel reads and writes its block of pixels x ..< x + n. Kernels are generic over it, so
/// the body of a row compiles to plain vector loads and only its last block goes lane by lane.
protocol BlockAccess {
    var n: Int { get }
    func load(_ p: UnsafeMutablePointer<Float>, _ x: Int) -> Lanes
    func store(_ v: Lanes, _ p: UnsafeMutablePointer<Float>, _ x: Int)
}

/// All eight lanes.
struct WholeBlock: BlockAccess {
    var n: Int { 8 }
    @inline(__always) func load(_ p: UnsafeMutablePointer<Float>, _ x: Int) -> Lanes { p.lanes(x) }
    @inline(__always) func store(_ v: Lanes, _ p: UnsafeMutablePointer<Float>, _ x: Int) { p.store(v, x) }
}

/// The first n lanes; the others read as 0 and are not written.
struct PartialBlock: BlockAccess {
    let n: Int
    @inline(__always) func load(_ p: UnsafeMutablePointer<Float>, _ x: Int) -> Lanes { p.lanes(x, count: n) }
    @inline(__always) func store(_ v: Lanes, _ p: UnsafeMutablePointer<Float>, _ x: Int) { p.store(v, x, count: n) }
}

extension UnsafeMutablePointer where Pointee == Float {
    @inline(__always) func lanes(_ x: Int) -> Lanes {
        UnsafeRawPointer(self + x).loadUnaligned(as: Lanes.self)
    }

    @inline(__always) func store(_ v: Lanes, _ x: Int) {
        UnsafeMutableRawPointer(self + x).storeBytes(of: v, as: Lanes.self)
    }

    /// Lanes x ..< x + n (n ≤ 8) of this row; the other lanes are 0.
    @inline(__always) func lanes(_ x: Int, count n: Int) -> Lanes {
        var v = Lanes()
        for i in 0..<n { v[i] = self[x + i] }
        return v
    }

    @inline(__always) func store(_ v: Lanes, _ x: Int, count n: Int) {
        for i in 0..<n { self[x + i] = v[i] }
    }
}

// The standard library's pointwiseMin/Max follow IEEE minNum (NaN-aware) and are not inlined;
// a compare-and-select compiles to vector min/max and returns one of its inputs exactly.
@inline(__always) func lanesMin(_ a: Lanes, _ b: Lanes) -> Lanes { a.replacing(with: b, where: b .< a) }
@inline(__always) func lanesMax(_ a: Lanes, _ b: Lanes) -> Lanes { a.replacing(with: b, where: a .< b) }
