/// The geometry of a sliding window over 1–3 spatial dims, shared by convolution and pooling.
/// Fewer than three dims are padded at the front with size-1 dims (kernel 1, stride 1), so every
/// kernel is written once, for T×H×W.
struct Window {
    var input: [Int]      // T, H, W
    var kernel: [Int]
    var stride: [Int]
    var padding: [Int]
    var dilation: [Int]
    var output: [Int]

    /// A setting given once for every dim (`[2]`) spread over `dims` dims; one per dim is kept.
    static func perDim(_ v: [Int], _ dims: Int) -> [Int] { v.count == 1 ? Array(repeating: v[0], count: dims) : v }

    /// - Parameters: per-dim settings of length `dims` (or 1, applied to every dim).
    init(op: String, spatial: [Int], kernel k: [Int], stride s: [Int], padding p: [Int], dilation d: [Int], ceilMode: Bool = false) {
        let dims = spatial.count
        ensure((1...3).contains(dims), "\(op): need 1–3 spatial dims, got input spatial shape \(spatial)")
        func expand(_ v: [Int], _ name: String) -> [Int] {
            ensure(v.count == dims || v.count == 1, "\(op): \(name) \(v) does not match \(dims) spatial dims")
            return Window.perDim(v, dims)
        }
        let kk = expand(k, "kernel"), ss = expand(s, "stride"), pp = expand(p, "padding"), dd = expand(d, "dilation")
        ensure(kk.allSatisfy { $0 >= 1 } && ss.allSatisfy { $0 >= 1 } && dd.allSatisfy { $0 >= 1 } && pp.allSatisfy { $0 >= 0 },
                     "\(op): kernel \(kk), stride \(ss), dilation \(dd) must be ≥ 1 and padding \(pp) ≥ 0")
        var out: [Int] = []
        for i in 0..<dims {
            let span = dd[i] * (kk[i] - 1) + 1
            let room = spatial[i] + 2 * pp[i] - span
            ensure(room >= 0, "\(op): kernel \(kk) (dilation \(dd)) larger than padded input \(spatial) with padding \(pp)")
            var o = (ceilMode ? (room + ss[i] - 1) / ss[i] : room / ss[i]) + 1
            // A window may not start in the right padding (PyTorch's ceil-mode rule).
            if ceilMode && (o - 1) * ss[i] >= spatial[i] + pp[i] { o -= 1 }
            out.append(o)
        }
        let pad = 3 - dims
        input = Array(repeating: 1, count: pad) + spatial
        kernel = Array(repeating: 1, count: pad) + kk
        stride = Array(repeating: 1, count: pad) + ss
        padding = Array(repeating: 0, count: pad) + pp
        dilation = Array(repeating: 1, count: pad) + dd
        output = Array(repeating: 1, count: pad) + out
        spatialOutput = out
    }

    /// The output spatial shape, with the original number of dims.
    var spatialOutput: [Int]
    var inputPlane: Int { input[0] * input[1] * input[2] }
    var outputPlane: Int { output[0] * output[1] * output[2] }
    var kernelVolume: Int { kernel[0] * kernel[1] * kernel[2] }
}
