import Foundation

/// Middlebury `.flo` files: the Float32 magic 202021.25 ("PIEH"), Int32 width and height, then
/// H × W interleaved (u, v) Float32 pairs, all little-endian. OpenCV's `writeOpticalFlow` and most
/// flow benchmarks use this layout.
public enum FloFile {
    static let magic: Float = 202021.25
    static let headerBytes = 12
    /// Larger sides are taken as a corrupt header rather than allocated.
    public static let maxSide = 1 << 15
    public static let maxPixels = 1 << 28

    public static func read(_ url: URL) throws(FlowError) -> FlowField {
        try decode(readWhole(url), path: url.path)
    }

    /// Writes atomically: a reader sees the old file or the whole new one.
    public static func write(_ flow: FlowField, to url: URL) throws(FlowError) {
        try writeAtomically(encode(flow), to: url)
    }

    public static func decode(_ data: Data, path: String = "<memory>") throws(FlowError) -> FlowField {
        guard data.count >= headerBytes else {
            if data.count >= 4, float(data, at: 0) != magic { throw .badMagic(path: path) }
            throw .wrongLength(path: path, expected: headerBytes, found: data.count)
        }
        guard float(data, at: 0) == magic else { throw .badMagic(path: path) }
        let width = Int(int32(data, at: 4)), height = Int(int32(data, at: 8))
        guard width > 0, height > 0, width <= maxSide, height <= maxSide, width * height <= maxPixels else {
            throw .badDimensions(path: path, width: width, height: height)
        }
        let count = width * height
        let expected = headerBytes + 8 * count
        guard data.count == expected else { throw .wrongLength(path: path, expected: expected, found: data.count) }
        var u = [Float](repeating: 0, count: count), v = u
        data.withUnsafeBytes { raw in
            for i in 0..<count {
                u[i] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 12 + 8 * i, as: UInt32.self)))
                v[i] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 16 + 8 * i, as: UInt32.self)))
            }
        }
        return try FlowField(width: width, height: height, u: u, v: v)
    }

    public static func encode(_ flow: FlowField) -> Data {
        let count = flow.width * flow.height
        var words = [UInt32](repeating: 0, count: 3 + 2 * count)
        words[0] = magic.bitPattern.littleEndian
        words[1] = UInt32(truncatingIfNeeded: Int32(flow.width)).littleEndian
        words[2] = UInt32(truncatingIfNeeded: Int32(flow.height)).littleEndian
        for i in 0..<count {
            words[3 + 2 * i] = flow.u[i].bitPattern.littleEndian
            words[4 + 2 * i] = flow.v[i].bitPattern.littleEndian
        }
        return words.withUnsafeBytes { Data($0) }
    }

    private static func float(_ data: Data, at offset: Int) -> Float {
        Float(bitPattern: UInt32(littleEndian: data.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: UInt32.self) }))
    }

    private static func int32(_ data: Data, at offset: Int) -> Int32 {
        Int32(littleEndian: data.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: Int32.self) })
    }
}
