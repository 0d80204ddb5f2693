import Engine
import Video

/// A crop window in pixels: left x, top y, width, height.
public struct CropBox: Codable, Sendable, Hashable {
    public var x: Int
    public var y: Int
    public var width: Int
    public var height: Int
    public init(x: Int, y: Int, width: Int, height: Int) {
        (self.x, self.y, self.width, self.height) = (x, y, width, height)
    }
}

extension FrameStack {
    /// Every frame cut to `box`, which must lie inside the frame.
    public func cropped(to box: CropBox) -> FrameStack {
        precondition(box.x >= 0 && box.y >= 0 && box.width > 0 && box.height > 0
                     && box.x + box.width <= width && box.y + box.height <= height,
                     "FrameStack.cropped: \(box) is not inside \(width)×\(height)")
        if box.width == width && box.height == height { return self }
        var out = [UInt8](repeating: 0, count: count * box.height * box.width * 3)
        let rowBytes = box.width * 3
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for t in 0..<count {
                    for y in 0..<box.height {
                        let s = src.baseAddress! + ((t * height + box.y + y) * width + box.x) * 3
                        let d = dst.baseAddress! + (t * box.height + y) * rowBytes
                        d.update(from: s, count: rowBytes)
                    }
                }
            }
        }
        return FrameStack(count: count, height: box.height, width: box.width, pixels: out)
    }
}

/// Where crops go. Offsets follow MMAction2 (`CenterCrop`, `ThreeCrop`, `TenCrop`, `MultiScaleCrop`)
/// and torchvision (`RandomResizedCrop.get_params`); `uniform` is a draw in [0, 1).
public enum CropPlacement {
    /// ((W − w) // 2, (H − h) // 2).
    public static func centre(width: Int, height: Int, crop: FrameSize) -> CropBox {
        CropBox(x: (width - crop.width) / 2, y: (height - crop.height) / 2, width: crop.width, height: crop.height)
    }

    /// Left, right, middle along the long axis; the crop must span the other axis fully.
    public static func three(width: Int, height: Int, crop: FrameSize) -> [CropBox] {
        precondition(crop.height == height || crop.width == width,
                     "ThreeCrop: a \(crop.width)×\(crop.height) crop must span \(width)×\(height) in one direction")
        let box = { (x: Int, y: Int) in CropBox(x: x, y: y, width: crop.width, height: crop.height) }
        if crop.height == height {
            let step = (width - crop.width) / 2
            return [box(0, 0), box(2 * step, 0), box(step, 0)]
        }
        let step = (height - crop.height) / 2
        return [box(0, 0), box(0, 2 * step), box(0, step)]
    }

    /// Four corners and centre on a grid of quarter steps (MMAction2 `TenCrop`, `MultiScaleCrop`);
    /// `more` adds the eight of `num_fixed_crops=13`.
    public static func fixed(width: Int, height: Int, crop: FrameSize, more: Bool = false) -> [CropBox] {
        let ws = (width - crop.width) / 4, hs = (height - crop.height) / 4
        var steps = [(0, 0), (4, 0), (0, 4), (4, 4), (2, 2)]
        if more { steps += [(0, 2), (4, 2), (2, 4), (2, 0), (1, 1), (3, 1), (1, 3), (3, 3)] }
        return steps.map { CropBox(x: $0.0 * ws, y: $0.1 * hs, width: crop.width, height: crop.height) }
    }

    /// TSN's multi-scale crop size choice: side lengths `Int(min(W, H) · s)`, width and height
    /// scale levels at most `maxGap` apart, snapped to `input` when within 3 pixels.
    public static func multiScaleSizes(width: Int, height: Int, scales: [Double], maxGap: Int, input: FrameSize) -> [FrameSize] {
        let base = min(width, height)
        let sides = scales.map { max(1, Int(Double(base) * $0)) }
        var out: [FrameSize] = []
        for (i, h) in sides.enumerated() {
            for (j, w) in sides.enumerated() where abs(i - j) <= maxGap {
                out.append(FrameSize(width: abs(w - input.width) < 3 ? input.width : w,
                                height: abs(h - input.height) < 3 ? input.height : h))
            }
        }
        return out
    }

    /// torchvision `RandomResizedCrop.get_params`: up to 10 draws of an area fraction in `scale`
    /// and a log-uniform aspect ratio in `ratio`, kept when the box fits; otherwise the whole
    /// frame, cut to the nearest allowed ratio and centred. Python's round is half-to-even.
    public static func randomResized(width: Int, height: Int, scale: ClosedRange<Double>,
                                     ratio: ClosedRange<Double>, using rng: inout Xoshiro) -> CropBox {
        let area = Double(width * height)
        let logRatio = log(ratio.lowerBound)...log(ratio.upperBound)
        for _ in 0..<10 {
            let target = area * (scale.lowerBound + (scale.upperBound - scale.lowerBound) * rng.nextUnit())
            let aspect = exp(logRatio.lowerBound + (logRatio.upperBound - logRatio.lowerBound) * rng.nextUnit())
            let w = Int((target * aspect).squareRoot().rounded(.toNearestOrEven))
            let h = Int((target / aspect).squareRoot().rounded(.toNearestOrEven))
            if w > 0 && w <= width && h > 0 && h <= height {
                let y = Int(rng.nextUnit() * Double(height - h + 1))
                let x = Int(rng.nextUnit() * Double(width - w + 1))
                return CropBox(x: x, y: y, width: w, height: h)
            }
        }
        let inRatio = Double(width) / Double(height)
        var (w, h) = (width, height)
        if inRatio < ratio.lowerBound {
            h = Int((Double(w) / ratio.lowerBound).rounded(.toNearestOrEven))
        } else if inRatio > ratio.upperBound {
            w = Int((Double(h) * ratio.upperBound).rounded(.toNearestOrEven))
        }
        return CropBox(x: (width - w) / 2, y: (height - h) / 2, width: w, height: h)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
