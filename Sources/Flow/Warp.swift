/// The data term's linearisation around the current flow u₀, one pass per warp:
/// I1 and its gradient are sampled at x + u₀ by bicubic interpolation, then
///   I1wx, I1wy = ∇I1(x + u₀)                      [H, W] each
///   grad       = |∇I1(x + u₀)|²                   [H, W]
///   rhoC       = I1(x + u₀) − ∇I1(x + u₀)·u₀ − I0  [H, W]
/// so that ρ(u) = rhoC + ∇I1(x + u₀)·u is the brightness residual (OpenCV's tvl1 `remap` with
/// INTER_CUBIC and its default constant border of 0, then `calcGradRho`).
struct WarpInputs {
    let i0: UnsafeMutablePointer<Float>
    let i1: UnsafeMutablePointer<Float>
    let i1x: UnsafeMutablePointer<Float>
    let i1y: UnsafeMutablePointer<Float>
    let u1: UnsafeMutablePointer<Float>
    let u2: UnsafeMutablePointer<Float>
}

struct WarpOutputs {
    let i1wx: UnsafeMutablePointer<Float>
    let i1wy: UnsafeMutablePointer<Float>
    let grad: UnsafeMutablePointer<Float>
    let rhoC: UnsafeMutablePointer<Float>
}

func warpAndLinearise(_ input: WarpInputs, _ output: WarpOutputs, _ size: Size, threads: Int) {
    let w = size.width, h = size.height
    RowSplit(rows: h, width: w, threads: threads).run { _, rows in
        for y in rows {
            let o = y * w
            for x in 0..<w {
                let u1 = input.u1[o + x], u2 = input.u2[o + x]
                let (v, vx, vy) = sampleBicubic(input, at: Float(x) + u1, Float(y) + u2, size)
                output.i1wx[o + x] = vx
                output.i1wy[o + x] = vy
                output.grad[o + x] = vx * vx + vy * vy
                output.rhoC[o + x] = v - vx * u1 - vy * u2 - input.i0[o + x]
            }
        }
    }
}

/// Keys' cubic convolution weights (a = −0.75, OpenCV's INTER_CUBIC) for the taps at
/// offsets −1, 0, 1, 2 from floor(position), given the fractional part t.
@inline(__always) func cubicWeights(_ t: Float) -> SIMD4<Float> {
    let a: Float = -0.75
    let w0 = ((a * (t + 1) - 5 * a) * (t + 1) + 8 * a) * (t + 1) - 4 * a
    let w1 = ((a + 2) * t - (a + 3)) * t * t + 1
    let s = 1 - t
    let w2 = ((a + 2) * s - (a + 3)) * s * s + 1
    return SIMD4(w0, w1, w2, 1 - w0 - w1 - w2)
}

/// I1, ∂x I1 and ∂y I1 at (X, Y), with everything outside the image taken as 0. Positions are
/// not rounded to a sub-pixel grid: OpenCV 5's remap interpolates at the exact coordinate.
@inline(__always) func sampleBicubic(_ input: WarpInputs, at X: Float, _ Y: Float, _ size: Size)
    -> (Float, Float, Float) {
    let w = size.width, h = size.height
    // NaN, or so far out that the 4×4 window misses the image: all taps are border zeros.
    guard X > -3, Y > -3, X < Float(w + 2), Y < Float(h + 2) else { return (0, 0, 0) }
    let fx = X.rounded(.down), fy = Y.rounded(.down)
    let sx = Int(fx) - 1, sy = Int(fy) - 1
    let wx = cubicWeights(X - fx), wy = cubicWeights(Y - fy)
    var v: Float = 0, vx: Float = 0, vy: Float = 0
    if sx >= 0, sy >= 0, sx + 3 < w, sy + 3 < h {
        for j in 0..<4 {
            let o = (sy + j) * w + sx
            let a = UnsafeRawPointer(input.i1 + o).loadUnaligned(as: SIMD4<Float>.self)
            let b = UnsafeRawPointer(input.i1x + o).loadUnaligned(as: SIMD4<Float>.self)
            let c = UnsafeRawPointer(input.i1y + o).loadUnaligned(as: SIMD4<Float>.self)
            v += wy[j] * (a * wx).sum()
            vx += wy[j] * (b * wx).sum()
            vy += wy[j] * (c * wx).sum()
        }
    } else {
        for j in 0..<4 where sy + j >= 0 && sy + j < h {
            var a: Float = 0, b: Float = 0, c: Float = 0
            for i in 0..<4 where sx + i >= 0 && sx + i < w {
                let o = (sy + j) * w + sx + i
                a += wx[i] * input.i1[o]
                b += wx[i] * input.i1x[o]
                c += wx[i] * input.i1y[o]
            }
            v += wy[j] * a
            vx += wy[j] * b
            vy += wy[j] * c
        }
    }
    return (v, vx, vy)
}
