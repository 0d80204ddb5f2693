/// k × k median filter (k = 3 or 5) of a float image with replicated borders, as OpenCV's
/// `medianBlur` on CV_32F. Eight neighbouring pixels are filtered at once: their k² window values
/// are eight-lane vectors, and a selection network of min/max pairs leaves the median in one of them.
struct MedianFilter {
    let kernel: Int
    /// Compare-exchange pairs (low register gets the min, high the max), in order.
    private let pairs: [(UInt8, UInt8)]
    /// The register holding the median once all pairs have run.
    private let output: Int

    init(kernel: Int) {
        precondition(kernel == 3 || kernel == 5, "MedianFilter: kernel \(kernel) must be 3 or 5")
        self.kernel = kernel
        (pairs, output) = Self.selectionNetwork(count: kernel * kernel)
    }

    /// Batcher's odd–even merge sort on the next power of two wires, with the extra wires fixed at
    /// +∞, pruned to the pairs the middle output depends on: a pair whose high wire is +∞ does
    /// nothing, one whose low wire is +∞ only renames, and one neither of whose outputs is needed
    /// later is dropped. For 25 values this leaves 113 of 191 pairs.
    static func selectionNetwork(count n: Int) -> (pairs: [(UInt8, UInt8)], output: Int) {
        var wires = 1
        while wires < n { wires *= 2 }
        var register = Array(0..<wires)               // wire → register holding its value
        var infinite = (0..<wires).map { $0 >= n }    // wire holds +∞
        var emitted: [(Int, Int)] = []
        var p = 1
        while p < wires {
            var k = p
            while k >= 1 {
                var j = k % p
                while j + k < wires {
                    for i in 0..<min(k, wires - j - k) where (i + j) / (2 * p) == (i + j + k) / (2 * p) {
                        let lo = i + j, hi = i + j + k
                        if infinite[hi] { continue }
                        if infinite[lo] {
                            register.swapAt(lo, hi)
                            infinite.swapAt(lo, hi)
                            continue
                        }
                        emitted.append((register[lo], register[hi]))
                    }
                    j += 2 * k
                }
                k /= 2
            }
            p *= 2
        }
        let output = register[n / 2]
        var needed = Set([output])
        var kept: [(UInt8, UInt8)] = []
        for (lo, hi) in emitted.reversed() where needed.contains(lo) || needed.contains(hi) {
            kept.append((UInt8(lo), UInt8(hi)))
            needed.formUnion([lo, hi])
        }
        return (kept.reversed(), output)
    }

    /// dst [H, W] = median filter of src [H, W]; src and dst must not overlap.
    func apply(_ src: UnsafeMutablePointer<Float>, into dst: UnsafeMutablePointer<Float>, _ size: Size,
               threads: Int) {
        let w = size.width, h = size.height, r = kernel / 2, taps = kernel * kernel, output = output
        pairs.withUnsafeBufferPointer { pairs in
            RowSplit(rows: h, width: w, threads: threads).run { _, rows in
                withUnsafeTemporaryAllocation(of: Lanes.self, capacity: taps) { reg in
                    for y in rows {
                        var x = 0
                        while x < w {
                            let n = min(8, w - x)
                            let interior = x - r >= 0 && x + 8 + r <= w
                            var t = 0
                            for dy in -r...r {
                                let row = src + min(max(y + dy, 0), h - 1) * w
                                for dx in -r...r {
                                    if interior {
                                        reg[t] = row.lanes(x + dx)
                                    } else {
                                        var v = Lanes()
                                        for i in 0..<n { v[i] = row[min(max(x + i + dx, 0), w - 1)] }
                                        reg[t] = v
                                    }
                                    t += 1
                                }
                            }
                            for (lo, hi) in pairs {
                                let a = reg[Int(lo)], b = reg[Int(hi)]
                                reg[Int(lo)] = lanesMin(a, b)
                                reg[Int(hi)] = lanesMax(a, b)
                            }
                            if n == 8 { (dst + y * w).store(reg[output], x) } else { (dst + y * w).store(reg[output], x, count: n) }
                            x += 8
                        }
                    }
                }
            }
        }
    }
}
