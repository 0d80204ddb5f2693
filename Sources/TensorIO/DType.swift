extension SafeTensors {
    /// The element types a safetensors file may hold that Motive can read. Every one is widened
    /// (or, for F64 and 64-bit integers, rounded) to Float32 on load; writing always stores F32.
    public enum DType: String, Sendable, CaseIterable {
        case f64 = "F64", f32 = "F32", f16 = "F16", bf16 = "BF16"
        case i64 = "I64", i32 = "I32", i16 = "I16", i8 = "I8", u8 = "U8"
        case bool = "BOOL"

        /// Bytes per element in the file.
        public var byteSize: Int {
            switch self {
            case .f64, .i64: 8
            case .f32, .i32: 4
            case .f16, .bf16, .i16: 2
            case .i8, .u8, .bool: 1
            }
        }

        /// Converts `count` little-endian elements at `source` (any alignment) into `destination`.
        func convert(_ source: UnsafeRawPointer, count: Int, into destination: UnsafeMutablePointer<Float>) {
            switch self {
            case .f32: UnsafeMutableRawPointer(destination).copyMemory(from: source, byteCount: count * 4)
            case .f64: widen(source, count, destination) { (b: UInt64) in Float(Double(bitPattern: b)) }
            case .f16: widen(source, count, destination, floatFromHalf)
            // bfloat16 is the top half of a float32.
            case .bf16: widen(source, count, destination) { (b: UInt16) in Float(bitPattern: UInt32(b) << 16) }
            case .i64: widen(source, count, destination) { (v: Int64) in Float(v) }
            case .i32: widen(source, count, destination) { (v: Int32) in Float(v) }
            case .i16: widen(source, count, destination) { (v: Int16) in Float(v) }
            case .i8: widen(source, count, destination) { (v: Int8) in Float(v) }
            case .u8: widen(source, count, destination) { (v: UInt8) in Float(v) }
            case .bool: widen(source, count, destination) { (v: UInt8) in v == 0 ? 0 : 1 }
            }
        }
    }
}

#if !_endian(little)
#error("TensorIO copies raw little-endian bytes and needs a little-endian host")
#endif

private func widen<T: FixedWidthInteger>(_ source: UnsafeRawPointer, _ count: Int,
                                         _ destination: UnsafeMutablePointer<Float>,
                                         _ convert: (T) -> Float) {
    let size = MemoryLayout<T>.size
    for i in 0..<count {
        destination[i] = convert(source.loadUnaligned(fromByteOffset: i * size, as: T.self))
    }
}

/// IEEE half bits to Float, by hand: Swift's `Float16` is unavailable on Intel Macs.
func floatFromHalf(_ bits: UInt16) -> Float {
    let sign = UInt32(bits & 0x8000) << 16
    let exponent = UInt32(bits >> 10) & 0x1F
    let mantissa = UInt32(bits & 0x3FF)
    switch exponent {
    case 0x1F:  // infinity or NaN, payload kept
        return Float(bitPattern: sign | 0x7F80_0000 | mantissa << 13)
    case 0:     // zero or subnormal: mantissa × 2⁻²⁴, exact in Float
        let magnitude = Float(mantissa) * 0x1p-24
        return sign == 0 ? magnitude : -magnitude
    default:    // rebias the exponent from 15 to 127
        return Float(bitPattern: sign | (exponent + 112) << 23 | mantissa << 13)
    }
}
