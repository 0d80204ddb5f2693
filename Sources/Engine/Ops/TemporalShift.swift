/// The TSM temporal shift (Lin et al. 2019): in each clip of `segments` frames, the first
/// 1/`foldDiv` of the channels takes its values from the next frame, the second 1/`foldDiv`
/// from the previous frame, and the rest stay; frames shifted in from outside the clip are zeros.
///
/// x [N·T, C, H, W] (frames folded into the batch, as TSN/TSM backbones see them) → same shape.
/// The backward pass is the opposite shift.
///
/// With `pastOnly` (online TSM), the first 1/`foldDiv` of the channels take the previous frame's
/// values and no channel looks ahead.
public func temporalShift(_ x: Tensor, segments t: Int, foldDiv: Int = 8, pastOnly: Bool = false) -> Tensor {
    traced(.temporalShift(segments: t, foldDiv: foldDiv, pastOnly: pastOnly), [x]) {
        shiftedFrames(x, segments: t, foldDiv: foldDiv, pastOnly: pastOnly)
    }
}

private func shiftedFrames(_ x: Tensor, segments t: Int, foldDiv: Int, pastOnly: Bool) -> Tensor {
    Profiler.span(.copy) {
        ensure(x.rank >= 2 && t >= 1 && x.shape[0] % t == 0 && foldDiv >= 1,
                     "temporalShift: input \(x.shape) does not fold into clips of \(t) segments (foldDiv \(foldDiv))")
        let c = x.shape[1], plane = x.shape.dropFirst(2).reduce(1, *)
        let fold = c / foldDiv
        func shift(_ src: Tensor, backward: Bool) -> Tensor {
            let out = Tensor.empty(src.shape)
            let ps = UnsafePointer(src.data), po = out.data
            let frames = src.shape[0]
            Parallel.forRanges(frames) { range in
                for f in range {
                    let ti = f % t
                    for ch in 0..<c {
                        // Forward: channel block 0 reads frame t+1, block 1 reads frame t−1. Backward reverses.
                        var from = ti
                        if pastOnly {
                            if ch < fold { from = backward ? ti + 1 : ti - 1 }
                        } else if ch < fold { from = backward ? ti - 1 : ti + 1 } else if ch < 2 * fold { from = backward ? ti + 1 : ti - 1 }
                        let dst = po + (f * c + ch) * plane
                        if from < 0 || from >= t {
                            dst.update(repeating: 0, count: plane)
                        } else {
                            dst.update(from: ps + ((f - ti + from) * c + ch) * plane, count: plane)
                        }
                    }
                }
            }
            return out
        }
        return Tensor.result(shift(x, backward: false), op: "temporalShift", inputs: [x]) { _, g in [shift(g, backward: true)] }
    }
}
