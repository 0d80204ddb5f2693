/// Centred differences of an image, I [H, W] → (∂x I, ∂y I) [H, W] each: ½ (I[x+1] − I[x−1]), with
/// the missing neighbour at an edge replaced by the pixel itself, so an edge gets ½ of the
/// one-sided difference (OpenCV's tvl1 `centeredGradient`).
func centredGradient(_ image: UnsafeMutablePointer<Float>, _ size: Size,
                     dx: UnsafeMutablePointer<Float>, dy: UnsafeMutablePointer<Float>, threads: Int) {
    let w = size.width, h = size.height
    RowSplit(rows: h, width: w, threads: threads).run { _, rows in
        for y in rows {
            let row = image + y * w
            let above = image + max(y - 1, 0) * w, below = image + min(y + 1, h - 1) * w
            let gx = dx + y * w, gy = dy + y * w
            for x in 0..<w {
                gx[x] = 0.5 * (row[min(x + 1, w - 1)] - row[max(x - 1, 0)])
                gy[x] = 0.5 * (below[x] - above[x])
            }
        }
    }
}
