// Decoded picture → RGB24 at the wanted size, turned by the display rotation.
// swscale works in SWS_BILINEAR (deterministic: the same input always gives the same bytes on
// one machine) into an aligned scratch image; a plain loop then copies or rotates it into place.
import CFFmpeg

final class Scaler {
    private var context: OpaquePointer?
    private var scratch: UnsafeMutablePointer<UInt8>?
    private var scratchBytes = 0
    private var source: (width: Int32, height: Int32, format: Int32, range: UInt32, space: UInt32) = (0, 0, -1, 0, 0)
    static let flags = SWS_BILINEAR

    deinit {
        sws_freeContext(context)
        av_free(scratch)
    }

    /// Writes `frame` as `size.width × size.height × 3` RGB bytes to `destination`.
    /// `size` is the size after rotation; `rotation` is 0, 90, 180 or 270 degrees clockwise.
    func convert(_ frame: UnsafeMutablePointer<AVFrame>, to size: FrameSize, rotation: Int,
                 into destination: UnsafeMutablePointer<UInt8>) -> Bool {
        // Size before rotation.
        let (w, h) = rotation % 180 == 0 ? (size.width, size.height) : (size.height, size.width)
        guard prepare(for: frame.pointee, width: w, height: h) else { return false }
        let stride = (w * 3 + 63) & ~63
        var planes: (UnsafeMutablePointer<UInt8>?, UnsafeMutablePointer<UInt8>?, UnsafeMutablePointer<UInt8>?,
                     UnsafeMutablePointer<UInt8>?) = (scratch, nil, nil, nil)
        var strides: (Int32, Int32, Int32, Int32) = (Int32(stride), 0, 0, 0)
        let rows = withPlanes(of: frame) { src, srcStrides in
            withUnsafePointer(to: &planes) { dst in
                withUnsafePointer(to: &strides) { dstStrides in
                    sws_scale(context, src, srcStrides, 0, frame.pointee.height,
                              UnsafeRawPointer(dst).assumingMemoryBound(to: UnsafeMutablePointer<UInt8>?.self),
                              UnsafeRawPointer(dstStrides).assumingMemoryBound(to: Int32.self))
                }
            }
        }
        guard rows == h, let scratch else { return false }
        rotate(scratch, stride: stride, width: w, height: h, by: rotation, into: destination)
        return true
    }

    private func prepare(for frame: AVFrame, width w: Int, height h: Int) -> Bool {
        let range = frame.color_range.rawValue, space = frame.colorspace.rawValue
        let changed = source != (frame.width, frame.height, frame.format, range, space)
        context = sws_getCachedContext(context, frame.width, frame.height, AVPixelFormat(rawValue: frame.format),
                                       Int32(w), Int32(h), AV_PIX_FMT_RGB24, Scaler.flags, nil, nil, nil)
        guard context != nil else { return false }
        if changed {
            source = (frame.width, frame.height, frame.format, range, space)
            // Full-range "yuvj" formats are recognised by swscale itself; other formats say so in the frame.
            if frame.color_range == AVCOL_RANGE_JPEG || frame.colorspace == AVCOL_SPC_BT709 {
                sws_setColorspaceDetails(context, sws_getCoefficients(Int32(space)),
                                         frame.color_range == AVCOL_RANGE_JPEG ? 1 : 0,
                                         sws_getCoefficients(SWS_CS_DEFAULT), 1, 0, 1 << 16, 1 << 16)
            }
        }
        let bytes = ((w * 3 + 63) & ~63) * h + 64
        if bytes > scratchBytes {
            av_free(scratch)
            scratch = av_malloc(bytes)?.assumingMemoryBound(to: UInt8.self)
            scratchBytes = scratch == nil ? 0 : bytes
        }
        return scratch != nil
    }
}

/// Copies a w×h RGB image (rows `stride` bytes apart) into a packed buffer, turned clockwise by
/// `degrees`. Source pixel (x, y) lands at: 0 → (x, y); 90 → (h-1-y, x); 180 → (w-1-x, h-1-y);
/// 270 → (y, w-1-x).
func rotate(_ src: UnsafePointer<UInt8>, stride: Int, width w: Int, height h: Int, by degrees: Int,
            into dst: UnsafeMutablePointer<UInt8>) {
    switch degrees {
    case 90, 180, 270:
        let outWidth = degrees == 180 ? w : h
        for y in 0..<h {
            let row = src + y * stride
            for x in 0..<w {
                let (ox, oy) = degrees == 90 ? (h - 1 - y, x) : degrees == 180 ? (w - 1 - x, h - 1 - y) : (y, w - 1 - x)
                let o = dst + (oy * outWidth + ox) * 3, i = row + x * 3
                o[0] = i[0]; o[1] = i[1]; o[2] = i[2]
            }
        }
    default:
        for y in 0..<h { (dst + y * w * 3).update(from: src + y * stride, count: w * 3) }
    }
}
